"""Enterprise verification (蓝V): apply, decide (approve / reject / ask for more), revoke. Every write is here.

Approval sets the denormalised ``User.is_verified_enterprise``; revoking clears it. Privileges read that flag (the
shop and its products through ``store.selectors``, the contact component, the marketing exemption of moderation and
enforcement), so they follow the state without copying it anywhere else.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from meadow.accounts.models import User
from meadow.business.models import (
    COMPANY_NAME_MAX,
    CONTACT_NAME_MAX,
    REGISTRATION_NUMBER_MAX,
    BusinessCategory,
    VerificationApplication,
)
from meadow.core.errors import Conflict, PermissionDenied, ValidationFailed
from meadow.core.images import process_image_upload
from meadow.core.text import clean_text

Status = VerificationApplication.Status
DECISIONS = ("approve", "reject", "more_info")
LICENCE_IMAGE_FIT = (2400, 2400)
# A contact or WhatsApp number (a landline is fine), blank, or 8–15 digits once written as +<country><number>:
# "+" and the digits, a local number "0…" (Malaysia's +60 replaces the 0) or the digits without "+", with spaces,
# hyphens and brackets between them and spaces around. The API's schema states this same pattern.
_SEP = r"[ ()\-]*"
BUSINESS_PHONE_PATTERN = (
    rf"^\s*(?:\+{_SEP}[0-9](?:{_SEP}[0-9]){{7,14}}|0{_SEP}[1-9](?:{_SEP}[0-9]){{5,12}}"
    rf"|[1-9](?:{_SEP}[0-9]){{7,14}})?{_SEP}\s*$"
)
BUSINESS_PHONE_MAX = 40  # characters as typed
_PHONE = re.compile(BUSINESS_PHONE_PATTERN)


@dataclass(frozen=True)
class Licence:
    content: ContentFile
    content_type: str


def _text(value: Any, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    return clean_text(
        value, field=field, label=label, max_length=max_length, required=required, single_line=True
    )


def phone_normalize(value: str, *, field: str) -> str:
    """``+60 12-345 6789`` → ``+60123456789``; blank stays blank. Malaysian local numbers (``012…``) get +60."""
    raw = value or ""
    if len(raw) > BUSINESS_PHONE_MAX or not _PHONE.match(raw):
        raise ValidationFailed(
            _("Enter a phone number such as +60 12-345 6789."), field=field, code="bad_phone"
        )
    digits = re.sub(r"[^0-9]", "", raw)
    if not digits:
        return ""
    if raw.strip().startswith("+"):
        return "+" + digits
    return "+60" + digits[1:] if digits.startswith("0") else "+" + digits


def licence_validate(upload: Any, *, field: str = "licence") -> Licence:
    """A business licence: a PDF (checked by its content, not its name) or an image (re-encoded, metadata
    stripped). Refuses anything else and anything over ``MEADOW_LICENCE_MAX_BYTES``."""
    if upload is None or getattr(upload, "size", None) is None:
        raise ValidationFailed(_("Upload your business licence."), field=field, code="required")
    limit = settings.MEADOW_LICENCE_MAX_BYTES
    if upload.size > limit:
        raise ValidationFailed(
            _("The file is too large; the limit is %(limit)s MB.") % {"limit": round(limit / 1048576, 1)},
            field=field,
            code="file_too_large",
        )
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(0)
    if head.lstrip()[:5] == b"%PDF-":
        data = upload.read()
        if b"%%EOF" not in data[-2048:]:
            raise ValidationFailed(
                _("This PDF is incomplete or damaged. Please upload it again."), field=field, code="bad_file"
            )
        return Licence(content=ContentFile(data, name="licence.pdf"), content_type="application/pdf")
    try:
        with Image.open(io.BytesIO(head + upload.read(64 * 1024))) as probe:
            probe.format  # noqa: B018 - opening is the test; the full check is process_image_upload's
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed(
            _("Upload the licence as a PDF or an image (JPEG, PNG, WebP or HEIC)."),
            field=field,
            code="bad_file_type",
        ) from None
    upload.seek(0)
    image = process_image_upload(
        upload, field=field, max_bytes=limit, fit=LICENCE_IMAGE_FIT, crop=False, name="licence"
    )
    return Licence(content=image.content, content_type="image/webp")


def _notify(*, user: User, code: str, application: VerificationApplication, **params: str) -> None:
    """A system notice (a code of ``meadow.notifications.messages``, written in the reader's language when read)."""
    from meadow.notifications.services import notification_create

    notification_create(
        recipient=user,
        kind="system",
        code=code,
        params=params,
        data={"verification": application.pk, "status": application.status},
    )


def verification_apply(
    *,
    user: User,
    company_name: str,
    registration_number: str,
    category: str,
    contact_name: str,
    licence: Any,
    contact_phone: str = "",
    whatsapp: str = "",
) -> VerificationApplication:
    """Turn ``user`` into an enterprise applicant. A second application while one is pending is refused; when
    the moderator asked for more information, applying again updates that application and puts it back in the
    queue. Validates every field and the file before writing anything."""
    if not user.is_active:
        raise PermissionDenied(_("This account cannot apply."), code="inactive")
    if user.is_verified_enterprise:
        raise Conflict(_("This account is already a verified business."), code="already_verified")
    fields = {
        "company_name": _text(
            company_name, field="company_name", label=_("Company name"), max_length=COMPANY_NAME_MAX
        ),
        "registration_number": _text(
            registration_number,
            field="registration_number",
            label=_("Registration number"),
            max_length=REGISTRATION_NUMBER_MAX,
        ),
        "contact_name": _text(
            contact_name,
            field="contact_name",
            label=_("Contact person"),
            max_length=CONTACT_NAME_MAX,
        ),
        "contact_phone": phone_normalize(contact_phone, field="contact_phone"),
        "whatsapp": phone_normalize(whatsapp, field="whatsapp"),
    }
    if category not in BusinessCategory.values:
        raise ValidationFailed(_("Choose a category."), field="category", code="invalid_choice")
    fields["category"] = category
    checked = licence_validate(licence)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one application at a time per account
        open_app = (
            VerificationApplication.objects.select_for_update()
            .filter(user=user, status__in=[Status.PENDING, Status.MORE_INFO])
            .first()
        )
        if open_app is not None and open_app.status == Status.PENDING:
            raise Conflict(_("Your application is already waiting for review."), code="already_pending")
        application = open_app or VerificationApplication(user=user, created_at=now)
        old_file = application.licence.name if open_app is not None else ""
        for key, value in fields.items():
            setattr(application, key, value)
        application.licence.save(checked.content.name, checked.content, save=False)
        application.licence_content_type = checked.content_type
        application.status = Status.PENDING
        application.updated_at = now
        application.save()
        if old_file:
            storage = application.licence.storage
            transaction.on_commit(lambda: storage.delete(old_file))
    return application


def verification_decide(
    *, application: VerificationApplication, moderator: User, decision: str, reason: str = ""
) -> VerificationApplication:
    """A moderator's decision on an open application: ``approve`` (the blue tick and its privileges),
    ``reject`` (reason required) or ``more_info`` (what is missing; the applicant applies again)."""
    from meadow.enforcement.services import is_moderator

    if not is_moderator(moderator):
        raise PermissionDenied(_("Only moderators decide verification."), code="not_moderator")
    if decision not in DECISIONS:
        raise ValidationFailed(
            _("Choose approve, reject or more_info."), field="decision", code="invalid_choice"
        )
    reason = " ".join((reason or "").split())[:1000]
    if decision != "approve" and not reason:
        raise ValidationFailed(
            _("Tell the applicant why (the reason is shown to them)."), field="reason", code="required"
        )
    now = timezone.now()
    with transaction.atomic():
        locked = VerificationApplication.objects.select_for_update().get(pk=application.pk)
        allowed = {Status.PENDING} if decision == "more_info" else {Status.PENDING, Status.MORE_INFO}
        if locked.status not in allowed:
            raise Conflict(_("This application was already decided."), code="already_decided")
        locked.status = {
            "approve": Status.APPROVED,
            "reject": Status.REJECTED,
            "more_info": Status.MORE_INFO,
        }[decision]
        locked.reason = reason
        locked.reviewed_by = moderator
        locked.reviewed_at = now
        locked.updated_at = now
        locked.save()
        if decision == "approve":
            User.objects.filter(pk=locked.user_id).update(is_verified_enterprise=True)
            notice = {"code": "business.verified", "company": locked.company_name}
        elif decision == "reject":
            notice = {"code": "business.rejected", "reason": reason}
        else:
            notice = {"code": "business.more_info", "reason": reason}
        _notify(user=locked.user, application=locked, **notice)
    return locked


def verification_revoke(*, user: User, moderator: User, reason: str) -> VerificationApplication | None:
    """Take the blue tick away (privileges follow: the shop stops selling, the contact button and the marketing
    exemption go). Returns the revoked application, ``None`` if the account was not verified."""
    from meadow.enforcement.services import is_moderator

    if not is_moderator(moderator):
        raise PermissionDenied(_("Only moderators revoke verification."), code="not_moderator")
    reason = " ".join((reason or "").split())[:1000]
    if not reason:
        raise ValidationFailed(
            _("Give a reason (it is shown to the account)."), field="reason", code="required"
        )
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        approved = (
            VerificationApplication.objects.select_for_update()
            .filter(user=user, status=Status.APPROVED)
            .order_by("-id")
            .first()
        )
        changed = User.objects.filter(pk=user.pk, is_verified_enterprise=True).update(
            is_verified_enterprise=False
        )
        if approved is None and not changed:
            return None
        if approved is not None:
            VerificationApplication.objects.filter(user=user, status=Status.APPROVED).update(
                status=Status.REVOKED, reason=reason, reviewed_by=moderator, reviewed_at=now, updated_at=now
            )
            approved.refresh_from_db()
            _notify(
                user=user,
                code="business.revoked",
                reason=reason,
                application=approved,
            )
    user.is_verified_enterprise = False
    return approved

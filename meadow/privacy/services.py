"""Privacy rights (PDPA / GDPR-style): "Download my data" and "Delete my account".

- ``data_export_request`` queues ``data_export_build`` (one export being prepared per account, at most
  ``EXPORTS_PER_DAY`` a day); the job packs every registered section (``meadow.core.privacy``) into a ZIP with a
  ``manifest.json`` (format version, export time, sections and counts, every file with its size and SHA-256),
  stores it in private storage and tells the owner. ``data_exports_purge`` deletes expired archives.
- ``account_deletion_request`` (re-confirmed with the password, or an SMS code for a phone-only account)
  schedules the erasure after the grace period; logging in or ``account_deletion_cancel`` cancels it;
  ``account_deletions_run_due`` erases the due accounts with every registered erasure step.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import Conflict, DomainError, ValidationFailed
from meadow.core.ratelimit import rate_limit_hit, rate_limit_refund
from meadow.core.tasks import enqueue
from meadow.privacy import jobs
from meadow.privacy.jobs import _notify
from meadow.privacy.models import AccountDeletion, DataExport
from meadow.privacy.tasks import data_export_build as data_export_build_task

logger = logging.getLogger(__name__)

# The background jobs' work lives below the tasks that run it (meadow.privacy.jobs), so that this module may
# queue them without the two importing each other; callers keep finding it here.
FORMAT_VERSION = jobs.FORMAT_VERSION
data_export_build = jobs.data_export_build
data_export_fail = jobs.data_export_fail
data_exports_purge = jobs.data_exports_purge
account_erase = jobs.account_erase
account_deletions_run_due = jobs.account_deletions_run_due
erase_exports = jobs.erase_exports

EXPORTS_PER_DAY = 3


class ExportLimit(DomainError):
    status = 429
    code = "rate_limited"


class ExportExpired(DomainError):
    status = 410
    code = "export_expired"


# --- "Download my data" ------------------------------------------------------------------------------------
def data_export_request(*, user: User) -> DataExport:
    """Queue a new export of ``user``'s data. 409 ``export_in_progress`` while one is being prepared; 429
    after ``EXPORTS_PER_DAY`` in a day."""
    since = timezone.now() - timedelta(days=1)
    if DataExport.objects.filter(user=user, status=DataExport.Status.PENDING).exists():
        raise Conflict(
            _("Your data is already being prepared. We will tell you when it is ready."),
            code="export_in_progress",
        )
    if DataExport.objects.filter(user=user, created_at__gte=since).count() >= EXPORTS_PER_DAY:
        raise ExportLimit(
            _("You can download your data %(count)d times a day. Please try again tomorrow.")
            % {"count": EXPORTS_PER_DAY}
        )
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user=user)
            enqueue(data_export_build_task, export_id=export.pk)
    except IntegrityError:  # a concurrent request won the partial unique constraint
        raise Conflict(
            _("Your data is already being prepared. We will tell you when it is ready."),
            code="export_in_progress",
        ) from None
    return export


# --- "Delete my account" -------------------------------------------------------------------------------------
def _reconfirm(*, user: User, password: str | None, code: str | None) -> None:
    from meadow.accounts.services import phone_code_consume

    if user.has_usable_password():
        if not password:  # nothing was guessed: not counted
            raise ValidationFailed(_("Enter your password to confirm."), field="password", code="required")
        key = f"user:{user.pk}"
        rate_limit_hit(scope="reconfirm:account", key=key)  # only wrong passwords count, as at sign-in
        if not user.check_password(password):
            raise ValidationFailed(_("This password is not right."), field="password", code="wrong_password")
        rate_limit_refund(scope="reconfirm:account", key=key)
        return
    if not user.phone:
        raise ValidationFailed(
            _("Set a password first, then ask again."), field="password", code="no_credentials"
        )
    if not code:
        raise ValidationFailed(_("Enter the code we sent by SMS to confirm."), field="code", code="required")
    phone_code_consume(phone=user.phone, code=code)


def account_deletion_request(
    *, user: User, password: str | None = None, code: str | None = None
) -> AccountDeletion:
    """Schedule the erasure of ``user``'s account after the grace period. Re-confirmed with the password (or an
    SMS code for an account without one). Idempotent: asking again returns the scheduled request."""
    _reconfirm(user=user, password=password, code=code)
    existing = AccountDeletion.objects.filter(user=user, status=AccountDeletion.Status.SCHEDULED).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            deletion = AccountDeletion.objects.create(
                user=user,
                requested_at=now,
                scheduled_for=now + timedelta(days=settings.MEADOW_DELETION_GRACE_DAYS),
            )
            _notify(
                user=user,
                code="privacy.deletion_scheduled",
                params={"date": deletion.scheduled_for.strftime("%Y-%m-%d")},
                data={"deletion": deletion.pk, "url": reverse("web:privacy_data")},
            )
    except IntegrityError:
        return AccountDeletion.objects.get(user=user, status=AccountDeletion.Status.SCHEDULED)
    return deletion


def account_deletion_cancel(*, user: User, reason: str = "request") -> bool:
    """Cancel the scheduled deletion (``reason``: ``request`` or ``login``). Returns True if one was cancelled;
    idempotent."""
    with transaction.atomic():
        cancelled = AccountDeletion.objects.filter(user=user, status=AccountDeletion.Status.SCHEDULED).update(
            status=AccountDeletion.Status.CANCELLED, cancelled_at=timezone.now()
        )
        if cancelled:
            code = "privacy.deletion_cancelled_login" if reason == "login" else "privacy.deletion_cancelled"
            _notify(user=user, code=code, params={}, data={"deletion": "cancelled"})
    return bool(cancelled)


def account_deletion_cancel_on_login(*, user: User) -> bool:
    """Every sign-in door calls this: logging in during the grace period cancels the deletion."""
    return account_deletion_cancel(user=user, reason="login")

"""Reads about enterprise verification: an account's latest application, the one access function for an
application (its licence is private: the applicant and moderators only), and the contact component."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from meadow.accounts.models import User
from meadow.business.models import VerificationApplication


def verification_latest(*, user: User) -> VerificationApplication | None:
    return VerificationApplication.objects.filter(user=user).order_by("-id").first()


def verification_get_for_viewer(*, viewer: User | None, application_id: int) -> VerificationApplication:
    """The application if ``viewer`` is its applicant or a moderator; 404 for everyone else."""
    from meadow.enforcement.services import is_moderator

    application = VerificationApplication.objects.select_related("user").filter(pk=application_id).first()
    if application is None or viewer is None or not viewer.is_authenticated:
        raise Http404
    if application.user_id != viewer.pk and not is_moderator(viewer):
        raise Http404
    return application


def verifications_queue() -> QuerySet[VerificationApplication]:
    """Open applications, oldest first (the console's default view)."""
    return (
        VerificationApplication.objects.filter(status=VerificationApplication.Status.PENDING)
        .select_related("user")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class Contact:
    """The contact component a verified business gets on its profile and product pages (rendered by the
    platform, never text in a note)."""

    company: str
    whatsapp_url: str | None
    tel_url: str | None
    phone_display: str


def contact_for(*, user: User) -> Contact | None:
    """The verified business's contact links, ``None`` when the account is not (or no longer) verified."""
    if not getattr(user, "is_verified_enterprise", False) or not user.is_active:
        return None
    app = (
        VerificationApplication.objects.filter(user=user, status=VerificationApplication.Status.APPROVED)
        .order_by("-id")
        .only("company_name", "contact_phone", "whatsapp")
        .first()
    )
    if app is None or not (app.whatsapp or app.contact_phone):
        return None
    wa = re.sub(r"\D", "", app.whatsapp)
    tel = app.contact_phone
    return Contact(
        company=app.company_name,
        whatsapp_url=f"https://wa.me/{wa}" if wa else None,
        tel_url=f"tel:{tel}" if tel else None,
        phone_display=tel or app.whatsapp,
    )

"""Enterprise verification endpoints: apply (multipart), read one's own status, and the moderators' decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile
from pydantic import Field

from meadow.accounts.models import User
from meadow.business import selectors, services
from meadow.business.models import (
    COMPANY_NAME_MAX,
    CONTACT_NAME_MAX,
    REGISTRATION_NUMBER_MAX,
    BusinessCategory,
)
from meadow.core.errors import NotFound
from meadow.core.http import responses, token_or_session
from meadow.core.images import ACCEPTED_MEDIA_TYPES
from meadow.core.schema import Limits, NonBlankText

router = Router(tags=["business"])

CategoryIn = Literal[tuple(BusinessCategory.values)]  # type: ignore[valid-type]


class VerificationCreatedOut(Schema):
    id: int
    status: str


class VerificationOut(Schema):
    id: int
    status: str
    company_name: str
    registration_number: str
    category: str
    contact_name: str
    contact_phone: str
    whatsapp: str
    reason: str
    created_at: datetime
    reviewed_at: datetime | None
    verified: bool


BusinessPhone = Annotated[
    str, Limits(max_length=services.BUSINESS_PHONE_MAX, pattern=services.BUSINESS_PHONE_PATTERN)
]


class VerificationForm(Schema):
    company_name: Annotated[NonBlankText, Limits(max_length=COMPANY_NAME_MAX)]
    registration_number: Annotated[NonBlankText, Limits(max_length=REGISTRATION_NUMBER_MAX)]
    category: CategoryIn
    contact_name: Annotated[NonBlankText, Limits(max_length=CONTACT_NAME_MAX)]
    contact_phone: BusinessPhone = ""
    whatsapp: BusinessPhone = ""


# The licence: a PDF or an image, read from its content (400 ``bad_file_type`` for anything else), and required
# (400 ``required``; the parameter is optional in Python so that the service gives that message).
LICENCE_MEDIA_TYPES = ("application/pdf", *ACCEPTED_MEDIA_TYPES)
LICENCE_OPENAPI = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"required": ["licence"]},
                "encoding": {"licence": {"contentType": ", ".join(LICENCE_MEDIA_TYPES)}},
            }
        }
    }
}


@router.post(
    "/business/verification",
    response=responses({201: VerificationCreatedOut}),
    auth=token_or_session,
    openapi_extra=LICENCE_OPENAPI,
)
def verification_apply(
    request: HttpRequest, form: Form[VerificationForm], licence: File[UploadedFile] = None
):
    """Apply for blue-tick verification (multipart): ``company_name``, ``registration_number``, ``category``,
    ``contact_name``, optional ``contact_phone`` and ``whatsapp`` (shown as the contact button once verified),
    and the business ``licence`` (PDF or image, checked by its content; private). 409 ``already_pending`` while
    an application waits; after a moderator asked for more information, applying again updates it."""
    application = services.verification_apply(
        user=request.user,
        company_name=form.company_name,
        registration_number=form.registration_number,
        category=form.category,
        contact_name=form.contact_name,
        contact_phone=form.contact_phone,
        whatsapp=form.whatsapp,
        licence=licence,
    )
    return Status(201, {"id": application.pk, "status": application.status})


@router.get("/business/verification", response=responses({200: VerificationOut}), auth=token_or_session)
def verification_status(request: HttpRequest):
    """The caller's latest application and whether the account is verified now (404 if never applied)."""
    application = selectors.verification_latest(user=request.user)
    if application is None:
        raise NotFound(_("You have not applied for verification."))
    return _out(application, request.user)


def _out(application, user: User) -> dict:
    return {
        "id": application.pk,
        "status": application.status,
        "company_name": application.company_name,
        "registration_number": application.registration_number,
        "category": application.category,
        "contact_name": application.contact_name,
        "contact_phone": application.contact_phone,
        "whatsapp": application.whatsapp,
        "reason": application.reason,
        "created_at": application.created_at,
        "reviewed_at": application.reviewed_at,
        "verified": bool(user.is_verified_enterprise),
    }


class DecisionIn(Schema):
    decision: Literal["approve", "reject", "more_info", "revoke"]
    reason: str = Field(default="", max_length=1000)


@router.post(
    "/moderation/verifications/{application_id}/decision",
    response=responses({200: VerificationCreatedOut}),
    auth=token_or_session,
)
def verification_decision(request: HttpRequest, application_id: int, payload: DecisionIn):
    """A moderator decides an application: ``approve``, ``reject`` (reason required), ``more_info`` (what is
    missing) or ``revoke`` an approved one. 404 for accounts that are not moderators; 409 when already
    decided."""
    application = selectors.verification_get_for_viewer(viewer=request.user, application_id=application_id)
    from meadow.enforcement.services import is_moderator

    if not is_moderator(request.user):  # the applicant may see their application but not decide it
        raise NotFound(_("Not found."))
    if payload.decision == "revoke":
        services.verification_revoke(user=application.user, moderator=request.user, reason=payload.reason)
        application.refresh_from_db()
    else:
        application = services.verification_decide(
            application=application, moderator=request.user, decision=payload.decision, reason=payload.reason
        )
    return {"id": application.pk, "status": application.status}

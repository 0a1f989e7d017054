"""Privacy rights over the API: ``POST /me/export`` (202), ``GET /me/exports``, ``GET /me/exports/{id}``,
``GET /me/exports/{id}/download`` (the ZIP, owner only), ``POST /me/deletion`` (202, re-confirmed),
``GET /me/deletion`` and ``DELETE /me/deletion`` (cancel)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from meadow.core.http import ErrorOut, responses, token_or_session
from meadow.core.pagination import PageCursor, PageLimit, paginate_desc
from meadow.privacy import selectors, services
from meadow.privacy.models import AccountDeletion, DataExport
from meadow.privacy.responses import download_response

router = Router(tags=["privacy"], auth=token_or_session)


class ExportOut(Schema):
    id: int
    status: str = Field(description="pending, ready, failed or expired")
    created_at: datetime
    expires_at: datetime | None
    size: int
    sha256: str = Field(description="SHA-256 of the ZIP (empty until ready)")
    download: str | None = Field(description="the download path while the link is valid")


class ExportCreatedOut(Schema):
    id: int
    status: str


class ExportPage(Schema):
    items: list[ExportOut]
    next_cursor: str | None


class DeletionIn(Schema):
    # A re-confirmation: the password, or an SMS code (which one the account needs is its own state).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"password": {"type": "string", "minLength": 1}}, "required": ["password"]},
                {"properties": {"code": {"type": "string", "minLength": 1}}, "required": ["code"]},
            ]
        }
    )

    password: str | None = Field(default=None, max_length=256, description="the account's password")
    code: str | None = Field(
        default=None, max_length=12, description="an SMS code, for an account without one"
    )


class DeletionOut(Schema):
    status: str = Field(description="scheduled")
    scheduled_for: datetime


class DeletionStateOut(Schema):
    scheduled: bool
    scheduled_for: datetime | None


def _export_out(export: DataExport) -> dict:
    from django.urls import reverse

    valid = export.current_status == DataExport.Status.READY
    return {
        "id": export.pk,
        "status": export.current_status,
        "created_at": export.created_at,
        "expires_at": export.expires_at,
        "size": export.size,
        "sha256": export.sha256,
        "download": reverse("api:privacy_export_download", args=[export.pk]) if valid else None,
    }


@router.post("/me/export", response=responses({202: ExportCreatedOut}))
def export_request(request: HttpRequest):
    """Ask for a copy of one's data ("Download my data"): prepared in the background, announced by a system
    notice. One at a time (409 ``export_in_progress``), a few a day (429)."""
    export = services.data_export_request(user=request.user)
    export.refresh_from_db()
    return Status(202, {"id": export.pk, "status": export.status})


@router.get("/me/exports", response=responses({200: ExportPage}))
def exports_list(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    return paginate_desc(
        DataExport.objects.filter(user=request.user), cursor=cursor, limit=limit, shape=_export_out
    )


@router.get("/me/exports/{export_id}", response=responses({200: ExportOut}))
def export_get(request: HttpRequest, export_id: int):
    return _export_out(selectors.data_export_get_for_owner(user=request.user, export_id=export_id))


@router.get(
    "/me/exports/{export_id}/download",
    response={**responses({}), 410: ErrorOut},
    url_name="privacy_export_download",
    openapi_extra={
        "responses": {
            200: {
                "description": "the ZIP archive",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def export_download(request: HttpRequest, export_id: int):
    """The archive, streamed to its owner only (404 for anyone else; 410 once the link expired)."""
    export = selectors.data_export_file_for_owner(user=request.user, export_id=export_id)
    return download_response(export)


@router.post("/me/deletion", response=responses({202: DeletionOut}))
def deletion_request(request: HttpRequest, payload: DeletionIn):
    """Delete my account: re-confirm with ``password`` (or ``code``, an SMS code from ``/auth/phone/code``, for a
    phone-only account). The account is erased after the grace period; logging in cancels it."""
    deletion = services.account_deletion_request(
        user=request.user, password=payload.password, code=payload.code
    )
    return Status(202, {"status": deletion.status, "scheduled_for": deletion.scheduled_for})


@router.get("/me/deletion", response=responses({200: DeletionStateOut}))
def deletion_get(request: HttpRequest):
    deletion: AccountDeletion | None = selectors.account_deletion_scheduled(user=request.user)
    return {"scheduled": deletion is not None, "scheduled_for": deletion.scheduled_for if deletion else None}


@router.delete("/me/deletion", response=responses({204: None}))
def deletion_cancel(request: HttpRequest):
    """Cancel the scheduled deletion (idempotent: 204 whether or not one was scheduled)."""
    services.account_deletion_cancel(user=request.user)
    return Status(204, None)

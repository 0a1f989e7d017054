"""Reads for privacy rights: one's exports (owner only) and the scheduled deletion."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import Conflict, NotFound
from meadow.privacy.models import AccountDeletion, DataExport


def data_exports_for_user(*, user: User, limit: int = 20) -> QuerySet[DataExport]:
    return DataExport.objects.filter(user=user).order_by("-id")[:limit]


def data_export_get_for_owner(*, user: User, export_id: int) -> DataExport:
    """The export, for its owner only: anyone else gets 404 (its existence does not leak)."""
    export = DataExport.objects.filter(pk=export_id, user_id=user.pk).first()
    if export is None:
        raise NotFound(_("Not found."))
    return export


def data_export_file_for_owner(*, user: User, export_id: int) -> DataExport:
    """The export whose archive may be downloaded now: 409 while it is prepared, 410 once the link expired."""
    from meadow.privacy.services import ExportExpired

    export = data_export_get_for_owner(user=user, export_id=export_id)
    if export.status == DataExport.Status.PENDING:
        raise Conflict(_("Your data is still being prepared."), code="export_not_ready")
    expired = export.expires_at is not None and export.expires_at <= timezone.now()
    if export.status != DataExport.Status.READY or expired or not export.file.name:
        raise ExportExpired(_("This download link has expired. Ask for a new copy of your data."))
    return export


def account_deletion_scheduled(*, user: User) -> AccountDeletion | None:
    return AccountDeletion.objects.filter(user=user, status=AccountDeletion.Status.SCHEDULED).first()

"""Privacy rights (PDPA / GDPR-style): "Download my data" exports and "Delete my account" requests.

Data and invariants only; writes go through ``services.py``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meadow.business.models import private_storage


def upload_export(instance: DataExport, filename: str) -> str:
    return f"exports/{instance.user_id}/{uuid.uuid4().hex}.zip"


class DataExport(models.Model):
    """One "Download my data" archive: built by a background job into private storage, downloadable by its
    owner only until ``expires_at``; then the periodic purge deletes the file."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Preparing")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(storage=private_storage, upload_to=upload_export, blank=True, max_length=200)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # one export being prepared per account at a time (the rate limit, race-free)
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"), name="privacy_one_pending_export"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="privacy_export_expiry")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id} ({self.status})"

    @property
    def current_status(self) -> str:
        """The status as the owner sees it now: a ready archive past its expiry is expired at once, before the
        hourly purge has deleted it."""
        if (
            self.status == self.Status.READY
            and self.expires_at is not None
            and self.expires_at <= timezone.now()
        ):
            return self.Status.EXPIRED
        return self.status

    @property
    def current_status_label(self) -> str:
        return str(self.Status(self.current_status).label)


class AccountDeletion(models.Model):
    """A "Delete my account" request: erased at ``scheduled_for`` unless cancelled (logging in cancels it)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deletions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    requested_at = models.DateTimeField(default=timezone.now)
    scheduled_for = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="scheduled"), name="privacy_one_scheduled_deletion"
            ),
        ]
        indexes = [models.Index(fields=["status", "scheduled_for"], name="privacy_deletion_due")]

    def __str__(self) -> str:
        return f"deletion of {self.user_id} ({self.status})"

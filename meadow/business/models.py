"""Enterprise accounts and blue-tick verification (PRODUCT.md §9): data and invariants only.

An account applies with its business documents; a moderator approves, rejects (with a reason) or asks for more.
Approval sets the denormalised ``accounts.User.is_verified_enterprise``; revoking clears it. The business licence
is stored in private storage (never under MEDIA_URL) and served only to the applicant and staff.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meadow.core import storage


def private_storage() -> Storage:
    """The licences' storage: the project's private storage (``meadow.core.storage``), never MEDIA_ROOT."""
    return storage.private_storage()


def upload_licence(instance: VerificationApplication, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"licences/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.{ext}"


class BusinessCategory(models.TextChoices):
    BEAUTY = "beauty", _("Beauty and personal care")
    FASHION = "fashion", _("Fashion and accessories")
    FOOD = "food", _("Food and drink")
    HOME = "home", _("Home and living")
    ELECTRONICS = "electronics", _("Electronics")
    TRAVEL = "travel", _("Travel and hospitality")
    HEALTH = "health", _("Health and fitness")
    EDUCATION = "education", _("Education")
    SERVICES = "services", _("Local services")
    OTHER = "other", _("Other")


# Field limits (characters): the service checks them with its own message, the API's schema states them.
COMPANY_NAME_MAX = 160
REGISTRATION_NUMBER_MAX = 40
CONTACT_NAME_MAX = 80


class VerificationApplication(models.Model):
    """One application for blue-tick verification. An account has at most one open (pending / more info)
    application; its latest approved one carries the contact details the contact component shows."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        MORE_INFO = "more_info", _("More information requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        REVOKED = "revoked", _("Revoked")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_applications"
    )
    company_name = models.CharField(_("company name"), max_length=COMPANY_NAME_MAX)
    registration_number = models.CharField(_("registration number"), max_length=REGISTRATION_NUMBER_MAX)
    category = models.CharField(_("category"), max_length=16, choices=BusinessCategory.choices)
    contact_name = models.CharField(_("contact person"), max_length=CONTACT_NAME_MAX)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True, default="")
    whatsapp = models.CharField(_("WhatsApp number"), max_length=20, blank=True, default="")
    licence = models.FileField(_("business licence"), storage=private_storage, upload_to=upload_licence)
    licence_content_type = models.CharField(max_length=40, default="application/pdf")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason"), blank=True, default="")  # the moderator's note to the applicant
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("verification application")
        verbose_name_plural = _("verification applications")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"]), models.Index(fields=["user", "-id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["pending", "more_info"]),
                name="one_open_verification_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.MORE_INFO)

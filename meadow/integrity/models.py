"""Integrity: behaviour violations detected (刷量, fake engagement). A ``Case`` is one suspected account with the
evidence of each signal that fired and, when the evidence points to it, the creator who benefits; ``HeldSignal``
is one engagement event held out of counting while its account is suspected (pending review) or upheld.

Data and invariants only; every write goes through ``services.py`` (``scan``, ``case_uphold``, ``case_dismiss``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """The reason category shown to creators and accounts (never the raw detector); these are enforcement's
    behaviour categories (``enforcement.ladder.CATEGORY_TYPES``)."""

    FAKE_ACCOUNT = "fake_account", _("Suspected fake accounts")
    FAKE_ENGAGEMENT = "fake_engagement", _("Suspected fake engagement")
    FAKE_TRAFFIC = "fake_traffic", _("Suspected fake traffic")


class Case(models.Model):
    """One suspected account. ``signals`` is the evidence: ``[{"signal", "category", "weight", "evidence"}]``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        UPHELD = "upheld", _("Upheld")
        DISMISSED = "dismissed", _("Dismissed")

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.FAKE_ENGAGEMENT)
    score = models.FloatField(default=0)
    signals = models.JSONField(default=list, blank=True)
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    violation_id = models.BigIntegerField(null=True, blank=True)  # the fake account's, on uphold
    beneficiary_violation_id = models.BigIntegerField(null=True, blank=True)  # the buyer's, on uphold

    class Meta:
        verbose_name = _("integrity case")
        verbose_name_plural = _("integrity cases")
        constraints = [
            # one open case (pending or upheld) per account
            models.UniqueConstraint(
                fields=["account"], condition=~Q(status="dismissed"), name="integrity_case_open_once"
            )
        ]
        indexes = [models.Index(fields=["status", "opened_at"])]

    def __str__(self) -> str:
        return f"case {self.pk} on {self.account_id} ({self.status})"


class HeldSignal(models.Model):
    """An engagement event held out of counting (its weight, interactions and reads are out of the note's
    ``NoteStats``) because its account is suspected. Deleted (and the counts put back) when the case is
    dismissed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="held")
    event_id = models.BigIntegerField(unique=True)
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    category = models.CharField(max_length=20, choices=Category.choices)
    score = models.FloatField(default=0)
    interactions = models.IntegerField(default=0)
    reads = models.IntegerField(default=0)
    held_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("held signal")
        verbose_name_plural = _("held signals")
        indexes = [models.Index(fields=["note", "category"])]

    def __str__(self) -> str:
        return f"{self.kind} event {self.event_id} held ({self.category})"

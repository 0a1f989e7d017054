"""Spotlight ads: the prepaid balance and its ledger, top-ups, campaigns, impressions and clicks.

Money is ``Decimal`` (MYR, 2 places). The balance of an ``AdAccount`` is a running total kept by conditional atomic
UPDATEs; the ``LedgerEntry`` rows are the record it must always equal (``ads_reconcile``):
balance = top-ups − charges + refunds.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


class AdAccount(models.Model):
    """One account's prepaid ad balance (created at its first top-up or campaign)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ad_account")
    balance = models.DecimalField(_("balance"), default=ZERO, max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="MYR")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="ad_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance} {self.currency}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        CHARGE = "charge", _("Click charge")
        REFUND = "refund", _("Refund")

    account = models.ForeignKey(AdAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2
    )  # always positive; the kind says which way it goes
    reference = models.CharField(max_length=80, unique=True)  # topup:<id>, click:<impression id>, …
    campaign = models.ForeignKey(
        "Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive")]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.reference})"


class TopUp(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(AdAccount, on_delete=models.PROTECT, related_name="topups")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="MYR")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    intent_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    pay_url = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"top-up {self.pk}: {self.amount} {self.status}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        IN_REVIEW = "in_review", _("In review")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        REJECTED = "rejected", _("Rejected")
        ENDED = "ended", _("Ended")

    class Objective(models.TextChoices):
        READS = "reads", _("Reads of a note")
        SALES = "sales", _("Product sales")
        LEADS = "leads", _("Leads")

    account = models.ForeignKey(AdAccount, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(_("name"), max_length=80)
    objective = models.CharField(max_length=8, choices=Objective.choices)
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    product = models.ForeignKey(
        "store.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    bid_type = models.CharField(max_length=4, default="cpc")
    bid = models.DecimalField(max_digits=12, decimal_places=2)
    daily_budget = models.DecimalField(max_digits=12, decimal_places=2)
    total_budget = models.DecimalField(max_digits=12, decimal_places=2)
    spent = models.DecimalField(default=ZERO, max_digits=12, decimal_places=2)
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    targeting = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IN_REVIEW)
    screening = models.JSONField(default=dict, blank=True)  # the moderation engine's verdict on the creative
    review_reason = models.CharField(max_length=1000, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(spent__lte=F("total_budget")), name="campaign_within_total"),
            models.CheckConstraint(
                condition=(Q(note__isnull=False) & Q(product__isnull=True))
                | (Q(note__isnull=True) & Q(product__isnull=False)),
                name="campaign_one_creative",
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name


class CampaignDay(models.Model):
    """A campaign's spend and counts on one local day; ``budget`` is the daily budget copied in when the row is
    made, so the charge's conditional UPDATE checks one row (``spent + price <= budget``)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    spent = models.DecimalField(default=ZERO, max_digits=12, decimal_places=2)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="campaign_day_once"),
            models.CheckConstraint(condition=Q(spent__lte=F("budget")), name="campaign_day_within_budget"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} on {self.day}: {self.spent}/{self.budget}"


class Impression(models.Model):
    """One ad served to one reader in one slot at one price: the signed click token names it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="served")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    surface = models.CharField(max_length=8)  # discover | search
    slot = models.PositiveSmallIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["reader", "campaign", "created_at"])]

    def __str__(self) -> str:
        return f"impression {self.pk} of {self.campaign_id} at {self.price}"


class Click(models.Model):
    """The click of one impression: the unique row that makes a token charge once."""

    impression = models.OneToOneField(Impression, on_delete=models.CASCADE, related_name="click")
    charged = models.DecimalField(default=ZERO, max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"click on {self.impression_id}: {self.charged}"

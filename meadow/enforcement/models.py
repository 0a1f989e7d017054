"""Enforcement: what the moderation engine's findings and users' reports lead to.

* ``Violation`` — the per-account ledger (违规记录). Append-only: a correction (an appeal upheld) is a new
  record that *voids* an earlier one; nothing is edited or deleted.
* ``Sanction`` — a consequence with a start and an end: a warning, a visibility limit (限流), a posting ban
  (禁言) or a suspension (封号). Expiry is read from the dates at use; a beat task stamps ``expired_at``.
* ``ReviewItem`` — the review queue: content held by the policy and users' reports (any object, by
  content type and id, so comments and messages work when their apps land).
* ``Appeal`` — one per violation, decided by a moderator.
* ``Decision`` — the audit log of every moderator's decision (append-only).

Data and invariants only; every write goes through ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ViolationType(models.TextChoices):
    BEHAVIOUR = "behaviour", _("Behaviour")
    CONTENT = "content", _("Content")
    CHANNEL = "channel", _("Channel")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    SEVERE = "severe", _("Severe")


class Source(models.TextChoices):
    SYSTEM = "system", _("Automatic check")
    MODERATOR = "moderator", _("Moderator")
    REPORT = "report", _("User report")


class Violation(models.Model):
    """One entry of an account's ledger. A *void* entry (``voids`` set) cancels an earlier one; a violation is
    active while no void entry points at it."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="violations",
        verbose_name=_("account"),
    )
    type = models.CharField(_("type"), max_length=10, choices=ViolationType.choices)
    category = models.CharField(_("category"), max_length=40)
    rule = models.CharField(_("rule"), max_length=120)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM
    )
    evidence = models.JSONField(
        _("evidence"),
        default=dict,
        blank=True,
        help_text=_("The finding: text, field, hits with spans and suggestions, image URL, the object."),
    )
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    source = models.CharField(_("decided by"), max_length=10, choices=Source.choices, default=Source.SYSTEM)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("moderator"),
    )
    voids = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="void",
        verbose_name=_("voids"),
        help_text=_("Set on a correction: the violation this record cancels."),
    )
    reason = models.TextField(_("reason"), blank=True, default="")
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "type", "created_at"])]

    def __str__(self) -> str:
        prefix = f"void of #{self.voids_id} " if self.voids_id else ""
        return f"{prefix}{self.type}/{self.category} ({self.account_id})"

    @property
    def is_void_record(self) -> bool:
        return self.voids_id is not None


class Sanction(models.Model):
    """A consequence of a violation, from ``starts_at`` until ``ends_at`` (``None``: permanent). A warning starts
    and ends at once. ``note`` set: a visibility limit on that note only; unset: on the whole account."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        VISIBILITY_LIMIT = "visibility_limit", _("Visibility limit (限流)")
        POSTING_BAN = "posting_ban", _("Posting ban (禁言)")
        SUSPENSION = "suspension", _("Suspension")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sanctions",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    violation = models.ForeignKey(
        Violation, null=True, blank=True, on_delete=models.PROTECT, related_name="sanctions"
    )
    note = models.ForeignKey(
        "notes.Note", null=True, blank=True, on_delete=models.CASCADE, related_name="sanctions"
    )
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True, help_text=_("Empty: permanent."))
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lift_reason = models.CharField(_("why lifted"), max_length=200, blank=True, default="")
    expired_at = models.DateTimeField(_("marked expired"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sanction")
        verbose_name_plural = _("sanctions")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["kind", "lifted_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                name="sanction_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.account_id}"

    @property
    def permanent(self) -> bool:
        return self.ends_at is None

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        if self.lifted_at is not None or self.kind == self.Kind.WARNING or self.starts_at > now:
            return False
        return self.ends_at is None or self.ends_at > now


class ReviewItem(models.Model):
    """An item of the review queue: content the policy held, or a user's report."""

    class Kind(models.TextChoices):
        HELD = "held", _("Held by the checks")
        REPORT = "report", _("Report")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REMOVED = "removed", _("Removed")
        ACTIONED = "actioned", _("Violation recorded")

    class Reason(models.TextChoices):
        REDIRECT = "redirect", _("Moving people to other platforms")
        SPAM = "spam", _("Spam or advertising")
        FALSE = "false", _("False or misleading")
        ADULT = "adult", _("Sexual content")
        ABUSE = "abuse", _("Harassment or hate")
        PLAGIARISM = "plagiarism", _("Copied from someone else")
        FAKE = "fake", _("Fake account or engagement")
        OTHER = "other", _("Something else")
        POLICY = "policy", _("Held by the automatic checks")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_items",
        verbose_name=_("account concerned"),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_made",
        verbose_name=_("reporter"),
    )
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, default=Reason.POLICY)
    text = models.TextField(_("details"), blank=True, default="")
    findings = models.JSONField(_("findings"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review queue")
        ordering = ["created_at", "id"]  # oldest first
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["target_type", "target_id", "state"]),
        ]
        permissions = [("moderate", _("Can moderate: review queue, appeals and decisions"))]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_type_id}:{self.target_id} ({self.state})"


class Appeal(models.Model):
    """An account owner's appeal against one violation (once per violation)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("Upheld: violation voided")
        REJECTED = "rejected", _("Rejected: violation stands")

    violation = models.OneToOneField(Violation, on_delete=models.PROTECT, related_name="appeal")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals", verbose_name=_("account")
    )
    text = models.TextField(_("appeal"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    response = models.TextField(_("moderator's answer"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"appeal of violation {self.violation_id} ({self.state})"


class Decision(models.Model):
    """The audit log: who decided what, when, about which object. Append-only."""

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=40)
    target_type = models.ForeignKey(ContentType, null=True, on_delete=models.SET_NULL, related_name="+")
    target_id = models.PositiveBigIntegerField(null=True)
    target = GenericForeignKey("target_type", "target_id")
    reason = models.TextField(_("reason"), blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions (audit log)")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.moderator_id} at {self.created_at:%Y-%m-%d %H:%M}"


class BlockedAttempt(models.Model):
    """A text refused at save time (a ``block`` verdict): nothing was published, so it is no violation by itself
    — refusing is the rule working. Kept to spot an account forcing blocked text through: the
    ``MEADOW_BLOCKED_ATTEMPTS_LIMIT``-th attempt within ``MEADOW_BLOCKED_ATTEMPTS_WINDOW_HOURS`` records one
    violation (``violation`` names it on that attempt; counting starts again after it)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    field = models.CharField(_("field"), max_length=20)
    category = models.CharField(_("category"), max_length=40)
    digest = models.CharField(max_length=64)
    violation = models.ForeignKey(
        Violation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("violation"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked attempt")
        verbose_name_plural = _("blocked attempts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="enforcement_attempt_recent")]

    def __str__(self) -> str:
        return f"{self.category} refused for {self.account_id} at {self.created_at:%Y-%m-%d %H:%M}"

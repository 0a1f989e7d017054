"""Distribution models: reader interest profiles and traffic-pool state (one row per note in a pool, plus an
append-only history of its transitions).

Data and invariants only; every write goes through ``services.py``, every read beyond a ``get`` through
``selectors.py``. The rules themselves are plain Python in ``engine/pools.py`` and ``engine/interests.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InterestProfile(models.Model):
    """A reader's interests: learned weights over topics (category slugs, ``#hashtag`` names) as they were at
    ``updated_at`` (they decay from there, see ``engine/interests.py``) and the categories picked at sign-up."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="interest_profile"
    )
    weights = models.JSONField(default=dict, blank=True)
    picked = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    onboarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("interest profile")
        verbose_name_plural = _("interest profiles")

    def __str__(self) -> str:
        return f"interests of {self.user_id}"


class NotePool(models.Model):
    """A note's traffic pool: its level (1 = the first pool), whether it is still climbing, and the numbers it
    had when it entered the level (the evaluation looks at what it gained since)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In a pool")
        STOPPED = "stopped", _("Stopped")
        EXCLUDED = "excluded", _("Excluded")

    note = models.OneToOneField("notes.Note", on_delete=models.CASCADE, primary_key=True, related_name="pool")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    level = models.PositiveSmallIntegerField(default=1)
    holds = models.PositiveSmallIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0)  # since it entered the first pool (every source)
    due_impressions = models.PositiveIntegerField(default=0)  # evaluate as soon as impressions reach this
    base_impressions = models.PositiveIntegerField(default=0)
    base_reads = models.PositiveIntegerField(default=0)
    base_interactions = models.PositiveIntegerField(default=0)
    base_completions = models.PositiveIntegerField(default=0)
    base_score = models.FloatField(default=0)
    entered_at = models.DateTimeField(default=timezone.now)
    level_entered_at = models.DateTimeField(default=timezone.now)
    next_evaluation_at = models.DateTimeField(default=timezone.now)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("note traffic pool")
        verbose_name_plural = _("note traffic pools")
        indexes = [
            models.Index(fields=["status", "level", "next_evaluation_at"], name="pool_due"),
            models.Index(fields=["status", "next_evaluation_at"], name="pool_due_any"),
            models.Index(fields=["status", "-level", "-level_entered_at"], name="pool_top"),
        ]

    def __str__(self) -> str:
        return f"note {self.note_id} at pool {self.level} ({self.status})"


class PoolTransition(models.Model):
    """One step of a note through the pools (append-only): entered, promoted, held, stopped or excluded, with
    the numbers of the level it was evaluated on."""

    class Outcome(models.TextChoices):
        ENTER = "enter", _("Entered")
        PROMOTE = "promote", _("Promoted")
        HOLD = "hold", _("Held")
        STOP = "stop", _("Stopped")
        EXCLUDE = "exclude", _("Excluded")
        DEMOTE = "demote", _("Demoted")  # signals it was promoted on were held out (fake engagement)

    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    from_level = models.PositiveSmallIntegerField(null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=40, blank=True, default="")
    impressions = models.PositiveIntegerField(default=0)
    score_per_impression = models.FloatField(default=0)
    ctr = models.FloatField(default=0)
    interaction_rate = models.FloatField(default=0)
    completion_rate = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("pool transition")
        verbose_name_plural = _("pool transitions")
        indexes = [models.Index(fields=["note", "id"])]

    def __str__(self) -> str:
        return f"{self.outcome} {self.from_level}→{self.to_level} for {self.note_id}"


class FollowingFeed(models.Model):
    """A reader's precomputed Following feed on the embedded default (``distribution/following.py``; at scale
    it lives in Redis): when the reader last read it (readers inactive for ``MEADOW_FOLLOWING_ACTIVE_DAYS`` get
    no fan-out and their feed is rebuilt on return) and whether older notes were cut off at the cap (then a
    page past the stored ones is read from the notes themselves)."""

    reader = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    active_at = models.DateTimeField()
    truncated = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("Following feed")
        verbose_name_plural = _("Following feeds")

    def __str__(self) -> str:
        return f"following feed of {self.reader_id}"


class FollowingFeedEntry(models.Model):
    """One note in a reader's precomputed Following feed (newest first by note id). No foreign key to the
    note: an entry only proposes, every page re-checks visibility live, and a task removes what went away."""

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note_id = models.BigIntegerField()
    author_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("Following feed entry")
        verbose_name_plural = _("Following feed entries")
        constraints = [
            models.UniqueConstraint(fields=["reader", "note_id"], name="following_entry_unique"),
        ]
        indexes = [models.Index(fields=["note_id"], name="following_entry_note")]

    def __str__(self) -> str:
        return f"{self.note_id} for {self.reader_id}"

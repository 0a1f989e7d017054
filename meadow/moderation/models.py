"""The moderators' part of the lexicon. The shipped lexicon (``engine/data/*.tsv``, versioned with the code)
is the base; each ``LexiconEntry`` adds a term, replaces a shipped one with the same term and category, or
disables it (``enabled=False``). The compiled engine is rebuilt when an entry changes, without a restart."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meadow.moderation.engine.lexicon import INTERNAL_CATEGORIES, REPORTED_CATEGORIES, SEVERITIES

CATEGORY_CHOICES = [(c, c) for c in (*REPORTED_CATEGORIES, *INTERNAL_CATEGORIES)]
SEVERITY_CHOICES = [(s, s) for s in SEVERITIES]


class LexiconEntry(models.Model):
    term = models.CharField(
        _("term"),
        max_length=200,
        help_text=_(
            "A word or phrase; {a|b} alternations expand, e.g. 最{好用|好吃}. Matching folds case, width, "
            "traditional characters and noise, and derives homophones."
        ),
    )
    category = models.CharField(_("category"), max_length=40, choices=CATEGORY_CHOICES)
    severity = models.CharField(_("severity"), max_length=8, choices=SEVERITY_CHOICES, default="medium")
    suggestion = models.CharField(_("compliant rewrite"), max_length=200, blank=True, default="")
    flags = models.CharField(
        _("flags"),
        max_length=100,
        blank=True,
        default="",
        help_text=_(
            "Comma-separated engine flags: ctx (needs contact context), hp (homophones), py (pinyin)."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    note = models.CharField(_("moderator's note"), max_length=200, blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("lexicon entry")
        verbose_name_plural = _("lexicon entries")
        constraints = [models.UniqueConstraint(fields=["term", "category"], name="lexicon_term_once")]
        ordering = ["category", "term"]

    def __str__(self) -> str:
        return f"{self.term} ({self.category}{'' if self.enabled else ', disabled'})"

    def to_record(self) -> dict:
        return {
            "term": self.term,
            "category": self.category,
            "severity": self.severity,
            "suggestion": self.suggestion,
            "flags": self.flags,
            "enabled": self.enabled,
        }


class ModerationFinding(models.Model):
    """Something an automatic check found in a published note after the fact: a QR code or contact details
    in an image (导流), an explicit image, or a copy of another author's note (搬运). Written by the media
    scan task, idempotently (one row per note, image, source and category); reported to enforcement."""

    class Source(models.TextChoices):
        QR = "qr", _("QR code")
        OCR = "ocr", _("text in an image")
        NSFW = "nsfw", _("explicit-image detector")
        PHASH = "phash", _("image fingerprint")
        SIMHASH = "simhash", _("text fingerprint")

    note = models.ForeignKey(
        "notes.Note", on_delete=models.CASCADE, related_name="moderation_findings", verbose_name=_("note")
    )
    image = models.ForeignKey(
        "notes.NoteImage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="moderation_findings",
        verbose_name=_("image"),
    )
    category = models.CharField(
        _("category"), max_length=40
    )  # redirect, adult, plagiarism, or a text category
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    score = models.FloatField(_("score"), default=1.0)
    severity = models.CharField(_("severity"), max_length=8, choices=SEVERITY_CHOICES, default="medium")
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    original_note = models.ForeignKey(
        "notes.Note",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("original note"),
    )
    model_version = models.CharField(
        _("model version"),
        max_length=20,
        blank=True,
        default="",
        help_text=_(
            "The learned model's version when a learned finding carried the decision; empty otherwise."
        ),
    )
    key = models.CharField(max_length=80, editable=False)  # "<image id or 0>:<source>:<category>"
    reported_at = models.DateTimeField(_("reported to enforcement"), null=True, blank=True)
    created_at = models.DateTimeField(_("found"), default=timezone.now)

    class Meta:
        verbose_name = _("moderation finding")
        verbose_name_plural = _("moderation findings")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["note", "key"], name="moderation_finding_once")]
        indexes = [models.Index(fields=["category", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.category} ({self.source}) in note {self.note_id}"


class _Bands(models.Model):
    """A 64-bit fingerprint and its four 16-bit bands, each indexed for exact-match candidate lookups."""

    value = models.BigIntegerField()  # signed; see plagiarism.to_signed
    band0 = models.PositiveIntegerField(db_index=True)
    band1 = models.PositiveIntegerField(db_index=True)
    band2 = models.PositiveIntegerField(db_index=True)
    band3 = models.PositiveIntegerField(db_index=True)

    class Meta:
        abstract = True


class ImageFingerprint(_Bands):
    """The pHash of one note image (flat images have none)."""

    image = models.OneToOneField(
        "notes.NoteImage", on_delete=models.CASCADE, primary_key=True, related_name="fingerprint"
    )
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"pHash of image {self.image_id}"


class TextFingerprint(_Bands):
    """The SimHash of a note's title and body (short copy has none)."""

    note = models.OneToOneField(
        "notes.Note", on_delete=models.CASCADE, primary_key=True, related_name="text_fingerprint"
    )
    tokens = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"SimHash of note {self.note_id}"

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

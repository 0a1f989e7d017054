"""Search data: the segmented text of each published note (the full-text index is built over it), the log of
searches (for trending searches, 热搜, and popular suggestions) and each account's recent searches.

The full-text structures themselves are created by migration 0002 for the database in use:
- SQLite (embedded default): ``search_note_fts``, an FTS5 table with external content ``search_notedoc``
  (tokenize ``unicode61``), kept in sync by triggers on ``search_notedoc``.
- PostgreSQL (scale): a stored generated column ``search_notedoc.tsv`` (``to_tsvector('simple', …)``, title
  weighted A, tags B, body D) with a GIN index.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from meadow.notes.models import Note

QUERY_MAX = 100


class NoteSearchDoc(models.Model):
    """A published note's text as space-joined, normalised jieba tokens (see ``meadow.search.analysis``).
    Written only by ``meadow.search.services``; absent for drafts and removed notes."""

    note = models.OneToOneField(
        Note, on_delete=models.CASCADE, primary_key=True, related_name="search_doc", db_constraint=True
    )
    title = models.TextField(blank=True, default="")
    tags = models.TextField(blank=True, default="")  # hashtags and the location name
    body = models.TextField(blank=True, default="")
    published_ts = models.FloatField(default=0.0)  # seconds since the epoch (freshness without date math)
    # ln(engagement factor) + λ·published_ts (``meadow.search.backends.static_rank``): the part of the relevance
    # score that does not depend on the query, in an order that does not change with time; the btree on it lets
    # a popular query rank only its matches of the highest static rank (top-k with early termination).
    static_rank = models.FloatField(default=0.0)
    indexed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "search_notedoc"
        indexes = [models.Index(fields=["static_rank"], name="search_notedoc_static_rank")]
        verbose_name = _("note search document")
        verbose_name_plural = _("note search documents")

    def __str__(self) -> str:
        return f"search document of note {self.note_id}"


class RankRefresh(models.Model):
    """One row: the last ``engagement.EngagementEvent`` id whose note's static rank was refreshed
    (``meadow.search.services.search_rank_refresh``, a beat task)."""

    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("search rank refresh")
        verbose_name_plural = _("search rank refreshes")

    def __str__(self) -> str:
        return f"search ranks refreshed up to event {self.last_event_id}"


class SearchLog(models.Model):
    """One search as typed (normalised), by whom (an account or a hashed address): trending searches count
    distinct searchers so one person cannot push a term."""

    query = models.CharField(max_length=QUERY_MAX)
    searcher = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at", "query"])]
        verbose_name = _("search")
        verbose_name_plural = _("searches")

    def __str__(self) -> str:
        return self.query


class RecentSearch(models.Model):
    """An account's recent searches (the last 20, newest first; the account can clear them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recent_searches"
    )
    query = models.CharField(max_length=QUERY_MAX)
    searched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "query"], name="recent_search_once")]
        indexes = [models.Index(fields=["user", "-searched_at"])]
        verbose_name = _("recent search")
        verbose_name_plural = _("recent searches")

    def __str__(self) -> str:
        return self.query

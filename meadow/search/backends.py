"""The full-text backends behind one interface, chosen by the database in use (``connection.vendor``):

- ``Fts5Backend`` — SQLite FTS5 (embedded default): ``bm25()`` with column weights title 10, tags 5, body 1.
- ``PostgresBackend`` — PostgreSQL full text (scale): ``ts_rank_cd`` over the stored, weighted ``tsv`` column
  (title A, tags B, body D) with a GIN index.

Both index the same rows (``NoteSearchDoc``: segmented text written by ``meadow.search.services``) and both
answer ``search(query, filters, cursor) -> SearchPage`` with the note ids of one page.

Ranking (``sort=relevance``)::

    text       = r / (r½ + r)                r = −bm25(…) on FTS5 (r½ = 5),
                                             r = ts_rank_cd(tsv, q) on PostgreSQL (r½ = 0.5)
    engagement = ln(1 + likes + 2·saves + 3·comments)
    freshness  = 2^(−age_days / 14)          age from the note's publication, half-life two weeks
    score      = text² · (1 + 0.15 · engagement) · (1 + 0.5 · freshness)

``r½`` is the raw relevance that counts as one half, calibrated per backend so that both map a title match
to ≈ 0.7 and a single mention in the body to ≈ 0.2–0.4. Text relevance is squared so that it dominates: a note with the words in its title outranks one that mentions
them once in the body unless the latter is far more engaged (≈ 50× the interactions) or much newer. Ties break
on the note id (newest first). The other sorts (latest, likes, comments, saves) order the matching notes by
that column, then id.

Two phases: for ``sort=relevance`` the full-text index first picks the ``CANDIDATES`` (2,000) matches with the
best text relevance (one index query, what the engine does fastest); the safety filters, engagement and
freshness then rank only those. A note outside the 2,000 most text-relevant matches of a very common word is not
shown under relevance (it still is under the other sorts), and the cost of a search stops growing with the
number of matches beyond that.

Pagination: the cursor carries an offset and the moment the first page was ranked (so freshness, and with it
the order, does not move between pages), over a result set bounded at ``MAX_RESULTS`` (1,000) — relevance has
no index to seek on, so every page re-ranks the matches; a reader never pages past the thousandth result.
"""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from django.db import connection
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Ln, Power
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.core.pagination import clamp_limit
from meadow.notes.models import Note
from meadow.search.analysis import ParsedQuery

MAX_RESULTS = 1000
CANDIDATES = 2000  # relevance: the text-best matches the full score re-ranks (two-phase ranking)
ENGAGEMENT_WEIGHT = 0.15
FRESHNESS_WEIGHT = 0.5
FRESHNESS_HALF_LIFE_DAYS = 14.0
SORTS = ("relevance", "latest", "likes", "comments", "saves")
KINDS = ("all", "image", "video")
TIME_RANGES = {"all": None, "day": 1, "week": 7, "month": 30, "year": 365}
_SORT_COLUMNS = {
    "latest": "-published_at",
    "likes": "-like_count",
    "comments": "-comment_count",
    "saves": "-save_count",
}


@dataclass(frozen=True)
class SearchFilters:
    sort: str = "relevance"
    kind: str = "all"
    time_range: str = "all"
    location: str = ""


@dataclass
class SearchPage:
    ids: list[int] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True)
class Cursor:
    offset: int
    now: float  # epoch seconds the first page was ranked at


def cursor_encode(cursor: Cursor) -> str:
    raw = json.dumps({"o": cursor.offset, "t": round(cursor.now, 3)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(f"s1:{raw}".encode()).decode().rstrip("=")


def cursor_decode(value: str | None) -> Cursor | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        prefix, body = raw.split(":", 1)
        data = json.loads(body)
        if prefix != "s1" or not isinstance(data, dict):
            raise ValueError
        offset, now = data["o"], data["t"]
        if type(offset) is not int or not isinstance(now, int | float) or isinstance(now, bool):
            raise ValueError
        if not 0 < offset < MAX_RESULTS or not math.isfinite(now) or not 0 < now < 2**40:
            raise ValueError
        return Cursor(offset=offset, now=float(now))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("This cursor is not valid."), field="cursor", code="bad_cursor") from exc


class SearchBackend(Protocol):
    """What search needs from a full-text engine."""

    vendor: str

    def index(self, *, doc) -> None: ...

    def remove(self, *, note_id: int) -> None: ...

    def search(
        self,
        query: ParsedQuery,
        filters: SearchFilters,
        cursor: str | None,
        *,
        notes: QuerySet[Note],
        limit: int | None = None,
    ) -> SearchPage: ...


class _OrmBackend:
    """The shared part: documents are ``NoteSearchDoc`` rows (the database keeps its full-text structure in
    step: FTS5 triggers, or PostgreSQL's generated column), and a search is one SQL statement over the notes
    the caller allows (``notes``, already safety-filtered) that match the query."""

    vendor = ""
    relevance_half = 1.0

    def index(self, *, doc) -> None:
        from meadow.search.models import NoteSearchDoc

        NoteSearchDoc.objects.update_or_create(
            note_id=doc.note_id,
            defaults={
                "title": doc.title,
                "tags": doc.tags,
                "body": doc.body,
                "published_ts": doc.published_ts,
                "indexed_at": timezone.now(),
            },
        )

    def remove(self, *, note_id: int) -> None:
        from meadow.search.models import NoteSearchDoc

        NoteSearchDoc.objects.filter(note_id=note_id).delete()

    # backend specifics
    def _match(self, qs: QuerySet[Note], query: ParsedQuery, *, best: int | None = None) -> QuerySet[Note]:
        """``qs`` narrowed to the notes matching ``query`` (only the ``best`` by text relevance if given)."""
        raise NotImplementedError

    def _raw_relevance(self, query: ParsedQuery) -> RawSQL:
        raise NotImplementedError

    def search(
        self,
        query: ParsedQuery,
        filters: SearchFilters,
        cursor: str | None,
        *,
        notes: QuerySet[Note],
        limit: int | None = None,
    ) -> SearchPage:
        size = clamp_limit(limit)
        position = cursor_decode(cursor) or Cursor(offset=0, now=time.time())
        if query.empty:
            return SearchPage()
        best = CANDIDATES if filters.sort == "relevance" else None
        qs = self._match(notes.filter(search_doc__isnull=False), query, best=best)
        qs = _apply_filters(qs, filters, now=position.now)
        if filters.sort == "relevance":
            r = self._raw_relevance(query)
            text = r / (Value(self.relevance_half) + r)
            engagement = Ln(
                Value(1.0)
                + Cast(F("like_count"), FloatField())
                + Value(2.0) * F("save_count")
                + Value(3.0) * F("comment_count")
            )
            age_days = (Value(position.now) - F("search_doc__published_ts")) / Value(86400.0)
            freshness = Power(Value(0.5), age_days / Value(FRESHNESS_HALF_LIFE_DAYS))
            score = (
                text
                * text
                * (Value(1.0) + Value(ENGAGEMENT_WEIGHT) * engagement)
                * (Value(1.0) + Value(FRESHNESS_WEIGHT) * freshness)
            )
            qs = qs.annotate(search_score=score).order_by("-search_score", "-id")
        else:
            qs = qs.order_by(_SORT_COLUMNS[filters.sort], "-id")
        end = min(position.offset + size, MAX_RESULTS)
        ids = list(qs.values_list("id", flat=True)[position.offset : end + 1])
        more = len(ids) > end - position.offset and end < MAX_RESULTS
        ids = ids[: end - position.offset]
        next_cursor = cursor_encode(Cursor(offset=end, now=position.now)) if more and ids else None
        return SearchPage(ids=ids, next_cursor=next_cursor)


def _apply_filters(qs: QuerySet[Note], filters: SearchFilters, *, now: float) -> QuerySet[Note]:
    if filters.kind in ("image", "video"):
        qs = qs.filter(kind=filters.kind)
    days = TIME_RANGES.get(filters.time_range)
    if days:
        since = datetime.fromtimestamp(now, tz=timezone.get_current_timezone()) - timedelta(days=days)
        qs = qs.filter(search_doc__published_ts__gte=since.timestamp())
    if filters.location:
        qs = qs.filter(location_name__icontains=filters.location)
    return qs


class Fts5Backend(_OrmBackend):
    """SQLite FTS5 over ``search_note_fts`` (external content ``search_notedoc``, tokenize ``unicode61``)."""

    vendor = "sqlite"
    relevance_half = 5.0

    def _match(self, qs: QuerySet[Note], query: ParsedQuery, *, best: int | None = None) -> QuerySet[Note]:
        sql = "SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH %s"
        if best:
            sql += f" ORDER BY bm25(search_note_fts, 10.0, 5.0, 1.0) LIMIT {int(best)}"
        matching = RawSQL(sql, [query.to_fts5()])
        return qs.filter(id__in=matching)

    def _raw_relevance(self, query: ParsedQuery) -> RawSQL:
        return RawSQL(
            "(SELECT -bm25(search_note_fts, 10.0, 5.0, 1.0) FROM search_note_fts "
            'WHERE search_note_fts MATCH %s AND search_note_fts.rowid = "notes_note"."id")',
            [query.to_fts5()],
            output_field=FloatField(),
        )


class PostgresBackend(_OrmBackend):
    """PostgreSQL full text: ``tsv @@ to_tsquery('simple', …)`` on the GIN-indexed ``search_notedoc.tsv``."""

    vendor = "postgresql"
    relevance_half = 0.5

    def _match(self, qs: QuerySet[Note], query: ParsedQuery, *, best: int | None = None) -> QuerySet[Note]:
        # The matching ids as a subquery the planner cannot flatten (OFFSET 0): it then starts from the GIN
        # index instead of scanning notes under the safety filters, whose selectivity it cannot estimate.
        if best:
            matching = RawSQL(
                "SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s) "
                f"ORDER BY ts_rank_cd(tsv, to_tsquery('simple', %s)) DESC LIMIT {int(best)}",
                [query.to_tsquery(), query.to_tsquery()],
            )
        else:
            matching = RawSQL(
                "SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s) OFFSET 0",
                [query.to_tsquery()],
            )
        return qs.filter(id__in=matching)

    def _raw_relevance(self, query: ParsedQuery) -> RawSQL:
        return RawSQL(
            'ts_rank_cd("search_notedoc"."tsv", to_tsquery(\'simple\', %s))',
            [query.to_tsquery()],
            output_field=FloatField(),
        )


_BACKENDS: dict[str, type[_OrmBackend]] = {"sqlite": Fts5Backend, "postgresql": PostgresBackend}


def search_backend() -> SearchBackend:
    """The backend for the default database."""
    try:
        return _BACKENDS[connection.vendor]()
    except KeyError as exc:  # pragma: no cover - Meadow runs on SQLite or PostgreSQL only
        raise RuntimeError(f"search has no backend for {connection.vendor}") from exc

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

Two phases, one SQL statement: for ``sort=relevance`` a materialised CTE takes from the full-text index alone the
``search_candidates()`` (``MEADOW_SEARCH_CANDIDATES``, 2,000) matches with the best raw text relevance, computing
``ts_rank_cd`` / ``bm25`` once per match; the safety filters (the caller's ``notes`` queryset, evaluated at query
time), the kind and location filters, engagement and freshness then apply to those candidates only (joined by
primary key), and one page is cut. A note outside the 2,000 most text-relevant matches of a very common word is not
shown under relevance (it still is under the other sorts), and the cost of a search beyond the text ranking
itself stops growing with the number of matches.

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

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.core.pagination import clamp_limit
from meadow.notes.models import Note
from meadow.search.analysis import ParsedQuery

MAX_RESULTS = 1000
CANDIDATES = 2000  # relevance: the text-best matches the full score re-ranks (MEADOW_SEARCH_CANDIDATES)
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


def search_candidates() -> int:
    """How many text-best matches the full score re-ranks (``MEADOW_SEARCH_CANDIDATES``, at least
    ``MAX_RESULTS``: a reader can always page through a thousand results)."""
    return max(MAX_RESULTS, int(getattr(settings, "MEADOW_SEARCH_CANDIDATES", CANDIDATES)))


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
    materialized = "MATERIALIZED"  # the candidates are computed once (PostgreSQL ≥ 12, SQLite ≥ 3.35)

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
    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        """``qs`` narrowed to the notes matching ``query``."""
        raise NotImplementedError

    def _candidates_sql(self, query: ParsedQuery, *, since: float | None, best: int) -> tuple[str, list]:
        """SQL selecting ``note_id, r, published_ts`` of the ``best`` matches with the highest raw text
        relevance ``r`` (published at ``since`` or later if given), computed once per match."""
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
        end = min(position.offset + size, MAX_RESULTS)
        want = end - position.offset + 1  # one more than the page: is there a next one?
        if filters.sort == "relevance":
            ids = self._relevance_ids(
                query, filters, notes, now=position.now, offset=position.offset, count=want
            )
        else:
            qs = self._match(notes.filter(search_doc__isnull=False), query)
            qs = _apply_filters(qs, filters, now=position.now).order_by(_SORT_COLUMNS[filters.sort], "-id")
            ids = list(qs.values_list("id", flat=True)[position.offset : position.offset + want])
        more = len(ids) > end - position.offset and end < MAX_RESULTS
        ids = ids[: end - position.offset]
        next_cursor = cursor_encode(Cursor(offset=end, now=position.now)) if more and ids else None
        return SearchPage(ids=ids, next_cursor=next_cursor)

    def _relevance_ids(
        self,
        query: ParsedQuery,
        filters: SearchFilters,
        notes: QuerySet[Note],
        *,
        now: float,
        offset: int,
        count: int,
    ) -> list[int]:
        """One statement: the candidates (``search_candidates()`` best by text relevance, from the full-text
        index alone) in a materialised CTE; the safety filters (``notes``, authoritative, evaluated at query
        time) and the kind/location filters over those candidates only, by primary key; the full score over
        what is left; one page."""
        days = TIME_RANGES.get(filters.time_range)
        since = None
        if days:
            since = (
                datetime.fromtimestamp(now, tz=timezone.get_current_timezone()) - timedelta(days=days)
            ).timestamp()
        cand_sql, cand_params = self._candidates_sql(query, since=since, best=search_candidates())
        allowed = _apply_filters(notes, SearchFilters(kind=filters.kind, location=filters.location), now=now)
        allowed = allowed.filter(id__in=RawSQL("SELECT note_id FROM search_candidates", []))
        safe_sql, safe_params = allowed.values(
            "id", "like_count", "save_count", "comment_count"
        ).query.sql_with_params()
        text = "(c.r / (%s + c.r))"
        sql = (
            f"WITH search_candidates AS {self.materialized} ({cand_sql}) "
            "SELECT c.note_id FROM search_candidates c "
            f"INNER JOIN ({safe_sql}) n ON n.id = c.note_id "
            f"ORDER BY {text} * {text} "
            "* (1.0 + %s * LN(CAST(1 + n.like_count + 2 * n.save_count + 3 * n.comment_count AS DOUBLE PRECISION))) "
            "* (1.0 + %s * POWER(0.5, ((%s - c.published_ts) / 86400.0) / %s)) DESC, c.note_id DESC "
            "LIMIT %s OFFSET %s"
        )
        params = [
            *cand_params,
            *safe_params,
            self.relevance_half,
            self.relevance_half,
            ENGAGEMENT_WEIGHT,
            FRESHNESS_WEIGHT,
            now,
            FRESHNESS_HALF_LIFE_DAYS,
            count,
            offset,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]


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

    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        matching = RawSQL(
            "SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH %s", [query.to_fts5()]
        )
        return qs.filter(id__in=matching)

    def _candidates_sql(self, query: ParsedQuery, *, since: float | None, best: int) -> tuple[str, list]:
        params: list = [query.to_fts5()]
        sql = (
            "SELECT f.rowid AS note_id, -bm25(search_note_fts, 10.0, 5.0, 1.0) AS r, d.published_ts "
            "FROM search_note_fts f INNER JOIN search_notedoc d ON d.note_id = f.rowid "
            "WHERE search_note_fts MATCH %s"
        )
        if since is not None:
            sql += " AND d.published_ts >= %s"
            params.append(since)
        return f"{sql} ORDER BY r DESC LIMIT {int(best)}", params


class PostgresBackend(_OrmBackend):
    """PostgreSQL full text: ``tsv @@ to_tsquery('simple', …)`` on the GIN-indexed ``search_notedoc.tsv``."""

    vendor = "postgresql"
    relevance_half = 0.5

    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        # The matching ids as a subquery the planner cannot flatten (OFFSET 0): it then starts from the GIN
        # index instead of scanning notes under the safety filters, whose selectivity it cannot estimate.
        matching = RawSQL(
            "SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s) OFFSET 0",
            [query.to_tsquery()],
        )
        return qs.filter(id__in=matching)

    def _candidates_sql(self, query: ParsedQuery, *, since: float | None, best: int) -> tuple[str, list]:
        params: list = [query.to_tsquery()]
        sql = (
            "SELECT d.note_id, ts_rank_cd(d.tsv, q) AS r, d.published_ts "
            "FROM search_notedoc d, to_tsquery('simple', %s) q WHERE d.tsv @@ q"
        )
        if since is not None:
            sql += " AND d.published_ts >= %s"
            params.append(since)
        return f"{sql} ORDER BY r DESC LIMIT {int(best)}", params


_BACKENDS: dict[str, type[_OrmBackend]] = {"sqlite": Fts5Backend, "postgresql": PostgresBackend}


def search_backend() -> SearchBackend:
    """The backend for the default database."""
    try:
        return _BACKENDS[connection.vendor]()
    except KeyError as exc:  # pragma: no cover - Meadow runs on SQLite or PostgreSQL only
        raise RuntimeError(f"search has no backend for {connection.vendor}") from exc

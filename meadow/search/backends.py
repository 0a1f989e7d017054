"""The full-text backends behind one interface, chosen by the database in use (``connection.vendor``):

- ``Fts5Backend`` — SQLite FTS5 (embedded default): ``bm25()`` with column weights title 10, body 1, plus the
  tags' own ``bm25()`` (weight 1) capped at r½.
- ``PostgresBackend`` — PostgreSQL full text (scale): ``ts_rank_cd`` over the stored, weighted ``tsv`` column
  (title A, tags B, body D) with a GIN index, and a btree on ``static_rank``.

Both index the same rows (``NoteSearchDoc``: segmented text written by ``meadow.search.services``) and both
answer ``search(query, filters, cursor) -> SearchPage`` with the note ids of one page.

Ranking (``sort=relevance``)::

    text       = c / (r½ + c),  c = min(r, 2·r½)   r = −bm25(title 10, body 1) + min(−bm25(tags 1), r½) on FTS5
                                                  (r½ = 5), r = ts_rank_cd(title A, body D)
                                                  + min(ts_rank_cd(tags B), r½) on PostgreSQL (r½ = 0.5)
    (tags alone never reach a title match: a title match ranks above tag-only notes of similar engagement)
    relaxed    = a match found only by a compound's fallback words (咖啡厅 → 咖啡) scores RELAXED_PENALTY lower
                 (log space): below every exact match
    engagement = 1 + 0.15 · ln(1 + likes + 2·saves + 3·comments)
    freshness  = 2^(−age_days / 60)                age from the note's publication, half-life two months
    score      = text² · engagement · freshness

``r½`` is the raw relevance that counts as one half, calibrated per backend so that both map a title match
to ≈ 0.7 and a single mention in the body to ≈ 0.2–0.4; relevance saturates at ``2·r½`` (text ≤ ⅔: the words
together in the title — nothing is more relevant than that). Text relevance is squared so that it dominates
engagement: a note with the words in its title outranks one that mentions them once in the body unless the latter
is ≈ 4 half-lives (eight months) newer. Ties break on the note id (newest first). The other sorts (latest, likes,
comments, saves) order the matching notes by that column, then id.

Static rank: ``engagement · freshness = 2^(−now/τ) · exp(static_rank)`` with
``static_rank = ln(engagement) + λ·published_ts`` (λ = ln 2 / τ), so ``ln score = 2·ln text + static_rank −
λ·now`` — the order never depends on ``now``, and the query-independent part is one stored, indexed column
(``NoteSearchDoc.static_rank``, kept in sync by ``meadow.search.services``; engagement is refreshed by a beat
task, so it may be a few minutes old — see ``search_rank_refresh``).

Exact top-k with early termination (the threshold algorithm, ``top_k``): since ``2·ln text ≤ 2·ln ⅔ =: B`` for
every note, a note with ``static_rank < s`` scores below ``B + s``. A popular query (more than
``MEADOW_SEARCH_EXHAUSTIVE_MATCHES`` matches by an upper-bound estimate from the index statistics) is ranked
slice by slice of static rank, highest first: one statement per slice takes the matches with ``floor ≤
static_rank < ceiling`` (PostgreSQL: a BitmapAnd of the GIN and the btree index, so only those rows are read),
scores them, joins the safety filters to the best ``2k + 32`` of them (to all of them if too few pass) and keeps
the best ``k`` so far (``k``: everything up to the end of the page, plus one). As soon as the ``k``-th best scores
above ``B + floor`` no note below can enter the top ``k``, and the answer is exact. Otherwise the next slice goes
down to the next guess (four times the notes) or at most to ``kth − B`` — which is certain to be the last, since
the ``k``-th best only improves; with fewer than ``k`` found so far, the query is rarer than estimated and the
rest is ranked at once. The first slice is the top of the static-rank distribution (PostgreSQL's
histogram) expected to hold 48·k matches: every statement first intersects the posting lists of the query's words
(≈ 20 ms for three common words at 1,000,000 notes, as much as ranking thousands of matches), so a narrower first
slice saves little and more often needs a second statement. Rare queries (and SQLite's small corpora by
default) rank every match in one statement. Early termination needs notes at the relevance cap: it is fastest on
popular one-word queries (many titles contain the word) and slowest on several common words rarely together in a
title, whose slices must reach far down.

Pagination: the cursor carries an offset and the moment the first page was ranked (for the time-range filter),
over a result set bounded at ``MAX_RESULTS`` (1,000). The relevance order does not depend on the time of the
query, so pages stay consistent; between two pages only a refresh of static ranks (engagement) or a change to the
notes can move a result.
"""

from __future__ import annotations

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

from meadow.core.pagination import clamp_limit, digit_token_decode, digit_token_encode, digit_token_pattern
from meadow.notes.models import Note
from meadow.search.analysis import ParsedQuery

MAX_RESULTS = 1000
ENGAGEMENT_WEIGHT = 0.15
FRESHNESS_HALF_LIFE_DAYS = 60.0  # changing it changes every static rank: migrate them (see search/0003)
FRESHNESS_LAMBDA = math.log(2) / (FRESHNESS_HALF_LIFE_DAYS * 86400.0)  # per second of publication time
EXHAUSTIVE_MATCHES = 4000  # relevance: at most this many matches (estimated) are all ranked at once
BAND_MATCHES_PER_RESULT = 48  # the first band is expected to hold this many matches per wanted result
BAND_GROWTH = 4  # each further band covers this many times the notes
# The safety filters are joined to the best POOL_FACTOR·k + POOL_EXTRA matches of a band, to all if need be.
POOL_FACTOR = 2
POOL_EXTRA = 32
# A note found only by a compound's fallback words (``ParsedQuery.relaxed``: 咖啡厅 → 咖啡) scores this much lower
# (log space, subtracted from its static rank in the ranking statement): below every exact match — as much as
# ≈ 240 years of freshness. Static-rank bands still bound every score from above, so top-k stays exact.
RELAXED_PENALTY = 1000.0
SORTS = ("relevance", "latest", "likes", "comments", "saves")
KINDS = ("all", "image", "video")
TIME_RANGES = {"all": None, "day": 1, "week": 7, "month": 30, "year": 365}
_SORT_COLUMNS = {
    "latest": "-published_at",
    "likes": "-like_count",
    "comments": "-comment_count",
    "saves": "-save_count",
}


def exhaustive_matches() -> int:
    """Up to how many (estimated) matches a relevance search ranks every match at once
    (``MEADOW_SEARCH_EXHAUSTIVE_MATCHES``); above, it ranks band by band in static-rank order."""
    return int(getattr(settings, "MEADOW_SEARCH_EXHAUSTIVE_MATCHES", EXHAUSTIVE_MATCHES))


def engagement_factor(*, likes: int, saves: int, comments: int) -> float:
    return 1.0 + ENGAGEMENT_WEIGHT * math.log(1 + max(0, likes + 2 * saves + 3 * comments))


def static_rank(*, likes: int, saves: int, comments: int, published_ts: float) -> float:
    """``ln(engagement) + λ·published_ts``: the query-independent part of the score, in log space."""
    return math.log(engagement_factor(likes=likes, saves=saves, comments=comments)) + (
        FRESHNESS_LAMBDA * published_ts
    )


def static_rank_sql(note: str, published_ts: str) -> str:
    """The same in SQL (PostgreSQL and SQLite), over a ``notes_note`` row aliased ``note``."""
    return (
        f"(LN(1.0 + {ENGAGEMENT_WEIGHT!r} * LN(CAST(1 + {note}.like_count + 2 * {note}.save_count "
        f"+ 3 * {note}.comment_count AS DOUBLE PRECISION))) + {FRESHNESS_LAMBDA!r} * {published_ts})"
    )


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


# The cursor (base64url of digits, see ``meadow.core.pagination``): the offset in ``OFFSET_DIGITS`` digits, then
# the moment of the first page in milliseconds since the epoch in ``MOMENT_DIGITS``. Every token the pattern
# matches is taken: an offset past ``MAX_RESULTS`` reads as the end (an empty page).
OFFSET_DIGITS = len(str(MAX_RESULTS))
MOMENT_DIGITS = 13  # milliseconds up to the year 2286
CURSOR_PATTERN = digit_token_pattern(
    "s1", min_digits=OFFSET_DIGITS + MOMENT_DIGITS, max_digits=OFFSET_DIGITS + MOMENT_DIGITS
)


def cursor_encode(cursor: Cursor) -> str:
    moment = min(max(round(cursor.now * 1000), 0), 10**MOMENT_DIGITS - 1)
    return digit_token_encode("s1", f"{cursor.offset:0{OFFSET_DIGITS}d}{moment:0{MOMENT_DIGITS}d}")


def cursor_decode(value: str | None) -> Cursor | None:
    digits = digit_token_decode(value, kind="s1", pattern=CURSOR_PATTERN)
    if digits is None:
        return None
    offset = min(int(digits[:OFFSET_DIGITS]), MAX_RESULTS)
    return Cursor(offset=offset, now=int(digits[OFFSET_DIGITS:]) / 1000)


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
    step: FTS5 triggers, or PostgreSQL's generated column), and a relevance page is exact top-k over the notes the
    caller allows (``notes``, already safety-filtered) that match the query — one statement for a rare query, one
    per static-rank band for a popular one."""

    vendor = ""
    engine = ""  # fts5, gin or rum
    relevance_half = 1.0
    materialized = "MATERIALIZED"  # the matches are computed once (PostgreSQL ≥ 12, SQLite ≥ 3.35)
    least = "MIN"
    greatest = "MAX"

    def index(self, *, doc) -> None:
        from meadow.search.models import NoteSearchDoc

        NoteSearchDoc.objects.update_or_create(
            note_id=doc.note_id,
            defaults={
                "title": doc.title,
                "tags": doc.tags,
                "body": doc.body,
                "published_ts": doc.published_ts,
                "static_rank": doc.static_rank,
                "indexed_at": timezone.now(),
            },
        )

    def remove(self, *, note_id: int) -> None:
        from meadow.search.models import NoteSearchDoc

        NoteSearchDoc.objects.filter(note_id=note_id).delete()

    @property
    def relevance_cap(self) -> float:
        return 2.0 * self.relevance_half

    @property
    def text_bound(self) -> float:
        """``2·ln text`` of the most relevant note possible (relevance at its cap): every note scores at most
        this plus its static rank."""
        cap = self.relevance_cap
        return 2.0 * math.log(cap / (self.relevance_half + cap))

    # backend specifics
    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        """``qs`` narrowed to the notes matching ``query``."""
        raise NotImplementedError

    def _matches_sql(self, query: ParsedQuery, *, columns: str = "") -> tuple[str, list]:
        """SQL selecting ``note_id, r, s`` (raw text relevance, static rank) of every match (then ``columns``),
        with the ``search_notedoc`` row aliased ``d`` so that conditions can be added with ``AND``."""
        raise NotImplementedError

    def estimate_matches(self, query: ParsedQuery) -> tuple[float, float]:
        """How many notes match ``query``, cheaply: an upper bound (to decide whether ranking every match is
        surely cheap) and a likely number (to size the first slice)."""
        raise NotImplementedError

    def _histogram(self) -> list[float] | None:
        """Equal-depth bounds of ``static_rank`` (ascending) from the database's statistics, if it keeps any."""
        return None

    # static-rank bands
    def _band_floor(self, fraction: float, *, total: list[int]) -> float | None:
        """The static rank above which lie (about, at least) ``fraction`` of all documents; ``None`` for all of
        them. ``total`` caches the number of documents for the fallback (no statistics)."""
        if fraction >= 0.5:
            return None
        bounds = self._histogram()
        if bounds and len(bounds) > 2:
            return bounds[int((1.0 - fraction) * (len(bounds) - 1))]
        from meadow.search.models import NoteSearchDoc

        if not total:
            total.append(NoteSearchDoc.objects.count())
        skip = int(fraction * total[0])
        if skip >= total[0]:
            return None
        return (
            NoteSearchDoc.objects.order_by("-static_rank").values_list("static_rank", flat=True)[
                skip : skip + 1
            ]
        ).first()

    def _bands(self, query: ParsedQuery, k: int):
        """Static-rank floors to try in turn for the top ``k`` of ``query``; the last is ``None`` (no floor)."""
        upper, likely = self.estimate_matches(query)
        if upper <= exhaustive_matches():
            yield None
            return
        total: list[int] = []
        fraction = BAND_MATCHES_PER_RESULT * k / max(likely, 1.0)
        while True:
            floor = self._band_floor(fraction, total=total)
            yield floor
            if floor is None:
                return
            fraction *= BAND_GROWTH

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
        """The ids ranked ``offset`` to ``offset + count`` (exclusive) by the full score, exactly: band by band
        (``_bands``) until the ``k``-th best found is out of reach of every note below the band."""
        k = offset + count
        days = TIME_RANGES.get(filters.time_range)
        since = None
        if days:
            since = (
                datetime.fromtimestamp(now, tz=timezone.get_current_timezone()) - timedelta(days=days)
            ).timestamp()
        allowed = _apply_filters(notes, SearchFilters(kind=filters.kind, location=filters.location), now=now)
        safe = _safe_sql(allowed)  # compiled once for every slice
        return [note_id for note_id, _score in self._top(query, k, safe=safe, since=since)[offset:]]

    def _top(self, query: ParsedQuery, k: int, *, safe: tuple[str, tuple], since: float | None):
        """The exact best ``k`` (note id, score) that pass ``safe``: static-rank bands (``top_k``)."""

        def rank(floor: float | None, ceiling: float | None, pool: int | None):
            return self.ranked(query, safe, since=since, floor=floor, ceiling=ceiling, limit=k, pool=pool)

        return self.top_k(query, k, rank)

    def top_k(self, query: ParsedQuery, k: int, rank) -> list[tuple[int, float]]:
        """The threshold algorithm over static-rank slices: ``rank(floor, ceiling, pool)`` answers the best ``k``
        (note id, score) of the slice ``floor ≤ static_rank < ceiling`` (no bound for ``None``), looking at its
        ``pool`` best matches only (all if ``None``), and whether the pool was cut. Each slice extends the band
        downwards — nothing is ranked twice — and the best ``k`` so far are kept. Returns the exact top ``k``."""
        guesses = self._bands(query, k)
        best: list[tuple[int, float]] = []
        ceiling, floor = None, next(guesses)
        while True:
            rows, cut = rank(floor, ceiling, POOL_FACTOR * k + POOL_EXTRA)
            if len(rows) < k and cut:  # the safety filters removed too many of the best: all of the slice
                rows, _ = rank(floor, ceiling, None)
            best = sorted([*best, *rows], key=lambda r: (-r[1], -r[0]))[:k]
            if floor is None:
                return best
            if len(best) == k:
                kth = best[-1][1]
                # Every note below the floor scores < text_bound + floor (strictly: its static rank is lower).
                if kth > self.text_bound + floor:
                    return best
                # Not yet. The k-th best can only get better as the band widens, so the band down to
                # kth − text_bound is certain to be the last one; the next guess may be enough and narrower.
                certain = kth - self.text_bound - 1e-9
                following = _next_below(guesses, floor)
                ceiling, floor = floor, (certain if following is None else max(following, certain))
                continue
            # Fewer than k so far, where the estimate expected many times k: the query is rarer than it looked
            # (or the filters are narrow) — rank all the rest at once rather than slice after slice.
            ceiling, floor = floor, None

    def ranked(
        self,
        query: ParsedQuery,
        allowed: QuerySet[Note] | tuple[str, tuple],
        *,
        since: float | None,
        floor: float | None,
        limit: int,
        ceiling: float | None = None,
        pool: int | None = None,
    ) -> tuple[list[tuple[int, float]], bool]:
        """One statement: the matches (with ``floor ≤ static_rank < ceiling``, published at ``since`` or later, each
        if given) in a materialised CTE, raw relevance computed once each, scored; the best ``pool`` of them (all
        if ``None``); the safety filters (``allowed``, authoritative, evaluated at query time — or its SQL from
        ``_safe_sql``) joined to those by primary key. Returns ``(note_id, ln score + λ·now)`` of the best ``limit`` that pass, best first, and
        whether the pool was cut (more matches than ``pool``: if fewer than ``limit`` passed, the answer is not
        complete). The top ``limit`` of the pool that pass are the top ``limit`` of the band that pass."""
        match_sql, params = self._matches_sql(query)
        if floor is not None:
            match_sql += " AND d.static_rank >= %s"
            params.append(floor)
        if ceiling is not None:
            match_sql += " AND d.static_rank < %s"
            params.append(ceiling)
        if since is not None:
            match_sql += " AND d.published_ts >= %s"
            params.append(since)
        safe_sql, safe_params = _safe_sql(allowed) if isinstance(allowed, QuerySet) else allowed
        capped = f"{self.least}(c.r, %s)"
        cap = self.relevance_cap
        params += [cap, self.relevance_half, cap]
        cut = ""
        if pool is not None:
            cut = " ORDER BY score DESC, c.note_id DESC LIMIT %s"
            params.append(pool)
        sql = (
            f"WITH search_matches AS {self.materialized} ({match_sql}), "
            f"search_pool AS {self.materialized} (SELECT c.note_id, "
            f"2.0 * LN({self.greatest}({capped} / (%s + {capped}), 1e-300)) + c.s AS score "
            f"FROM search_matches c{cut}) "
            "SELECT * FROM (SELECT p.note_id, p.score FROM search_pool p "
            f"INNER JOIN ({safe_sql}) n ON n.id = p.note_id "
            "ORDER BY p.score DESC, p.note_id DESC LIMIT %s) ranked "
            "UNION ALL SELECT NULL, COUNT(*) FROM search_pool"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *safe_params, limit])
            found = cursor.fetchall()
        rows = sorted(((r[0], r[1]) for r in found if r[0] is not None), key=lambda r: (-r[1], -r[0]))
        pooled = next(r[1] for r in found if r[0] is None)
        return rows, pool is not None and pooled >= pool


def _next_below(guesses, floor: float) -> float | None:
    """The next floor from ``guesses`` below ``floor`` (``None``: no floor left, rank everything)."""
    for following in guesses:
        if following is None or following < floor:
            return following
    return None


def _safe_sql(allowed: QuerySet[Note]) -> tuple[str, tuple]:
    """The SQL of the allowed notes among a slice's pool (``search_pool``), for ``ranked``."""
    safe = allowed.filter(id__in=RawSQL("SELECT note_id FROM search_pool", []))
    return safe.values("id").query.sql_with_params()


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
    engine = "fts5"
    relevance_half = 5.0

    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        matching = RawSQL(
            "SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH %s", [query.to_fts5()]
        )
        return qs.filter(id__in=matching)

    def _matches_sql(self, query: ParsedQuery, *, columns: str = "") -> tuple[str, list]:
        # Tags are ranked on their own, capped: FTS5's bm25 sums the weighted term counts of all columns before
        # saturating them (k1 = 1.2), so with tags in the same call a weight of 5 counts nearly as much as the
        # title's 10, and the tags' shortness then lifts a tag-only note above a longer title (issue #23).
        params: list = [self.relevance_half]
        exact = "0.0"
        if query.relaxed:
            exact = (
                "CASE WHEN f.rowid IN (SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH %s) "
                "THEN 0.0 ELSE %s END"
            )
            params += [query.exact_query().to_fts5(), RELAXED_PENALTY]
        params.append(query.to_fts5())
        return (
            "SELECT f.rowid AS note_id, -bm25(search_note_fts, 10.0, 0.0, 1.0) "
            "+ MIN(-bm25(search_note_fts, 0.0, 1.0, 0.0), %s) AS r, "
            f"d.static_rank - {exact} AS s{columns} "
            "FROM search_note_fts f INNER JOIN search_notedoc d ON d.note_id = f.rowid "
            "WHERE search_note_fts MATCH %s",
            params,
        )

    def estimate_matches(self, query: ParsedQuery) -> tuple[float, float]:
        # Counting is cheap at the sizes SQLite serves (capped: far past the threshold it only sizes the bands).
        cap = 20 * exhaustive_matches() + 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM (SELECT 1 FROM search_note_fts WHERE search_note_fts MATCH %s LIMIT %s)",
                [query.to_fts5(), cap],
            )
            found = float(cursor.fetchone()[0])
        return found, found


_histograms: dict[str, tuple[float, tuple | None]] = {}
HISTOGRAM_SECONDS = 300.0


class PostgresBackend(_OrmBackend):
    """PostgreSQL full text: ``tsv @@ to_tsquery('simple', …)`` on the GIN-indexed ``search_notedoc.tsv``."""

    vendor = "postgresql"
    engine = "gin"
    relevance_half = 0.5
    least = "LEAST"
    greatest = "GREATEST"

    def _match(self, qs: QuerySet[Note], query: ParsedQuery) -> QuerySet[Note]:
        # The matching ids as a subquery the planner cannot flatten (OFFSET 0): it then starts from the GIN
        # index instead of scanning notes under the safety filters, whose selectivity it cannot estimate.
        matching = RawSQL(
            "SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s) OFFSET 0",
            [query.to_tsquery()],
        )
        return qs.filter(id__in=matching)

    def _matches_sql(self, query: ParsedQuery, *, columns: str = "") -> tuple[str, list]:
        # Title (A, 1.0) and body (D, 0.1) as ts_rank_cd weighs them; tags (B, 0.4) on their own, capped at r½:
        # several covers in a compound hashtag (吉隆坡 美食 吉隆坡美食) otherwise reach the relevance cap of a
        # title match (issue #23).
        params: list = [self.relevance_half]
        exact = "0.0"
        if query.relaxed:
            exact = "CASE WHEN d.tsv @@ to_tsquery('simple', %s) THEN 0.0 ELSE %s END"
            params += [query.exact_query().to_tsquery(), RELAXED_PENALTY]
        params.append(query.to_tsquery())
        return (
            "SELECT d.note_id, CAST(ts_rank_cd('{0.1, 0, 0, 1}', d.tsv, q) "
            "+ LEAST(ts_rank_cd('{0, 0, 0.4, 0}', d.tsv, q), %s) AS DOUBLE PRECISION) AS r, "
            f"d.static_rank - {exact} AS s{columns} "
            "FROM search_notedoc d, to_tsquery('simple', %s) q WHERE d.tsv @@ q",
            params,
        )

    def estimate_matches(self, query: ParsedQuery) -> tuple[float, float]:
        """From the statistics of ``tsv`` (its most common lexemes and their frequencies), no row read. The upper
        bound takes a term as frequent as the sum of its choices, a choice as its rarest word, the query as its
        rarest term; the planner's estimate (the product: words independent) is ten times too low on three
        common words on long notes, which occur together far more often. Likely: the geometric mean of both."""
        stats = self._stats()
        if stats is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s)",
                    [query.to_tsquery()],
                )
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            rows = float(plan[0]["Plan"]["Plan Rows"])
            return rows, rows
        total, _bounds, freqs, floor = stats
        terms = [
            min(sum(min(freqs.get(token, floor) for token in alt) for alt in term), 1.0)
            for term in query.terms
        ]
        upper = min(terms, default=0.0) * total
        return upper, math.sqrt(upper * math.prod(terms) * total)

    def _stats(self) -> tuple[float, list[float] | None, dict[str, float], float] | None:
        """``(documents, static_rank histogram, lexeme → frequency, frequency of a lexeme not listed)`` from
        ``pg_class``/``pg_stats`` (after ANALYZE), kept five minutes per process: they only shape the bands,
        never the answer."""
        key = connection.settings_dict["NAME"]
        found = _histograms.get(key)
        if found is not None and time.monotonic() - found[0] < HISTOGRAM_SECONDS:
            return found[1]
        with connection.cursor() as cursor:
            cursor.execute(
                # anyarray columns: through text to a typed array, which psycopg returns as a list
                "SELECT c.reltuples, h.histogram_bounds::text::float8[], e.most_common_elems::text::text[], "
                "e.most_common_elem_freqs FROM pg_class c "
                "LEFT JOIN pg_stats h ON h.schemaname = current_schema() AND h.tablename = c.relname "
                "AND h.attname = 'static_rank' "
                "LEFT JOIN pg_stats e ON e.schemaname = current_schema() AND e.tablename = c.relname "
                "AND e.attname = 'tsv' "
                "WHERE c.relname = 'search_notedoc' AND c.relnamespace = current_schema()::regnamespace"
            )
            row = cursor.fetchone()
        stats = None
        if row and row[0] and row[0] > 0 and row[2] and row[3]:
            bounds = [float(v) for v in row[1]] if row[1] else None
            elems = list(row[2])
            numbers = [float(v) for v in row[3]]
            freqs = dict(zip(elems, numbers[: len(elems)], strict=True))
            stats = (float(row[0]), bounds, freqs, numbers[len(elems)])  # then: the least frequency listed
        _histograms[key] = (time.monotonic(), stats)
        return stats

    def _histogram(self) -> list[float] | None:
        stats = self._stats()
        return stats[1] if stats else None


# RUM orders the matches by their distance to this origin (``static_rank <=> origin``, ascending): far above every
# static rank (≈ 240 in 2026, ≈ 1,340 in 2300) and small enough that a double still tells ranks a second apart.
RUM_ORIGIN = 1e5
RUM_INDEX = "search_notedoc_tsv_rum"  # created by ``meadow search_rum`` (``meadow.search.rum``)
RUM_SECONDS = 300.0
_rum_indexes: dict[str, tuple[float, bool]] = {}


class RumBackend(PostgresBackend):
    """PostgreSQL with the RUM index (``meadow search_rum``), opt-in (``MEADOW_SEARCH_RUM``): ``tsv rum_tsvector_addon_ops`` with
    ``static_rank`` attached and the posting lists ordered by it (``order_by_attach``). The index hands over the
    matches in static-rank order (``ORDER BY static_rank <=> origin``), so a statement reads a bounded number of
    index entries — the best ``m`` matches by static rank — instead of intersecting whole posting lists with a
    btree range. The same threshold algorithm as the GIN path, over chunks instead of estimated bands: each
    chunk is the next ``m`` matches (48·k, then four times more each), scored, safety-filtered, merged; it stops
    as soon as the ``k``-th best is out of reach of every match below the chunk (or the matches run out). The
    answer is exactly the GIN path's (tests compare both with a brute force).

    Measured (bench/RESULTS.md "GIN against RUM"): RUM 1.3 does not stop early here — for ``ORDER BY addon <=> x``
    it collects every match from the posting lists and sorts them (272,395 for "kopi" at 1,000,000 notes, spilling
    past ``work_mem``), so a chunk costs as much as ranking every match; slower than the GIN bands, hence off by
    default."""

    engine = "rum"

    def _top(self, query: ParsedQuery, k: int, *, safe: tuple[str, tuple], since: float | None):
        best: list[tuple[int, float]] = []
        ceiling: float | None = None  # the chunk takes matches with static_rank <= ceiling
        chunk = BAND_MATCHES_PER_RESULT * k
        while True:
            rows, cut, full, floor = self.ranked_chunk(
                query,
                safe,
                since=since,
                ceiling=ceiling,
                chunk=chunk,
                limit=k,
                pool=POOL_FACTOR * k + POOL_EXTRA,
            )
            if len(rows) < k and cut:  # the safety filters removed too many of the best: all of the chunk
                rows, _cut, full, floor = self.ranked_chunk(
                    query, safe, since=since, ceiling=ceiling, chunk=chunk, limit=k, pool=None
                )
            best = sorted([*best, *rows], key=lambda r: (-r[1], -r[0]))[:k]
            if not full or floor is None:  # every match at or below the ceiling was read
                return best
            if floor == ceiling:  # the whole chunk shares one static rank: rank everything below at once
                rows, _cut, _full, _floor = self.ranked_chunk(
                    query, safe, since=since, ceiling=ceiling, chunk=None, limit=k, pool=None
                )
                return sorted([*best, *rows], key=lambda r: (-r[1], -r[0]))[:k]
            # The chunk kept the matches above its lowest static rank (``floor``); the next starts there. Every
            # match not yet ranked has static_rank <= floor, so it scores at most text_bound + floor.
            if len(best) == k and best[-1][1] > self.text_bound + floor:
                return best
            ceiling, chunk = floor, chunk * BAND_GROWTH

    def ranked_chunk(
        self,
        query: ParsedQuery,
        allowed: tuple[str, tuple],
        *,
        since: float | None,
        ceiling: float | None,
        chunk: int | None,
        limit: int,
        pool: int | None,
    ) -> tuple[list[tuple[int, float]], bool, bool, float | None]:
        """One statement: the best ``chunk`` matches by static rank (at most ``ceiling``; all if ``chunk`` is
        ``None``) straight from the RUM index; if there were ``chunk`` of them, those at the lowest static rank
        read (``floor``) are left to the next chunk, which starts there — ties are never split. The rest is
        ``ranked``: scored, the best ``pool`` safety-filtered. Returns the best ``limit`` (note id, score) that
        pass, whether the pool was cut, whether the chunk was full, and its floor."""
        match_sql, params = self._matches_sql(query, columns=", d.static_rank AS sr")
        if ceiling is not None:
            match_sql += " AND d.static_rank <= %s"
            params.append(ceiling)
        if since is not None:
            match_sql += " AND d.published_ts >= %s"
            params.append(since)
        if chunk is not None:
            match_sql += " ORDER BY d.static_rank <=> %s LIMIT %s"
            params += [RUM_ORIGIN, chunk]
        safe_sql, safe_params = allowed
        capped = "LEAST(c.r, %s)"
        cap = self.relevance_cap
        params += [chunk if chunk is not None else 2**62, cap, self.relevance_half, cap]
        cut = ""
        if pool is not None:
            cut = " ORDER BY score DESC, c.note_id DESC LIMIT %s"
            params.append(pool)
        sql = (
            f"WITH search_read AS MATERIALIZED ({match_sql}), "
            "search_edge AS MATERIALIZED (SELECT COUNT(*) AS n, MIN(sr) AS floor FROM search_read), "
            "search_matches AS MATERIALIZED (SELECT c.* FROM search_read c, search_edge e "
            "WHERE e.n < %s OR c.sr > e.floor), "
            "search_pool AS MATERIALIZED (SELECT c.note_id, "
            f"2.0 * LN(GREATEST({capped} / (%s + {capped}), 1e-300)) + c.s AS score "
            f"FROM search_matches c{cut}) "
            "SELECT * FROM (SELECT p.note_id, p.score FROM search_pool p "
            f"INNER JOIN ({safe_sql}) n ON n.id = p.note_id "
            "ORDER BY p.score DESC, p.note_id DESC LIMIT %s) ranked "
            "UNION ALL SELECT -1, CAST(COUNT(*) AS DOUBLE PRECISION) FROM search_pool "
            "UNION ALL SELECT -2, CAST(n AS DOUBLE PRECISION) FROM search_edge "
            "UNION ALL SELECT -3, floor FROM search_edge"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *safe_params, limit])
            found = cursor.fetchall()
        rows = sorted(((r[0], r[1]) for r in found if r[0] > 0), key=lambda r: (-r[1], -r[0]))
        meta = {r[0]: r[1] for r in found if r[0] < 0}
        full = chunk is not None and meta[-2] >= chunk
        return rows, pool is not None and meta[-1] >= pool, full, meta[-3]


def rum_in_use() -> bool:
    """Whether the default database has the RUM search index (and ``MEADOW_SEARCH_RUM`` allows it): cached per
    database for five minutes, like the statistics."""
    if connection.vendor != "postgresql" or not getattr(settings, "MEADOW_SEARCH_RUM", False):
        return False
    key = connection.settings_dict["NAME"]
    found = _rum_indexes.get(key)
    if found is not None and time.monotonic() - found[0] < RUM_SECONDS:
        return found[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s)",
            [RUM_INDEX],
        )
        present = bool(cursor.fetchone()[0])
    _rum_indexes[key] = (time.monotonic(), present)
    return present


_BACKENDS: dict[str, type[_OrmBackend]] = {"sqlite": Fts5Backend, "postgresql": PostgresBackend}


def search_backend() -> SearchBackend:
    """The backend for the default database: FTS5 on SQLite; on PostgreSQL the RUM path where its index exists
    (``rum_in_use``), else the GIN path."""
    if rum_in_use():
        return RumBackend()
    try:
        return _BACKENDS[connection.vendor]()
    except KeyError as exc:  # pragma: no cover - Meadow runs on SQLite or PostgreSQL only
        raise RuntimeError(f"search has no backend for {connection.vendor}") from exc

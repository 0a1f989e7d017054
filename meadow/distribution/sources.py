"""The Discover feed's candidate sources, read from the database.

Each class implements ``engine.candidates.CandidateSource`` (``name``, ``candidates(user, *, n, exclude)``) with
one bounded query through an index (a per-key source: one ``UNION ALL`` query on PostgreSQL, one query per key
where the database cannot order and limit the parts of a compound query), never a query per candidate.
``engine.candidates.generate()`` merges them — exactly as ``meadow recommend-offline`` merges its file-backed
sources — and :func:`note_meta` gives it, in two queries, what the ranker needs about the proposed notes
that a feed may show (the others are dropped).

Candidate lists are only proposals: whether a note may be shown is decided afterwards, live, by
:func:`note_meta`'s query (the feed's visibility queryset) and again when the page is shown. So the lists that
do not depend on the reader — the newest notes of a category (pool and interest sources), of a hashtag, the
trending and the newest notes — and the newest notes of the accounts a reader follows are kept in the cache
for ``MEADOW_FEED_SOURCE_SECONDS`` (default 30; per key, read with one ``get_many``, the missing keys
loaded in one query): a new note reaches Discover's candidates that much later, a limited or deleted one never
reaches a page. What only an edit changes about a note — its topics (categories and hashtags) and its
publication time, for the ranker — is cached per note version (``updated_at``, which an edit moves), like the
cards (``MEADOW_FEED_CARD_SECONDS``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, QuerySet, Value

from meadow.accounts.models import Follow
from meadow.distribution.engine.candidates import CFSource, ItemMeta
from meadow.distribution.engine.ranker import smoothed_quality
from meadow.distribution.models import NotePool
from meadow.notes.models import Note, NoteCategory, NoteHashtag

QUALITY_PRIOR = 0.05  # platform mean score per impression assumed for notes with few impressions
QUALITY_PRIOR_IMPRESSIONS = 20.0


def per_key(make: Callable[[Any], QuerySet], keys: Sequence[Any], n: int) -> list[tuple]:
    """The first ``n`` rows of ``make(key)`` for each key — one UNION ALL query where the database can order
    and limit each part (PostgreSQL: each part walks its own index), else one query per key."""
    parts = [make(key)[:n] for key in keys]
    if not parts:
        return []
    if len(parts) > 1 and connection.features.supports_slicing_ordering_in_compound:
        return list(parts[0].union(*parts[1:], all=True))
    return [row for part in parts for row in part]


def _source_seconds() -> int:
    return settings.MEADOW_FEED_SOURCE_SECONDS


def _key_part(key: Any) -> str:
    """A cache-key-safe name of a source key (hashtag names may be long or unusual)."""
    if isinstance(key, int):
        return str(key)
    return hashlib.blake2b(str(key).encode(), digest_size=8).hexdigest()


def cached_list(key: str, load: Callable[[], Iterable[Any]]) -> list[Any]:
    """``load()`` as a list, kept in the cache for ``MEADOW_FEED_SOURCE_SECONDS`` (module docstring)."""
    found = cache.get_or_set(f"distribution:source:{key}", lambda: list(load()), _source_seconds())
    return cast(list[Any], found)  # what load() gave, now or when it was cached


def per_key_cached(
    name: str, make: Callable[[Any], QuerySet], keys: Sequence[Any], n: int, *, key_of: Callable[[tuple], Any]
) -> list[tuple]:
    """:func:`per_key` with each key's rows kept in the cache (``key_of(row)`` names a row's key): one
    ``get_many``, and one query for the keys not cached."""
    names = {k: f"distribution:source:{name}:{_key_part(k)}:{n}" for k in keys}
    found = cache.get_many(list(names.values()))
    missing = [k for k in keys if names[k] not in found]
    if missing:
        loaded: dict[Any, list[tuple]] = {k: [] for k in missing}
        for row in per_key(make, missing, n):
            loaded.setdefault(key_of(row), []).append(tuple(row))
        cache.set_many({names[k]: loaded[k] for k in missing}, _source_seconds())
        found.update({names[k]: loaded[k] for k in missing})
    return [row for k in keys for row in found[names[k]]]


def _share(n: int, keys: Collection[Any]) -> int:
    """Each key's part of a budget of ``n`` candidates."""
    return max(1, math.ceil(n / max(len(keys), 1)))


def _fresh(ids: Iterable[int], exclude: Collection[int], strength: float) -> list[tuple[int, float]]:
    return [(i, strength) for i in ids if i not in exclude]


class PoolSource:
    """The reader's current pools: the newest active pool notes of each of the reader's top categories (strength
    1); without interests, the newest active pool notes of all (0.5) — exploration."""

    name = "pool"

    def __init__(self, category_ids: Sequence[int]):
        self.category_ids = list(category_ids)

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        if not self.category_ids:
            ids = cached_list(
                f"pool-all:{n}",
                lambda: (
                    NotePool.objects.filter(status=NotePool.Status.ACTIVE)
                    .order_by("-note_id")
                    .values_list("note_id", flat=True)[:n]
                ),
            )
            return _fresh(ids, exclude, 0.5)
        rows = per_key_cached(
            "pool",
            lambda cid: (
                NoteCategory.objects.filter(category_id=cid, note__pool__status=NotePool.Status.ACTIVE)
                .order_by("-note_id")
                .values_list("note_id", "category_id")
            ),
            self.category_ids,
            _share(n, self.category_ids),
            key_of=lambda row: row[1],
        )
        return _fresh((row[0] for row in rows), exclude, 1.0)


class CategorySource:
    """Interest-matched notes: the newest notes of each of the reader's top categories; strength = the
    category's weight (relative to the reader's strongest interest) × the note's score for it."""

    name = "interest"

    def __init__(self, weights: Mapping[int, float]):
        self.weights = dict(weights)

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        if not self.weights:
            return []
        rows = per_key_cached(
            "category",
            lambda cid: (
                NoteCategory.objects.filter(category_id=cid)
                .order_by("-note_id")
                .values_list("note_id", "category_id", "score")
            ),
            list(self.weights),
            _share(n, self.weights),
            key_of=lambda row: row[1],
        )
        return [(i, self.weights[c] * min(score, 1.0)) for i, c, score in rows if i not in exclude]


class HashtagSource:
    """Interest-matched notes: the newest notes carrying the reader's top hashtags (names without ``#``);
    strength = the hashtag's relative weight."""

    name = "interest"

    def __init__(self, weights: Mapping[str, float]):
        self.weights = dict(weights)

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        if not self.weights:
            return []
        rows = per_key_cached(  # each hashtag's newest n, merged: the newest n of all of them
            "hashtag",
            lambda name: (
                NoteHashtag.objects.filter(hashtag__name=name)
                .order_by("-note_id")
                .values_list("note_id", "hashtag__name")
            ),
            sorted(self.weights),
            n,
            key_of=lambda row: row[1],
        )
        rows.sort(key=lambda row: -row[0])
        return [(i, self.weights.get(name, 0.5)) for i, name in rows[:n] if i not in exclude]


class FollowSource:
    """The follow graph: the newest published notes of the accounts the reader follows (strength 1)."""

    name = "follow"

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        followed = Follow.objects.filter(follower_id=user, status=Follow.Status.ACTIVE).values("followee_id")
        ids = cached_list(  # the reader's own list, for a few seconds (module docstring)
            f"follow:{user}:{n}",
            lambda: (
                Note.objects.filter(author_id__in=followed, status=Note.Status.PUBLISHED)
                .order_by("-id")
                .values_list("pk", flat=True)[:n]
            ),
        )
        return _fresh(ids, exclude, 1.0)


class TrendingSource:
    """Trending: the notes in the highest pools (level ≥ 2); strength = level ÷ the top level."""

    name = "trending"

    def __init__(self, top_level: int):
        self.top_level = max(top_level, 1)

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        rows = cached_list(
            f"trending:{n}",
            lambda: (
                NotePool.objects.filter(status=NotePool.Status.ACTIVE, level__gte=2)
                .order_by("-level", "-level_entered_at")
                .values_list("note_id", "level")[:n]
            ),
        )
        return [(i, min(level / self.top_level, 1.0)) for i, level in rows if i not in exclude]


class NewestSource:
    """The newest public notes: fresh content for everyone and the cold-start fallback (``popular``, 0.3)."""

    name = "popular"

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        ids = cached_list(
            f"newest:{n}",
            lambda: (
                Note.objects.filter(status=Note.Status.PUBLISHED, visibility=Note.Visibility.PUBLIC)
                .order_by("-id")
                .values_list("pk", flat=True)[:n]
            ),
        )
        return _fresh(ids, exclude, 0.3)


class PlaceSource:
    """Cold start: the newest notes tagged with the reader's profile place (``location``, 0.8)."""

    name = "location"

    def __init__(self, place: str):
        self.place = place[:60]

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        ids = (
            Note.objects.filter(status=Note.Status.PUBLISHED, location_name__icontains=self.place)
            .exclude(location_name="")  # the partial index of notes with a place (notes_note_placed_newest)
            .order_by("-id")
            .values_list("pk", flat=True)[:n]
        )
        return _fresh(ids, exclude, 0.8)


class LanguageSource:
    """Cold start: the newest notes by authors writing in the reader's language (``popular``, 0.6)."""

    name = "popular"

    def __init__(self, language: str):
        self.language = language[:2]

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        ids = (
            Note.objects.filter(status=Note.Status.PUBLISHED, author__language__startswith=self.language)
            .order_by("-id")
            .values_list("pk", flat=True)[:n]
        )
        return _fresh(ids, exclude, 0.6)


class GuardedCFSource(CFSource):
    """Collaborative filtering with the model ``cf_store.load_current_model()`` returned (the engine's
    ``CFSource``); a model that fails must never break the feed, so an error proposes nothing."""

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        try:
            return list(super().candidates(user, n=n, exclude=exclude))
        except Exception:
            return []


def cf_source() -> GuardedCFSource | None:
    """The CF source over the current model, ``None`` before the first training (or without the module)."""
    try:
        from meadow.distribution.cf_store import load_current_model
    except ImportError:  # the collaborative model is optional
        return None
    try:
        model = load_current_model()
    except Exception:
        return None
    return GuardedCFSource(model) if model is not None else None


def _topics(ids: Sequence[int]) -> dict[int, list[str]]:
    """The categories (slugs) and hashtags (``#name``) of each note of ``ids``, in one ``UNION ALL`` query."""
    categories = (
        NoteCategory.objects.filter(note_id__in=ids)
        .order_by()
        .values_list("note_id", "category__slug", Value(False, output_field=BooleanField()))
    )
    hashtags = (
        NoteHashtag.objects.filter(note_id__in=ids)
        .order_by()
        .values_list("note_id", "hashtag__name", Value(True, output_field=BooleanField()))
    )
    cats: dict[int, list[str]] = {pk: [] for pk in ids}
    tags: dict[int, list[str]] = {pk: [] for pk in ids}
    for note_id, name, is_tag in categories.union(hashtags, all=True):  # one query for both
        if is_tag:
            tags[note_id].append("#" + name)
        else:
            cats[note_id].append(name)
    return {pk: sorted(cats[pk]) + sorted(tags[pk]) for pk in ids}


def _static_key(note_id: int, updated_at: datetime) -> str:
    return f"distribution:meta:{note_id}:{updated_at.timestamp():.6f}"


def note_meta(ids: Sequence[int], *, visible: QuerySet[Note], now: datetime) -> dict[int, ItemMeta]:
    """What the ranker needs about the notes of ``ids`` that ``visible`` still holds: one query for the notes
    with their counters, stats and pool; what only an edit changes (the topics — categories and hashtags —
    and the publication time) from the cache by note version (``updated_at``, which an edit moves in the same
    transaction), the notes not cached in one ``UNION ALL`` query of categories and hashtags."""
    if not ids:
        return {}
    ids = list(ids)
    rows = list(
        visible.filter(pk__in=ids).values_list(
            "pk",
            "author_id",
            "like_count",
            "save_count",
            "comment_count",
            "share_count",
            "stats__signal_score",
            "stats__impression_count",
            "pool__level",
            "pool__status",
            "updated_at",
        )
    )
    keys = {row[0]: _static_key(row[0], row[10]) for row in rows}
    cached = cache.get_many(list(keys.values()))
    static: dict[int, tuple[float | None, list[str]]] = {
        pk: cached[key] for pk, key in keys.items() if key in cached
    }
    missing = [pk for pk in keys if pk not in static]
    if missing:
        topics = _topics(missing)
        published = dict(Note.objects.filter(pk__in=missing).values_list("pk", "published_at"))
        loaded = {pk: (ts.timestamp() if (ts := published.get(pk)) else None, topics[pk]) for pk in missing}
        static.update(loaded)
        cache.set_many({keys[pk]: loaded[pk] for pk in missing}, settings.MEADOW_FEED_CARD_SECONDS)
    now_ts = now.timestamp()
    out: dict[int, ItemMeta] = {}
    for pk, author, likes, saves, comments, shares, score, impressions, level, status, _v in rows:
        published_ts, topics_of = static[pk]
        age = (now_ts - published_ts) / 3600 if published_ts is not None else 0.0
        out[pk] = ItemMeta(
            author=author,
            topics=tuple(topics_of),
            quality=smoothed_quality(
                score=score or 0.0,
                impressions=impressions or 0,
                prior_mean=QUALITY_PRIOR,
                prior_impressions=QUALITY_PRIOR_IMPRESSIONS,
            ),
            popularity=math.log1p(max(likes + saves + comments + shares, 0)),
            age_hours=max(age, 0.0),
            pool_level=(level or 0) if status == NotePool.Status.ACTIVE else 0,
        )
    return out

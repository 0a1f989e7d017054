"""Candidate generation shared by the Discover feed and ``meadow recommend-offline``.

A :class:`CandidateSource` proposes items for a user with a strength in [0, 1]; :func:`generate` asks every
source, merges the proposals into :class:`~meadow.distribution.engine.ranker.Candidate` objects (one per item,
a strength per source) and fills in the item details the ranker uses. Plain Python, no Django: the feed builds
the sources from the database (helper code in ``meadow/distribution``), the offline command from TSV files.

Sources here:

- :class:`CFSource` (``"cf"``): the collaborative-filtering ensemble (:mod:`.cf`).
- :class:`FollowGraphSource` (``"follow"``): what the accounts the user follows created or engaged with;
  an item's strength is the share of the user's followees who have it, relative to the best item.
- :class:`InterestSource` (``"interest"``): items carrying the topics (categories, hashtags) the user is
  interested in; strength = the summed interest weight of the item's topics, relative to the best item, with
  popularity breaking ties.
- :class:`PopularSource` (``"popular"``): the most popular items (cold-start fallback); strength =
  popularity relative to the most popular item.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .cf import CollaborativeModel
from .ranker import Candidate

__all__ = [
    "CFSource",
    "CandidateSource",
    "FollowGraphSource",
    "InterestSource",
    "ItemMeta",
    "PopularSource",
    "generate",
]


@runtime_checkable
class CandidateSource(Protocol):
    name: str

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        """Up to ``n`` ``(item, strength in [0, 1])`` pairs, best first, none of them in ``exclude``."""
        ...


@dataclass(frozen=True, slots=True)
class ItemMeta:
    """What the ranker needs to know about an item besides who proposed it."""

    author: int | None = None
    topics: tuple[str, ...] = ()
    quality: float = 0.0
    popularity: float = 0.0
    age_hours: float = 0.0
    pool_level: int = 0


def _top_scored(scores: Mapping[int, float], n: int, tiebreak: Mapping[int, float] | None = None):
    tb = tiebreak or {}
    ordered = heapq.nsmallest(n, scores.items(), key=lambda kv: (-kv[1], -tb.get(kv[0], 0.0), kv[0]))
    if not ordered or ordered[0][1] <= 0:
        return []
    best = ordered[0][1]
    return [(item, value / best) for item, value in ordered if value > 0]


class CFSource:
    """Collaborative filtering (ALS + BM25 item-KNN ensemble)."""

    name = "cf"

    def __init__(
        self, model: CollaborativeModel, *, history: Callable[[int], Sequence[int] | None] | None = None
    ):
        self.model = model
        self.history = history

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        history = self.history(user) if self.history is not None else None
        return self.model.recommend(user, n, exclude, history=history)


class FollowGraphSource:
    """Items the user's followees created or engaged with."""

    name = "follow"

    def __init__(
        self,
        *,
        followees: Callable[[int], Iterable[int]] | Mapping[int, Iterable[int]],
        items_of: Callable[[int], Iterable[int]] | Mapping[int, Iterable[int]],
        popularity: Mapping[int, float] | None = None,
    ):
        self._followees = followees
        self._items_of = items_of
        self._popularity = popularity

    @staticmethod
    def _get(source, key: int) -> Iterable[int]:
        if callable(source):
            return source(key)
        return source.get(key, ())

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        counts: dict[int, float] = defaultdict(float)
        for followee in set(self._get(self._followees, user)):
            if followee == user:
                continue
            for item in set(self._get(self._items_of, followee)):
                if item not in exclude:
                    counts[item] += 1.0
        return _top_scored(counts, n, self._popularity)


class InterestSource:
    """Items carrying the user's interest topics."""

    name = "interest"

    def __init__(
        self,
        *,
        interests: Callable[[int], Mapping[str, float]] | Mapping[int, Mapping[str, float]],
        items_by_topic: Mapping[str, Sequence[int]],
        popularity: Mapping[int, float] | None = None,
        per_topic: int = 200,
    ):
        self._interests = interests
        self._items_by_topic = items_by_topic
        self._popularity = popularity or {}
        self._per_topic = per_topic

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        interests = self._interests(user) if callable(self._interests) else self._interests.get(user, {})
        scores: dict[int, float] = defaultdict(float)
        for topic, weight in interests.items():
            if weight <= 0:
                continue
            taken = 0
            for item in self._items_by_topic.get(topic, ()):  # most popular first
                if item in exclude:
                    continue
                scores[item] += weight
                taken += 1
                if taken >= self._per_topic:
                    break
        return _top_scored(scores, n, self._popularity)


class PopularSource:
    """The most popular items."""

    name = "popular"

    def __init__(self, popularity: Mapping[int, float]):
        self._ordered = sorted(popularity.items(), key=lambda kv: (-kv[1], kv[0]))

    def candidates(self, user: int, *, n: int, exclude: Collection[int]) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        if not self._ordered or self._ordered[0][1] <= 0:
            return out
        best = self._ordered[0][1]
        for item, value in self._ordered:
            if len(out) >= n:
                break
            if item not in exclude and value > 0:
                out.append((item, value / best))
        return out


def generate(
    user: int,
    sources: Sequence[CandidateSource],
    *,
    n_per_source: int | Mapping[str, int],
    exclude: Collection[int],
    meta: Callable[[Sequence[int]], Mapping[int, ItemMeta]] | Mapping[int, ItemMeta] | None = None,
    known_only: bool = False,
) -> list[Candidate]:
    """Ask every source for candidates, merge them per item and attach item details.

    ``n_per_source`` is one number or a number per source name (several sources may share a name: their
    strengths merge, the strongest wins); ``meta`` gives the details of items (a mapping, or a function called
    once with every proposed item). Items without details get the defaults — or, with ``known_only``, are
    dropped (the Discover feed: its ``meta`` query returns only the notes a feed may show)."""
    merged: dict[int, dict[str, float]] = {}
    for source in sources:
        n = n_per_source if isinstance(n_per_source, int) else n_per_source.get(source.name, 0)
        if n <= 0:
            continue
        for item, strength in source.candidates(user, n=n, exclude=exclude):
            if item in exclude:
                continue
            strengths = merged.setdefault(item, {})
            strengths[source.name] = max(strengths.get(source.name, 0.0), min(max(strength, 0.0), 1.0))
    items = sorted(merged)
    if meta is None:
        details: Mapping[int, ItemMeta] = {}
    elif callable(meta):
        details = meta(items)
    else:
        details = meta
    default = ItemMeta()
    out: list[Candidate] = []
    for item in items:
        d = details.get(item)
        if d is None:
            if known_only:
                continue
            d = default
        out.append(
            Candidate(
                item=item,
                sources=merged[item],
                author=d.author,
                topics=d.topics,
                quality=d.quality,
                popularity=d.popularity,
                age_hours=d.age_hours,
                pool_level=d.pool_level,
            )
        )
    return out

"""The Discover ranker: scores candidate notes for one reader and re-ranks them for author diversity.

Plain Python, no Django: the Discover feed and ``meadow recommend-offline`` call the same :func:`rank`.

Scoring formula (every weight is a :class:`RankerConfig` field)::

    score = Σ_s  w_s · strength_s                        relevance: how strongly each candidate source
                                                           (cf, follow, interest, pool, trending, location,
                                                           popular) proposes the note, strength in [0, 1]
          + w_interest · match(topics, interests)       interest match over the note's categories and hashtags
          + w_quality  · q / (q + quality_half)         note quality: signal score per impression (already
                                                           smoothed with a prior, see :func:`smoothed_quality`)
          + w_fresh    · 0.5 ** (age_hours / half_life) freshness with a half-life
          + w_pool     · min(pool_level, pool_max) / pool_max     traffic-pool level
          + w_pop      · p / (p + popularity_scale)     popularity, p = log1p(total engagement)

``match`` normalises the reader's interest weights by their largest absolute value, combines the positive ones
of the note's topics as a noisy-OR (``1 − Π(1 − wₜ)``: several matching topics count more than one, never
above 1) and subtracts the strongest negative one (topics the reader marked "not interested"), so it lies in
[−1, 1].

Then: every item in ``seen`` is dropped, duplicates are merged (strongest strength per source), candidates are
sorted by score (ties by item id, so the result is deterministic), and a greedy re-rank takes, at each position,
the best remaining candidate whose author has fewer than ``max_per_author`` cards among the previous
``window − 1`` cards (``preceding_authors`` carries the authors of the cards already shown on earlier pages so
the rule holds across page boundaries). Candidates without an author are never held back. When no remaining
candidate is allowed the list ends early rather than break the rule.

Topic diversity: in the same window, at most ``max_per_topic`` cards (half the window by default) share a main
topic (the note's categories, or its first hashtag when it has none). One like or one follow can raise a topic's
interest weight enough to fill the whole first page with it; the re-rank then takes the best candidate of another
topic instead. This rule is soft: when every remaining candidate allowed by the author rule is of a full topic, the
best of them is taken (a feed of one topic is better than an empty one).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CONFIG",
    "SOURCE_NAMES",
    "Candidate",
    "Ranked",
    "RankerConfig",
    "interest_match",
    "main_topics",
    "rank",
    "score",
    "smoothed_quality",
]

SOURCE_NAMES = ("pool", "interest", "cf", "follow", "trending", "popular", "location")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A note proposed by one or more candidate sources."""

    item: int  # note id (offline: the item id)
    sources: Mapping[str, float]  # source name → strength in [0, 1] (see SOURCE_NAMES)
    author: int | None = None
    topics: tuple[str, ...] = ()  # category slugs and hashtag names of the note
    quality: float = 0.0  # signal score per impression, ≥ 0 (0 when unknown)
    popularity: float = 0.0  # log1p(total engagement), ≥ 0
    age_hours: float = 0.0
    pool_level: int = 0  # current traffic-pool level, 0 = none


@dataclass(frozen=True, slots=True)
class Ranked:
    item: int
    score: float
    # Why the reader sees it, strongest first: ("pool", "2"), ("interest", "food"), ("follow", "<author id>"),
    # ("cf", ""), ("trending", ""), ("location", ""), ("popular", "").
    reasons: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RankerConfig:
    """Weights of the scoring formula (module docstring). Defaults are the tuned values (bench/RESULTS.md)."""

    # Relevance: weight of each candidate source's strength.
    cf_weight: float = 1.0  # collaborative filtering (ALS + item-KNN ensemble)
    follow_weight: float = 0.3  # the author is followed, or followed accounts engaged with the note
    interest_source_weight: float = 0.5  # proposed by the interest (category / hashtag) index
    pool_source_weight: float = 0.4  # the reader is in the note's current traffic pool
    trending_weight: float = 0.3  # platform-wide trending
    location_weight: float = 0.3  # nearby
    popular_weight: float = 0.1  # most popular (cold-start fallback)
    other_source_weight: float = 0.2  # any source name not listed above
    # Interest match of the note's topics with the reader's interest profile.
    interest_match_weight: float = 0.4
    # Note quality: score per impression, saturating at quality_half.
    quality_weight: float = 0.3
    quality_half: float = 0.1
    # Freshness: exponential decay with this half-life.
    freshness_weight: float = 0.2
    freshness_half_life_hours: float = 48.0
    # Traffic-pool level.
    pool_level_weight: float = 0.1
    pool_level_max: int = 6
    # Popularity (log1p of engagement), saturating at popularity_scale.
    popularity_weight: float = 0.02
    popularity_scale: float = 5.0
    # Diversity: at most max_per_author cards of one author in any window of consecutive cards.
    max_per_author: int = 2
    window: int = 20
    # Topic diversity: at most max_per_topic cards of one main topic in the same window (soft, module docstring).
    max_per_topic: int = 10
    # How many matched topics are named in the reasons.
    max_interest_reasons: int = 2

    def __post_init__(self) -> None:
        if self.max_per_author < 1 or self.window < 1 or self.max_per_topic < 1:
            raise ValueError("max_per_author, max_per_topic and window must be at least 1")
        if self.freshness_half_life_hours <= 0 or self.quality_half <= 0 or self.popularity_scale <= 0:
            raise ValueError("half-life, quality_half and popularity_scale must be positive")
        if self.pool_level_max < 1:
            raise ValueError("pool_level_max must be at least 1")

    def source_weight(self, name: str) -> float:
        return {
            "cf": self.cf_weight,
            "follow": self.follow_weight,
            "interest": self.interest_source_weight,
            "pool": self.pool_source_weight,
            "trending": self.trending_weight,
            "location": self.location_weight,
            "popular": self.popular_weight,
        }.get(name, self.other_source_weight)


DEFAULT_CONFIG = RankerConfig()


def smoothed_quality(*, score: float, impressions: int, prior_mean: float, prior_impressions: float) -> float:
    """Signal score per impression with a Bayesian prior: ``(score + m·μ) / (impressions + m)``.

    A note with few impressions is pulled toward the platform mean ``prior_mean`` (μ) as if it had
    ``prior_impressions`` (m) extra impressions at that rate; never negative."""
    denominator = max(impressions, 0) + max(prior_impressions, 0.0)
    if denominator <= 0:
        return max(prior_mean, 0.0)
    return max((score + prior_impressions * prior_mean) / denominator, 0.0)


def _normalised_interests(interests: Mapping[str, float]) -> dict[str, float]:
    top = max((abs(w) for w in interests.values() if math.isfinite(w)), default=0.0)
    if top <= 0:
        return {}
    return {t: w / top for t, w in interests.items() if math.isfinite(w) and w != 0}


def interest_match(topics: Sequence[str], interests: Mapping[str, float]) -> float:
    """Noisy-OR of the note's positive topic weights minus its strongest negative one, in [−1, 1]."""
    return _match(topics, _normalised_interests(interests))[0]


def _match(topics: Sequence[str], normalised: Mapping[str, float]) -> tuple[float, list[tuple[float, str]]]:
    miss = 1.0
    worst = 0.0
    matched: list[tuple[float, str]] = []
    for topic in topics if len(topics) == 1 else dict.fromkeys(topics):  # dedupe, keep order
        w = normalised.get(topic, 0.0)
        if w > 0:
            miss *= 1.0 - w
            matched.append((w, topic))
        elif w < worst:
            worst = w
    return (1.0 - miss) + worst, matched


def _clip01(x: float) -> float:
    """x clipped to [0, 1]; NaN counts 0."""
    if 0.0 <= x <= 1.0:
        return x
    return 1.0 if x > 1.0 else 0.0


def score(
    candidate: Candidate, *, interests: Mapping[str, float], config: RankerConfig = DEFAULT_CONFIG
) -> Ranked:
    """Score one candidate with the documented formula and explain it."""
    return _score(candidate, _normalised_interests(interests), config)


def _value(
    candidate: Candidate, normalised: Mapping[str, float], config: RankerConfig, weights: Mapping[str, float]
) -> float:
    """The score alone (the same formula as :func:`_score`, without building the reasons). Summed with
    ``math.fsum`` (exactly rounded), so the value does not depend on the order of the sources."""
    other = config.other_source_weight
    parts = [weights.get(name, other) * _clip01(strength) for name, strength in candidate.sources.items()]
    topics = candidate.topics
    if normalised and topics:
        parts.append(config.interest_match_weight * _match(topics, normalised)[0])
    quality = candidate.quality
    if quality > 0 and quality < math.inf:
        parts.append(config.quality_weight * quality / (quality + config.quality_half))
    age = candidate.age_hours
    age = age if 0.0 <= age < math.inf else 0.0
    parts.append(config.freshness_weight * 0.5 ** (age / config.freshness_half_life_hours))
    if candidate.pool_level > 0:
        parts.append(
            config.pool_level_weight
            * min(candidate.pool_level, config.pool_level_max)
            / config.pool_level_max
        )
    popularity = candidate.popularity
    if popularity > 0 and popularity < math.inf:
        parts.append(config.popularity_weight * popularity / (popularity + config.popularity_scale))
    return math.fsum(parts)


def _score(candidate: Candidate, normalised: Mapping[str, float], config: RankerConfig) -> Ranked:
    contributions: list[tuple[float, int, str, str]] = []  # (contribution, order, kind, detail)
    total = 0.0
    for order, name in enumerate(sorted(candidate.sources)):
        part = config.source_weight(name) * _clip01(candidate.sources[name])
        total += part
        if part > 0:
            detail = ""
            if name == "pool":
                detail = str(candidate.pool_level) if candidate.pool_level > 0 else ""
            elif name == "follow" and candidate.author is not None:
                detail = str(candidate.author)
            elif name == "interest":
                continue  # named through the matched topics below
            contributions.append((part, order, name, detail))

    match, matched = _match(candidate.topics, normalised) if normalised else (0.0, [])
    total += config.interest_match_weight * match
    interest_reasons: list[tuple[str, str]] = []
    if matched:
        matched.sort(key=lambda wt: (-wt[0], wt[1]))
        interest_reasons = [("interest", topic) for _, topic in matched[: config.max_interest_reasons]]
        strength = config.interest_match_weight * match + config.interest_source_weight * _clip01(
            candidate.sources.get("interest", 0.0)
        )
        contributions.append((strength, -1, "interest", ""))
    elif "interest" in candidate.sources and candidate.sources["interest"] > 0:
        contributions.append(
            (config.interest_source_weight * _clip01(candidate.sources["interest"]), -1, "interest", "")
        )

    quality = max(candidate.quality, 0.0) if math.isfinite(candidate.quality) else 0.0
    total += config.quality_weight * quality / (quality + config.quality_half)
    age = max(candidate.age_hours, 0.0) if math.isfinite(candidate.age_hours) else 0.0
    total += config.freshness_weight * 0.5 ** (age / config.freshness_half_life_hours)
    if candidate.pool_level > 0:
        total += (
            config.pool_level_weight
            * min(candidate.pool_level, config.pool_level_max)
            / config.pool_level_max
        )
    popularity = max(candidate.popularity, 0.0) if math.isfinite(candidate.popularity) else 0.0
    total += config.popularity_weight * popularity / (popularity + config.popularity_scale)

    contributions.sort(key=lambda c: (-c[0], c[1], c[2]))
    reasons: list[tuple[str, str]] = []
    for _, _, kind, detail in contributions:
        if kind == "interest":
            reasons.extend(interest_reasons or [("interest", "")])
        else:
            reasons.append((kind, detail))
    return Ranked(item=candidate.item, score=total, reasons=tuple(reasons))


def _merge(candidates: Iterable[Candidate], seen: Collection[int]) -> list[Candidate]:
    """Drop seen items and merge duplicates (strongest strength per source, other fields from the first)."""
    merged: dict[int, Candidate] = {}
    for candidate in candidates:
        if candidate.item in seen:
            continue
        previous = merged.get(candidate.item)
        if previous is None:
            merged[candidate.item] = candidate
            continue
        sources = dict(previous.sources)
        for name, strength in candidate.sources.items():
            sources[name] = max(sources.get(name, 0.0), strength)
        merged[candidate.item] = Candidate(
            item=previous.item,
            sources=sources,
            author=previous.author if previous.author is not None else candidate.author,
            topics=previous.topics or candidate.topics,
            quality=max(previous.quality, candidate.quality),
            popularity=max(previous.popularity, candidate.popularity),
            age_hours=min(previous.age_hours, candidate.age_hours),
            pool_level=max(previous.pool_level, candidate.pool_level),
        )
    return list(merged.values())


def main_topics(topics: Sequence[str]) -> tuple[str, ...]:
    """The topics a card counts for in the topic-diversity rule: its categories (topics without ``#``), or its
    first hashtag when it has no category."""
    categories = tuple(t for t in topics if not t.startswith("#"))
    return categories or tuple(topics[:1])


def rank(
    candidates: Iterable[Candidate],
    *,
    interests: Mapping[str, float],
    seen: Collection[int],
    k: int,
    config: RankerConfig = DEFAULT_CONFIG,
    preceding_authors: Sequence[int | None] = (),
    preceding_topics: Sequence[Sequence[str]] = (),
) -> list[Ranked]:
    """Score every candidate (module docstring), drop ``seen``, re-rank for diversity: at most
    ``max_per_author`` cards of one author in any ``window`` consecutive cards, and (soft) at most
    ``max_per_topic`` of one main topic. Deterministic (ties by item id). ``preceding_authors`` and
    ``preceding_topics``: authors and topics of the cards shown just before (oldest first), so the window rules
    also hold across pages."""
    if k <= 0:
        return []
    seen_set = seen if isinstance(seen, (set, frozenset, dict)) else set(seen)
    pool = _merge(candidates, seen_set)
    normalised = _normalised_interests(interests)
    weights = {name: config.source_weight(name) for name in SOURCE_NAMES}
    scored = sorted(
        ((_value(c, normalised, config, weights), c) for c in pool), key=lambda vc: (-vc[0], vc[1].item)
    )
    # Greedy diversity re-rank over the sorted list.
    recent: deque[int | None] = deque(maxlen=config.window - 1)
    counts: Counter[int] = Counter()
    recent_topics: deque[tuple[str, ...]] = deque(maxlen=config.window - 1)
    topic_counts: Counter[str] = Counter()

    def push(author: int | None) -> None:
        if config.window == 1:
            return
        if len(recent) == recent.maxlen:
            dropped = recent[0]
            if dropped is not None:
                counts[dropped] -= 1
        recent.append(author)
        if author is not None:
            counts[author] += 1

    def push_topics(topics: tuple[str, ...]) -> None:
        if config.window == 1:
            return
        if len(recent_topics) == recent_topics.maxlen:
            topic_counts.subtract(recent_topics[0])
        recent_topics.append(topics)
        topic_counts.update(topics)

    for author in list(preceding_authors)[-(config.window - 1) :] if config.window > 1 else ():
        push(author)
    for topics in list(preceding_topics)[-(config.window - 1) :] if config.window > 1 else ():
        push_topics(main_topics(topics))

    out: list[Ranked] = []
    remaining = scored
    while remaining and len(out) < k:
        pick = fallback = -1
        for index, (_, candidate) in enumerate(remaining):
            if candidate.author is None or counts[candidate.author] < config.max_per_author:
                if fallback < 0:
                    fallback = index
                if all(topic_counts[t] < config.max_per_topic for t in main_topics(candidate.topics)):
                    pick = index
                    break
        if pick < 0:
            pick = fallback  # every allowed candidate is of a full topic: the best of them (the rule is soft)
        if pick < 0:
            break
        value, candidate = remaining.pop(pick)
        explained = _score(candidate, normalised, config)
        out.append(Ranked(item=candidate.item, score=value, reasons=explained.reasons))
        push(candidate.author)
        push_topics(main_topics(candidate.topics))
    return out

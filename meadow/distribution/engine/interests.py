"""Reader interest profiles, in plain Python (no Django).

A profile is a map ``topic → weight`` where a topic is a category slug (``"food"``) or a hashtag name with a
leading ``#`` (``"#klfood"``). Weights are stored as they were at ``updated_at`` and decay exponentially with a
half-life: the value at ``now`` is ``w · 0.5 ** (elapsed / half_life)``. Learning one event first decays the
stored weights to ``now``, then adds ``signal × share`` to each of the note's topics (``share`` is the
category's score for the note, ``hashtag_share`` for each hashtag), where ``signal`` is the event's weight
from ``MEADOW_SIGNAL_WEIGHTS`` (negative for "not interested" and undos). Only the ``max_topics`` strongest
topics (by absolute weight) are kept, so a profile stays small.

Interests picked at sign-up add a constant ``picked_weight`` to their categories (they never decay, and
learned weights soon outweigh them). Following an account adds ``follow_signal`` spread over the account's
recent categories.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class InterestConfig:
    """Interest learning (``MEADOW_INTEREST_*`` settings, docs/operations.md)."""

    half_life_days: float = 30.0
    max_topics: int = 200
    picked_weight: float = 3.0
    hashtag_share: float = 0.5
    read_signal: float = 0.5  # opening a note counts this much (reads weigh 0 in the note's score)
    follow_signal: float = 4.0
    epsilon: float = 1e-3  # weights this small are dropped

    def __post_init__(self) -> None:
        if self.half_life_days <= 0 or self.max_topics < 1:
            raise ValueError("half_life_days must be positive and max_topics at least 1")


DEFAULT_INTEREST_CONFIG = InterestConfig()


def decay_factor(*, elapsed_seconds: float, config: InterestConfig = DEFAULT_INTEREST_CONFIG) -> float:
    if elapsed_seconds <= 0:
        return 1.0
    return 0.5 ** (elapsed_seconds / (config.half_life_days * 86400.0))


def decayed(
    weights: Mapping[str, float], *, elapsed_seconds: float, config: InterestConfig = DEFAULT_INTEREST_CONFIG
) -> dict[str, float]:
    factor = decay_factor(elapsed_seconds=elapsed_seconds, config=config)
    return {
        t: w * factor for t, w in weights.items() if math.isfinite(w) and abs(w * factor) >= config.epsilon
    }


def _prune(weights: dict[str, float], config: InterestConfig) -> dict[str, float]:
    kept = {t: round(w, 6) for t, w in weights.items() if abs(w) >= config.epsilon}
    if len(kept) <= config.max_topics:
        return kept
    strongest = sorted(kept.items(), key=lambda tw: (-abs(tw[1]), tw[0]))[: config.max_topics]
    return dict(strongest)


def note_topics(
    *, categories: Iterable[tuple[str, float]], hashtags: Iterable[str], config: InterestConfig
) -> dict[str, float]:
    """A note's topics with their shares: its categories (share = category score, at most 1) and hashtags."""
    topics: dict[str, float] = {}
    for slug, score in categories:
        topics[slug] = max(topics.get(slug, 0.0), min(max(score, 0.0), 1.0))
    for name in hashtags:
        topics["#" + name] = config.hashtag_share
    return topics


def learn(
    weights: Mapping[str, float],
    *,
    elapsed_seconds: float,
    topics: Mapping[str, float],
    signal: float,
    config: InterestConfig = DEFAULT_INTEREST_CONFIG,
) -> dict[str, float]:
    """The profile after one event: decay to now, then add ``signal × share`` to each topic."""
    out = decayed(weights, elapsed_seconds=elapsed_seconds, config=config)
    if signal and math.isfinite(signal):
        for topic, share in topics.items():
            out[topic] = out.get(topic, 0.0) + signal * share
    return _prune(out, config)


def effective(
    weights: Mapping[str, float],
    *,
    elapsed_seconds: float,
    picked: Iterable[str] = (),
    config: InterestConfig = DEFAULT_INTEREST_CONFIG,
) -> dict[str, float]:
    """The interests the ranker uses at ``now``: decayed learned weights plus the picked categories."""
    out = decayed(weights, elapsed_seconds=elapsed_seconds, config=config)
    for slug in picked:
        out[slug] = out.get(slug, 0.0) + config.picked_weight
    return out


def top_topics(weights: Mapping[str, float], *, n: int, categories: bool | None = None) -> list[str]:
    """The ``n`` strongest positive topics (``categories``: True = only categories, False = only hashtags)."""
    chosen = [
        (t, w)
        for t, w in weights.items()
        if w > 0 and (categories is None or (not t.startswith("#")) == categories)
    ]
    chosen.sort(key=lambda tw: (-tw[1], tw[0]))
    return [t for t, _w in chosen[:n]]

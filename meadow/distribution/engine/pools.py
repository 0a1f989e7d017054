"""Traffic pools (流量池): the rules, in plain Python (no Django).

A new public note enters pool 1. Each pool level has a size range of impressions ``(min, max)``. The note is
evaluated when it has had ``min`` impressions in its current level or when the evaluation window has passed,
whichever comes first, on the numbers of *this level* (impressions, reads, interactions, completions and signal
score gained since it entered the level):

- click-through rate ``ctr = reads / impressions``                     ≥ ``min_ctr`` (8 %)
- interaction rate ``(likes + saves + comments + shares) / impressions`` ≥ ``min_interaction_rate`` (5 %)
- video completion ``completions / reads`` (video notes only)            ≥ ``min_completion_rate`` (45 %)
- signal score per impression ``score / impressions``                  ≥ ``min_score_per_impression``

All gates pass → **promote** to the next level (at the top level it **holds** there: platform-wide trending).
A gate is missed by more than half (below ``stop_fraction`` × its threshold) or the note already held
``max_holds`` times → **stop**. Otherwise → **hold**: another window at the same level. Too few impressions
when the window ends (fewer than ``min_sample_fraction`` × the level's minimum) → hold, then stop after
``max_holds``.

Scaling with the size of the deployment: the default ladder (200–500, 3k–5k, 10k–20k, 100k–200k, 1M–3M,
5M+ impressions) fits a platform with tens of millions of readers. With ``N`` active readers, when
``top_share · N`` is below the top level's minimum ``T``, every size ``s`` becomes ``max(1, round(s ** α))`` with
``α = ln(max(top_share · N, e)) / ln(T)``: sizes shrink in log space, so the ladder keeps its shape (each level
still larger than the one before) and the top level is ``top_share`` of the readers. With 50 readers the ladder
is about 3, 5, 7, 11, 18, 25 impressions; with 10,000 readers about 19, 83, 160, 570, 2,000, 5,000.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["enter", "promote", "hold", "stop", "exclude", "demote"]

DEFAULT_LADDER: tuple[tuple[int, int], ...] = (
    (200, 500),
    (3_000, 5_000),
    (10_000, 20_000),
    (100_000, 200_000),
    (1_000_000, 3_000_000),
    (5_000_000, 10_000_000),
)


@dataclass(frozen=True)
class PoolConfig:
    """Every size and threshold of the pool rules (``MEADOW_POOL_*`` settings, docs/operations.md)."""

    ladder: tuple[tuple[int, int], ...] = DEFAULT_LADDER
    window_hours: float = 6.0  # evaluate at the latest this long after entering a level (or the last hold)
    min_ctr: float = 0.08
    min_interaction_rate: float = 0.05
    min_completion_rate: float = 0.45
    min_score_per_impression: float = 0.1
    stop_fraction: float = 0.5  # a gate missed below this fraction of its threshold stops the note
    max_holds: int = 2  # holds at one level before the note stops
    min_sample_fraction: float = 0.25  # fewer impressions than this × the level's minimum: not enough data
    top_share: float = 0.5  # the top level reaches this share of the active readers (small deployments)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ladder:
            raise ValueError("the pool ladder needs at least one level")
        previous = 0
        for low, high in self.ladder:
            if low < 1 or high < low or low < previous:
                raise ValueError("pool sizes must be positive, (min, max) with max ≥ min, and growing")
            previous = low
        if self.window_hours <= 0 or self.max_holds < 0 or not 0 < self.stop_fraction <= 1:
            raise ValueError("window_hours > 0, max_holds ≥ 0 and 0 < stop_fraction ≤ 1 are required")

    @property
    def top_level(self) -> int:
        return len(self.ladder)


def scale_exponent(*, active_readers: int, config: PoolConfig) -> float:
    """α of the module docstring: 1 on a platform large enough for the unscaled ladder."""
    top = config.ladder[-1][0]
    reach = config.top_share * max(active_readers, 0)
    if reach >= top:
        return 1.0
    return math.log(max(reach, math.e)) / math.log(top)


def scaled_ladder(*, active_readers: int, config: PoolConfig) -> tuple[tuple[int, int], ...]:
    """The ladder for a deployment with ``active_readers`` readers (module docstring)."""
    alpha = scale_exponent(active_readers=active_readers, config=config)
    if alpha >= 1.0:
        return config.ladder
    out: list[tuple[int, int]] = []
    for low, high in config.ladder:
        a = max(1, round(low**alpha))
        b = max(a, round(high**alpha))
        out.append((a, b))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LevelStats:
    """What happened to a note since it entered its current level."""

    impressions: int
    reads: int = 0
    interactions: int = 0  # likes + saves + comments + shares
    score: float = 0.0  # signal score gained
    completions: int | None = None  # video notes only

    @property
    def ctr(self) -> float:
        return self.reads / self.impressions if self.impressions > 0 else 0.0

    @property
    def interaction_rate(self) -> float:
        return self.interactions / self.impressions if self.impressions > 0 else 0.0

    @property
    def score_per_impression(self) -> float:
        return self.score / self.impressions if self.impressions > 0 else 0.0

    @property
    def completion_rate(self) -> float | None:
        if self.completions is None:
            return None
        return min(self.completions / self.reads, 1.0) if self.reads > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    to_level: int | None
    reason: str  # a short machine-readable reason: "gates", "weak:ctr", "holds", "sample", …


def is_due(*, level: int, stats: LevelStats, sizes: Sequence[tuple[int, int]], window_elapsed: bool) -> bool:
    """Whether a note at ``level`` should be evaluated now."""
    return window_elapsed or stats.impressions >= sizes[level - 1][0]


def evaluate(
    *,
    level: int,
    stats: LevelStats,
    sizes: Sequence[tuple[int, int]],
    holds: int,
    window_elapsed: bool,
    config: PoolConfig,
) -> Decision | None:
    """Promote, hold or stop a note at ``level`` (1-based); ``None`` when it is not due yet."""
    if not 1 <= level <= len(sizes):
        raise ValueError("level out of range")
    if not is_due(level=level, stats=stats, sizes=sizes, window_elapsed=window_elapsed):
        return None
    minimum = sizes[level - 1][0]
    if stats.impressions < max(1, math.ceil(config.min_sample_fraction * minimum)):
        if holds >= config.max_holds:
            return Decision("stop", None, "sample")
        return Decision("hold", level, "sample")
    gates = {
        "ctr": (stats.ctr, config.min_ctr),
        "interaction": (stats.interaction_rate, config.min_interaction_rate),
        "score": (stats.score_per_impression, config.min_score_per_impression),
    }
    completion = stats.completion_rate
    if completion is not None:
        gates["completion"] = (completion, config.min_completion_rate)
    missed = [name for name, (value, threshold) in gates.items() if value < threshold]
    if not missed:
        if level < len(sizes):
            return Decision("promote", level + 1, "gates")
        return Decision("hold", level, "top")
    weak = [name for name in missed if gates[name][0] < config.stop_fraction * gates[name][1]]
    if weak:
        return Decision("stop", None, "weak:" + ",".join(weak))
    if holds >= config.max_holds:
        return Decision("stop", None, "holds")
    return Decision("hold", level, "missed:" + ",".join(missed))

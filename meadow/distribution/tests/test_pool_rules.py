"""The traffic-pool rules (engine/pools.py) and interest learning (engine/interests.py): plain Python."""

from __future__ import annotations

import pytest

from meadow.distribution.engine import interests
from meadow.distribution.engine.pools import (
    DEFAULT_LADDER,
    LevelStats,
    PoolConfig,
    evaluate,
    scaled_ladder,
)

CONFIG = PoolConfig()


def test_the_ladder_is_unscaled_on_a_large_platform():
    assert scaled_ladder(active_readers=50_000_000, config=CONFIG) == DEFAULT_LADDER


@pytest.mark.parametrize("readers", [5, 50, 500, 10_000, 1_000_000])
def test_a_small_platform_gets_a_smaller_growing_ladder(readers):
    sizes = scaled_ladder(active_readers=readers, config=CONFIG)
    assert len(sizes) == len(DEFAULT_LADDER)
    lows = [low for low, _high in sizes]
    assert lows == sorted(lows) and lows[0] >= 1
    assert all(high >= low for low, high in sizes)
    assert all(s <= d for (s, _), (d, _) in zip(sizes, DEFAULT_LADDER, strict=True))
    # the top level is about top_share of the readers
    assert lows[-1] <= max(3, CONFIG.top_share * readers * 1.05)


def test_fifty_readers_ladder_is_small_enough_to_climb():
    lows = [low for low, _ in scaled_ladder(active_readers=50, config=CONFIG)]
    assert lows == [3, 5, 7, 11, 18, 25]


def _stats(impressions, *, ctr=0.2, interaction=0.1, spi=0.3, completion=None):
    reads = round(impressions * ctr)
    return LevelStats(
        impressions=impressions,
        reads=reads,
        interactions=round(impressions * interaction),
        score=impressions * spi,
        completions=None if completion is None else round(reads * completion),
    )


SIZES = ((10, 20), (30, 50), (100, 200))


def test_not_due_before_the_minimum_or_the_window():
    assert (
        evaluate(level=1, stats=_stats(9), sizes=SIZES, holds=0, window_elapsed=False, config=CONFIG) is None
    )


def test_strong_engagement_is_promoted_and_the_top_holds():
    d = evaluate(level=1, stats=_stats(10), sizes=SIZES, holds=0, window_elapsed=False, config=CONFIG)
    assert (d.outcome, d.to_level) == ("promote", 2)
    top = evaluate(level=3, stats=_stats(100), sizes=SIZES, holds=5, window_elapsed=False, config=CONFIG)
    assert (top.outcome, top.to_level, top.reason) == ("hold", 3, "top")


@pytest.mark.parametrize(
    "kwargs, missed",
    [
        ({"ctr": 0.07}, "ctr"),
        ({"interaction": 0.04}, "interaction"),
        ({"spi": 0.09}, "score"),
        ({"completion": 0.40}, "completion"),
    ],
)
def test_each_gate_just_missed_holds_then_stops(kwargs, missed):
    stats = _stats(100, **kwargs)
    held = evaluate(level=1, stats=stats, sizes=SIZES, holds=0, window_elapsed=True, config=CONFIG)
    assert held.outcome == "hold" and missed in held.reason and held.to_level == 1
    stopped = evaluate(
        level=1, stats=stats, sizes=SIZES, holds=CONFIG.max_holds, window_elapsed=True, config=CONFIG
    )
    assert stopped.outcome == "stop"


def test_gates_at_exactly_the_thresholds_promote():
    stats = LevelStats(
        impressions=100, reads=8, interactions=5, score=10.0, completions=4
    )  # 8 %, 5 %, 0.1, 50 %
    d = evaluate(level=1, stats=stats, sizes=SIZES, holds=0, window_elapsed=False, config=CONFIG)
    assert d.outcome == "promote"


def test_a_weak_note_stops_at_once():
    d = evaluate(level=1, stats=_stats(20, ctr=0.02, interaction=0.0, spi=0.0), sizes=SIZES, holds=0,
                 window_elapsed=False, config=CONFIG)  # fmt: skip
    assert d.outcome == "stop" and d.reason.startswith("weak")


def test_too_few_impressions_when_the_window_ends_holds_then_stops():
    d = evaluate(level=2, stats=_stats(2), sizes=SIZES, holds=0, window_elapsed=True, config=CONFIG)
    assert (d.outcome, d.reason) == ("hold", "sample")
    d = evaluate(level=2, stats=_stats(2), sizes=SIZES, holds=2, window_elapsed=True, config=CONFIG)
    assert (d.outcome, d.reason) == ("stop", "sample")


def test_config_is_validated():
    with pytest.raises(ValueError):
        PoolConfig(ladder=((10, 5),))
    with pytest.raises(ValueError):
        PoolConfig(ladder=((100, 200), (50, 60)))


# --- interests ------------------------------------------------------------------------------------------------------
CFG = interests.InterestConfig(half_life_days=10, max_topics=3)


def test_learning_adds_signal_times_share_and_negative_feedback_subtracts():
    w = interests.learn({}, elapsed_seconds=0, topics={"food": 1.0, "#klfood": 0.5}, signal=4, config=CFG)
    assert w == {"food": 4.0, "#klfood": 2.0}
    w = interests.learn(w, elapsed_seconds=0, topics={"food": 1.0}, signal=-4, config=CFG)
    assert "food" not in w and w["#klfood"] == 2.0


def test_weights_decay_with_the_half_life():
    w = interests.learn(
        {"food": 8.0}, elapsed_seconds=10 * 86400, topics={"travel": 1.0}, signal=1, config=CFG
    )
    assert w["food"] == pytest.approx(4.0) and w["travel"] == 1.0
    eff = interests.effective({"food": 8.0}, elapsed_seconds=20 * 86400, picked=["beauty"], config=CFG)
    assert eff["food"] == pytest.approx(2.0) and eff["beauty"] == CFG.picked_weight


def test_a_profile_keeps_only_its_strongest_topics():
    w = {"a": 5.0, "b": -6.0, "c": 1.0}
    w = interests.learn(w, elapsed_seconds=0, topics={"d": 1.0}, signal=2, config=CFG)
    assert set(w) == {"a", "b", "d"}
    assert interests.top_topics(w, n=5) == ["a", "d"]
    assert interests.top_topics({"food": 1, "#x": 2}, n=5, categories=True) == ["food"]

"""Unit tests of the pure Discover ranker (no database)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from meadow.distribution.engine.ranker import (
    DEFAULT_CONFIG,
    Candidate,
    RankerConfig,
    interest_match,
    rank,
    score,
    smoothed_quality,
)


def c(item: int, author: int | None = None, **kw) -> Candidate:
    sources = kw.pop("sources", {"cf": 0.5})
    return Candidate(item=item, sources=sources, author=author, **kw)


def test_stronger_source_ranks_first_and_ties_break_by_item_id():
    ranked = rank(
        [c(3, sources={"cf": 0.2}), c(2, sources={"cf": 0.9}), c(1, sources={"cf": 0.2})],
        interests={},
        seen=(),
        k=10,
    )
    assert [r.item for r in ranked] == [2, 1, 3]


def test_seen_items_are_dropped_and_k_is_respected():
    ranked = rank([c(i, sources={"cf": i / 10}) for i in range(1, 10)], interests={}, seen={9, 8, 1}, k=3)
    assert [r.item for r in ranked] == [7, 6, 5]
    assert rank([c(1)], interests={}, seen=[], k=0) == []


def test_duplicates_are_merged_with_the_strongest_strength_per_source():
    ranked = rank(
        [c(1, sources={"cf": 0.1}), c(2, sources={"cf": 0.5}), c(1, sources={"cf": 0.3, "follow": 1.0})],
        interests={},
        seen=(),
        k=10,
    )
    assert [r.item for r in ranked] == [1, 2]
    expected = score(c(1, sources={"cf": 0.3, "follow": 1.0}), interests={}).score
    assert ranked[0].score == pytest.approx(expected)


def test_interest_match_noisy_or_and_negative_interests():
    interests = {"food": 2.0, "travel": 1.0, "cars": -2.0}
    assert interest_match(("food",), interests) == pytest.approx(1.0)
    assert interest_match(("travel",), interests) == pytest.approx(0.5)
    assert interest_match(("travel", "travel"), interests) == pytest.approx(0.5)
    assert interest_match(("travel", "food"), interests) == pytest.approx(1.0)
    assert interest_match(("travel", "cars"), interests) == pytest.approx(-0.5)
    assert interest_match(("other",), interests) == 0
    assert interest_match(("food",), {}) == 0


def test_interest_match_lifts_a_note_and_is_named_in_reasons():
    a = c(1, topics=("food", "kl"), sources={"cf": 0.3})
    b = c(2, topics=("cars",), sources={"cf": 0.3})
    ranked = rank([a, b], interests={"food": 1.0, "kl": 0.5, "cars": -1.0}, seen=(), k=2)
    assert [r.item for r in ranked] == [1, 2]
    assert ranked[0].reasons[0] == ("interest", "food")
    assert ("interest", "kl") in ranked[0].reasons
    assert all(kind != "interest" for kind, _ in ranked[1].reasons)


def test_reasons_name_pool_level_and_followed_author():
    r = score(c(5, author=42, sources={"pool": 1.0, "follow": 0.2}, pool_level=3), interests={})
    assert r.reasons == (("pool", "3"), ("follow", "42"))
    r = score(c(6, sources={"cf": 0.8, "trending": 0.1}), interests={})
    assert r.reasons == (("cf", ""), ("trending", ""))


def test_quality_freshness_pool_and_popularity_each_raise_the_score():
    base = score(c(1), interests={}).score
    assert score(c(1, quality=0.2), interests={}).score > base
    assert score(c(1, pool_level=2), interests={}).score > base
    assert score(c(1, popularity=3.0), interests={}).score > base
    fresh = score(c(1, age_hours=0), interests={}).score
    day = score(c(1, age_hours=48), interests={}).score
    week = score(c(1, age_hours=24 * 7), interests={}).score
    assert fresh > day > week
    assert fresh - day == pytest.approx(DEFAULT_CONFIG.freshness_weight / 2)


def test_strengths_are_clipped_and_nan_is_harmless():
    big = score(c(1, sources={"cf": 7.0}), interests={}).score
    one = score(c(1, sources={"cf": 1.0}), interests={}).score
    assert big == pytest.approx(one)
    nan = score(c(1, sources={"cf": float("nan")}, quality=float("nan")), interests={"x": float("nan")})
    assert nan.score == pytest.approx(score(c(1, sources={"cf": 0.0}), interests={}).score)


def test_smoothed_quality_pulls_small_samples_to_the_prior():
    assert smoothed_quality(score=5, impressions=5, prior_mean=0.05, prior_impressions=100) == pytest.approx(
        10 / 105
    )
    assert smoothed_quality(score=0, impressions=0, prior_mean=0.05, prior_impressions=100) == pytest.approx(
        0.05
    )
    assert smoothed_quality(score=-10, impressions=1, prior_mean=0.0, prior_impressions=1) == 0.0


def _window_ok(authors: list[int | None], max_per_author: int, window: int) -> bool:
    for start in range(max(1, len(authors) - window + 1)):
        counts = Counter(a for a in authors[start : start + window] if a is not None)
        if counts and max(counts.values()) > max_per_author:
            return False
    return True


def test_diversity_at_most_two_per_author_in_any_20_cards():
    rng = random.Random(7)
    candidates = [
        c(i, author=rng.choice([*range(1, 30), None]), sources={"cf": rng.random()}) for i in range(300)
    ]
    # One dominant author with the best scores.
    candidates += [c(1000 + i, author=99, sources={"cf": 1.0}) for i in range(30)]
    ranked = rank(candidates, interests={}, seen=(), k=120)
    by_item = {x.item: x.author for x in candidates}
    authors = [by_item[r.item] for r in ranked]
    assert len(ranked) == 120
    assert _window_ok(authors, 2, 20)
    assert authors[:2] == [99, 99]  # the best two still come first
    assert authors[2] != 99


def test_diversity_ends_early_instead_of_breaking_the_rule():
    ranked = rank([c(i, author=1) for i in range(10)], interests={}, seen=(), k=10)
    assert [r.item for r in ranked] == [0, 1]


def test_diversity_window_continues_across_pages():
    ranked = rank(
        [c(1, author=7, sources={"cf": 1.0}), c(2, author=8, sources={"cf": 0.1})],
        interests={},
        seen=(),
        k=2,
        preceding_authors=[7, 3, 7],
    )
    assert [r.item for r in ranked] == [2]
    ranked = rank(
        [c(1, author=7, sources={"cf": 1.0}), c(2, author=8, sources={"cf": 0.1})],
        interests={},
        seen=(),
        k=2,
        preceding_authors=[7, 7] + [3] * 18,  # the two 7s are out of the 20-card window now
    )
    assert [r.item for r in ranked] == [1, 2]


def test_custom_config_changes_the_limits():
    config = RankerConfig(max_per_author=1, window=3)
    ranked = rank([c(i, author=i % 3) for i in range(7)], interests={}, seen=(), k=7, config=config)
    assert [r.item % 3 for r in ranked] == [0, 1, 2, 0, 1, 2, 0]
    ranked = rank([c(i, author=i % 2) for i in range(6)], interests={}, seen=(), k=6, config=config)
    assert [r.item for r in ranked] == [0, 1]  # a third card would repeat an author within 3
    with pytest.raises(ValueError):
        RankerConfig(max_per_author=0)


def test_rank_is_deterministic_under_input_order():
    rng = random.Random(1)
    candidates = [
        c(i, author=rng.randrange(10), sources={"cf": round(rng.random(), 1)}, topics=("a",))
        for i in range(200)
    ]
    first = rank(candidates, interests={"a": 1}, seen={3, 4}, k=50)
    shuffled = candidates[:]
    rng.shuffle(shuffled)
    assert rank(shuffled, interests={"a": 1}, seen={3, 4}, k=50) == first


def test_rank_scores_equal_the_documented_formula():
    rng = random.Random(4)
    names = ["cf", "follow", "interest", "pool", "trending", "location", "popular", "other"]
    candidates = [
        Candidate(
            item=i,
            sources={n: rng.random() for n in rng.sample(names, rng.randint(1, 4))},
            author=rng.randrange(50),
            topics=tuple(rng.sample(["a", "b", "c", "d"], rng.randint(0, 2))),
            quality=rng.random() * 0.3,
            popularity=rng.random() * 8,
            age_hours=rng.random() * 200,
            pool_level=rng.randrange(7),
        )
        for i in range(100)
    ]
    interests = {"a": 3.0, "b": 1.0, "c": -2.0}
    for r in rank(candidates, interests=interests, seen=(), k=100):
        expected = score(candidates[r.item], interests=interests)
        assert r.score == pytest.approx(expected.score)
        assert r.reasons == expected.reasons
    manual = candidates[0]
    weights = DEFAULT_CONFIG
    total = sum(weights.source_weight(n) * v for n, v in manual.sources.items())
    total += weights.interest_match_weight * interest_match(manual.topics, interests)
    total += weights.quality_weight * manual.quality / (manual.quality + weights.quality_half)
    total += weights.freshness_weight * 0.5 ** (manual.age_hours / weights.freshness_half_life_hours)
    total += weights.pool_level_weight * min(manual.pool_level, 6) / 6
    total += weights.popularity_weight * manual.popularity / (manual.popularity + weights.popularity_scale)
    assert score(manual, interests=interests).score == pytest.approx(total)


# --- topic diversity ----------------------------------------------------------------------------------------------
def _one_like_feed() -> list[Candidate]:
    """A reader who liked one cat note: every pets note matches their interests and outscores the rest."""
    pets = [c(i, author=i, topics=("pets", "#cats")) for i in range(1, 31)]
    others = [
        c(100 + i, author=100 + i, topics=(topic,), sources={"cf": 0.3})
        for i, topic in enumerate(["food", "travel", "beauty", "fitness", "home", "tech"] * 5)
    ]
    return pets + others


def test_one_topic_fills_at_most_half_of_the_first_twenty():
    ranked = rank(_one_like_feed(), interests={"pets": 1.0, "#cats": 1.0}, seen=(), k=20)
    tops = Counter(t for r in ranked for t in ("pets",) if r.item < 100)
    assert len(ranked) == 20
    assert tops["pets"] == DEFAULT_CONFIG.max_per_topic == 10
    assert [r.item for r in ranked][:10] == list(range(1, 11))  # the best of the topic still come first
    # Without the rule the same candidates give a page of cat notes only.
    loose = RankerConfig(max_per_topic=20)
    assert all(
        r.item < 100 for r in rank(_one_like_feed(), interests={"pets": 1.0}, seen=(), k=20, config=loose)
    )


def test_topic_rule_holds_in_every_window_and_across_pages():
    ranked = rank(_one_like_feed(), interests={"pets": 1.0}, seen=(), k=40)
    topics = ["pets" if r.item < 100 else "other" for r in ranked]
    for start in range(len(topics) - 19):
        assert topics[start : start + 20].count("pets") <= 10
    before = [("pets",)] * 10 + [("food",)] * 9
    ranked = rank(_one_like_feed(), interests={"pets": 1.0}, seen=(), k=10, preceding_topics=before)
    assert (
        ranked[0].item >= 100
    )  # ten pets cards are already in the window: the page goes on with another topic
    joined = ["pets"] * 10 + ["food"] * 9 + ["pets" if r.item < 100 else "other" for r in ranked]
    for start in range(len(joined) - 19):
        assert joined[start : start + 20].count("pets") <= 10


def test_topic_rule_is_soft_when_nothing_else_is_left():
    ranked = rank([c(i, author=i, topics=("pets",)) for i in range(30)], interests={}, seen=(), k=20)
    assert len(ranked) == 20  # a feed of one topic rather than an empty one


def test_main_topics_are_categories_else_the_first_hashtag():
    from meadow.distribution.engine.ranker import main_topics

    assert main_topics(("food", "travel", "#kl", "#cafe")) == ("food", "travel")
    assert main_topics(("#kl", "#cafe")) == ("#kl",)
    assert main_topics(()) == ()
    with pytest.raises(ValueError):
        RankerConfig(max_per_topic=0)

"""Unit tests of the pure CF ensemble, candidate sources and the offline pipeline (no database)."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from meadow.distribution.engine.candidates import (
    CFSource,
    FollowGraphSource,
    InterestSource,
    ItemMeta,
    PopularSource,
    generate,
)
from meadow.distribution.engine.cf import CFConfig, CollaborativeModel
from meadow.distribution.engine.offline import OfflineConfig, recommend_offline
from meadow.distribution.engine.ranker import rank

SMALL = CFConfig(als_factors=8, als_iterations=5, knn_k=20)


def two_groups(seed: int = 3) -> list[tuple[int, int, float]]:
    """Users 0–29 like items 100–119, users 30–59 like items 200–219 (each a random 60 %)."""
    rng = random.Random(seed)
    rows = []
    for user in range(60):
        base = 100 if user < 30 else 200
        for item in range(base, base + 20):
            if rng.random() < 0.6:
                rows.append((user, item, 1.0))
    return rows


@pytest.fixture(scope="module")
def model() -> CollaborativeModel:
    return CollaborativeModel.fit(two_groups(), config=SMALL)


def test_recommends_the_users_group_unseen_and_normalised(model):
    history = set(model.user_history(0))
    recs = model.recommend(0, 5)
    assert len(recs) == 5
    assert all(100 <= item < 120 for item, _ in recs)
    assert not history & {item for item, _ in recs}
    assert recs[0][1] == pytest.approx(1.0)
    assert all(0 < s <= 1 for _, s in recs)
    assert [s for _, s in recs] == sorted((s for _, s in recs), reverse=True)
    excluded = model.recommend(0, 5, exclude={recs[0][0]})
    assert recs[0][0] not in {item for item, _ in excluded}


def test_unknown_user_gets_nothing_unless_a_history_is_given(model):
    assert model.recommend(999, 5) == []
    recs = model.recommend(999, 5, history=[200, 201, 202])
    assert recs and all(200 <= item < 220 for item, _ in recs)
    assert not {200, 201, 202} & {item for item, _ in recs}


def test_serialisation_round_trip_is_exact_and_refuses_pickles(model):
    data = model.to_bytes()
    again = CollaborativeModel.from_bytes(data)
    assert again.config == model.config
    for user in (0, 31, 59):
        assert again.recommend(user, 10) == model.recommend(user, 10)
    buffer = io.BytesIO()
    np.savez(buffer, format_version=np.array([1]), users=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        CollaborativeModel.from_bytes(buffer.getvalue())


def test_fit_ignores_non_positive_rows_and_handles_empty_input():
    model = CollaborativeModel.fit([(1, 10, 1.0), (1, 11, -4.0), (2, 10, 0.0)], config=SMALL)
    assert model.user_history(1) == [10]
    assert not model.knows_user(2)
    empty = CollaborativeModel.fit([], config=SMALL)
    assert empty.recommend(1, 5) == []
    assert CollaborativeModel.from_bytes(empty.to_bytes()).recommend(1, 5) == []


def test_sources_and_generate_merge_per_item():
    model = CollaborativeModel.fit(two_groups(), config=SMALL)
    follow = FollowGraphSource(followees={0: [1, 2]}, items_of={1: [5, 6], 2: [6]})
    assert follow.candidates(0, n=5, exclude=set()) == [(6, 1.0), (5, 0.5)]
    assert follow.candidates(0, n=5, exclude={6}) == [(5, 1.0)]
    interest = InterestSource(
        interests={0: {"food": 2.0, "cars": -1.0}}, items_by_topic={"food": [7, 8], "cars": [9]}
    )
    assert [i for i, _ in interest.candidates(0, n=5, exclude=set())] == [7, 8]
    popular = PopularSource({7: 10.0, 8: 5.0, 9: 0.0})
    assert popular.candidates(0, n=5, exclude={7}) == [(8, 0.5)]
    seen = set(model.user_history(0))
    candidates = generate(
        0,
        [CFSource(model), follow, interest, popular],
        n_per_source={"cf": 5, "follow": 5, "interest": 5, "popular": 5},
        exclude=seen,
        meta={7: ItemMeta(author=3, topics=("food",))},
    )
    by_item = {c.item: c for c in candidates}
    assert set(by_item[7].sources) == {"interest", "popular"}
    assert by_item[7].author == 3 and by_item[7].topics == ("food",)
    assert by_item[6].sources == {"follow": 1.0}
    assert not seen & set(by_item)
    ranked = rank(candidates, interests={"food": 1.0}, seen=seen, k=20)
    assert {r.item for r in ranked} == set(by_item)


def test_offline_pipeline_recommends_unseen_items_of_the_users_group():
    rows = [(f"u{u}", f"i{i}", w) for u, i, w in two_groups()]
    rows.append(("u0", "i219", -1.0))  # negative feedback: never recommended, not a positive
    config = OfflineConfig(cf=SMALL, tune_users=20)
    results = dict(
        recommend_offline(rows, follows=[("u0", "u1")], item_tags=[("i100", "a")], k=5, config=config)
    )
    assert len(results["u0"]) == 5
    seen0 = {i for u, i, _ in rows if u == "u0"}
    assert not seen0 & set(results["u0"])
    assert all(100 <= int(i[1:]) < 120 for i in results["u0"])
    assert all(200 <= int(i[1:]) < 220 for i in results["u45"])
    again = dict(
        recommend_offline(rows, follows=[("u0", "u1")], item_tags=[("i100", "a")], k=5, config=config)
    )
    assert again == results  # deterministic


def test_self_tuning_gives_popularity_weight_when_popularity_predicts():
    """Every user picks items by a steep popularity law and nothing else: the tuner must raise the popular
    weight above the default; with a follow graph that is pure noise it must not raise the follow weight."""
    from meadow.distribution.engine.offline import tune_ranker

    rng = np.random.default_rng(4)
    weights = 1.0 / np.arange(1, 201) ** 1.2
    weights /= weights.sum()
    positives = {u: {int(i) for i in rng.choice(200, size=12, replace=False, p=weights)} for u in range(150)}
    followees = {u: {int(v) for v in rng.choice(150, size=3)} for u in range(150)}
    config = OfflineConfig(cf=SMALL, tune_users=150)
    tuned = tune_ranker(positives, followees=followees, tags_of={}, k=10, config=config)
    assert tuned.popular_weight > config.ranker.popular_weight
    assert tuned.follow_weight <= config.ranker.follow_weight
    assert tuned.max_per_author == config.ranker.max_per_author  # only the source weights move

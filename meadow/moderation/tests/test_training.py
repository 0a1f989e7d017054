"""Training the learned layer (meadow/moderation/training.py): fit on rows, thresholds within the budget."""

from __future__ import annotations

import numpy as np

from meadow.moderation.engine import Engine, Lexicon
from meadow.moderation.engine.learned import Model, model_version
from meadow.moderation.training import choose, fit, train

POS = ["转发抽奖抽奖送礼物", "关注抽奖抽奖，三位", "点赞抽奖抽奖啦"]
CLEAN = ["今天天气很好", "抽奖规则说明：今天在槟城吃了一碗炒粿条，味道很不错，环境也挺舒服的", "周末去逛街"]


def _rows(texts, labels):
    return [{"text": t, "field": "note", "account": "personal", "labels": labels} for t in texts]


def _toy() -> Model:
    from meadow.moderation.engine.learned import features, prepare

    rows = np.unique(features(prepare("抽奖"))[0])
    return Model(
        categories=("inducement",),
        rows=rows,
        weights=np.full((len(rows), 1), 12.0, dtype=np.float16),
        bias=np.array([-4.0]),
        thresholds=np.array([1.01]),
    )


def test_thresholds_stay_within_the_false_positive_budget():
    rows = _rows(POS, ["inducement"]) + _rows(CLEAN, [])
    base = Engine(Lexicon(()))
    t, fig = choose(_toy(), rows, base=base, fp_budget=0.0)
    assert fig["before"] == {"held": 0, "fp": 0}
    assert fig["after"] == {"held": 3, "fp": 0}  # every positive, and not the clean text that mentions 抽奖
    probs = _toy().probabilities(CLEAN[1])[0]
    assert t[0] > probs
    # with no budget and nothing to gain, a category stays off
    t_off, fig_off = choose(_toy(), _rows(CLEAN, []), base=base, fp_budget=0.0)
    assert t_off[0] > 1 and fig_off["after"]["fp"] == 0


def test_fit_and_train_are_deterministic_and_versioned():
    rows = _rows(POS * 2, ["inducement"]) + _rows(CLEAN * 2, [])
    m1, m2 = fit(rows), fit(rows)
    assert np.array_equal(m1.rows, m2.rows) and np.array_equal(m1.weights, m2.weights)
    k = m1.categories.index("inducement")
    assert m1.probabilities(POS[0])[k] > m1.probabilities(CLEAN[0])[k]
    model, meta = train(train_rows=rows, dev_rows=rows, base=Engine(Lexicon(())))
    assert model.version == model_version(model, meta["data_digest"])
    assert meta["dev"]["after"]["held"] >= meta["dev"]["before"]["held"]

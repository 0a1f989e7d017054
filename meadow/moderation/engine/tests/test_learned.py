"""The learned layer (learned.py): features, determinism, spans, thresholds, the committed artefact, and how
the engine and its policy treat a learned finding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from meadow.moderation.engine import Engine, Lexicon, Policy
from meadow.moderation.engine.learned import (
    ARTEFACT,
    METADATA,
    LearnedHit,
    Model,
    features,
    model_version,
    prepare,
)


def toy(category: str, phrase: str, *, threshold: float = 0.5, weight: float = 40.0) -> Model:
    """A model that leans on ``phrase``'s n-grams for ``category`` and on nothing else."""
    b, _, _ = features(prepare(phrase))
    rows = np.unique(b)
    return Model(
        categories=(category,),
        rows=rows,
        weights=np.full((len(rows), 1), weight, dtype=np.float16),
        bias=np.array([-4.0]),
        thresholds=np.array([threshold]),
    )


def test_features_are_deterministic_and_span_the_text():
    text = "Follow + tag 3 friends to WIN 抽奖!"
    b1, s1, e1 = features(prepare(text))
    b2, s2, e2 = features(prepare(text))
    assert np.array_equal(b1, b2) and np.array_equal(s1, s2) and np.array_equal(e1, e2)
    assert (s1 >= 0).all() and (e1 <= len(text)).all() and (e1 > s1).all()
    # character n-grams 1..4, plus one unigram per Latin word of 2+ characters
    n = len(text)
    words = ["follow", "tag", "friends", "to", "win"]
    assert len(b1) == n + (n - 1) + (n - 2) + (n - 3) + len(words)
    assert (b1 >= 0).all() and (b1 < (1 << 20)).all()


def test_variants_share_features():
    """Traditional, full-width and upper-case forms fold to the same features; digits fold to one."""
    assert np.array_equal(features(prepare("這個最好用"))[0], features(prepare("这个最好用"))[0])
    assert np.array_equal(features(prepare("ＷＩＮ ＢＩＧ"))[0], features(prepare("win big"))[0])
    assert np.array_equal(features(prepare("call 0123"))[0], features(prepare("call 9876"))[0])


def test_word_unigrams_do_not_depend_on_position():
    b1, s1, e1 = features(prepare("guarantee"))
    b2, s2, e2 = features(prepare("we guarantee"))
    word1 = b1[(s1 == 0) & (e1 == 9)]
    word2 = b2[(s2 == 3) & (e2 == 12)]
    assert set(word1) & set(word2)


def test_the_span_is_the_words_that_carried_the_decision():
    model = toy("inducement", "抽奖")
    text = "今天天气很好，我们一起去公园散步，转发抽奖送礼物，下次再见"
    (finding,) = model.findings(text)
    assert finding.category == "inducement"
    assert "抽奖" in text[finding.start : finding.end]
    assert finding.end - finding.start <= 6
    latin = toy("adult", "hookup")
    text = "long day at work, anyone up for a hookup tonight near bangsar"
    (f,) = latin.findings(text)
    assert text[f.start : f.end] == "hookup"  # widened to whole words, trimmed of spaces


def test_spans_index_the_original_text():
    model = toy("inducement", "抽奖")
    text = "ＡＢＣ 轉發抽獎 送禮物"  # full-width and traditional: the fold is 1:1, so offsets hold
    (hit,) = model.hits(text)
    assert text[hit.start : hit.end] == hit.match and "抽獎" in hit.match


def test_thresholds_decide():
    text = "转发抽奖送礼物"
    p = toy("inducement", "抽奖").probabilities(text)[0]
    assert toy("inducement", "抽奖", threshold=float(p) - 0.01).findings(text)
    assert not toy("inducement", "抽奖", threshold=min(float(p) + 0.01, 1.0) + 0.001).findings(text)
    assert not toy("inducement", "抽奖").findings("今天天气很好")  # nothing it leans on: the bias alone


def test_long_texts_are_scored_by_windows():
    model = toy("inducement", "抽奖", weight=300.0)
    filler = "今天在槟城吃了一碗炒粿条，味道很不错。" * 40
    text = filler + "转发抽奖送礼物" + filler
    (f,) = model.findings(text)
    assert "抽奖" in text[f.start : f.end]


def test_learned_hits_carry_rule_version_suggestion_and_severity():
    model = toy("inducement", "抽奖")
    (hit,) = model.hits("转发抽奖送礼物")
    assert isinstance(hit, LearnedHit)
    assert hit.rule == "learned:inducement" and hit.severity in ("medium", "high")
    d = hit.to_dict()
    assert d["model_version"] == model.version and len(model.version) == 12
    assert d["suggestion"] and d["category"] == "inducement"


def test_the_committed_artefact_loads_and_its_version_matches_its_metadata():
    meta = json.loads(METADATA.read_text("utf-8"))
    model = Model.load(ARTEFACT, METADATA)
    assert model.version == meta["version"]
    assert model_version(model, meta["data_digest"]) == meta["version"]
    assert model.categories == tuple(meta["categories"])
    assert model.weights.dtype == np.float16 and len(model.rows) == meta["features"]
    # thresholds were chosen on dev, and the learned layer never saw the test split
    assert meta["dev"]["after"]["held"] >= meta["dev"]["before"]["held"]
    assert meta["train_rows"] >= 1957


def test_a_held_learned_finding_is_review_not_block_unless_the_policy_says_so():
    text = "anyone up for a hookup tonight"
    model = toy("adult", "hookup")
    lexicon = Lexicon(())  # nothing from the lexicon: the model alone
    res = Engine(lexicon, learned=model).check(text, field="note")
    assert res.categories == {"adult"} and res.verdict == "review"  # adult at medium would block
    strict = Engine(lexicon, Policy(learned_max_action="block"), learned=model).check(text, field="note")
    assert strict.verdict == "block"
    # where the policy lets the category pass, the learned hit passes too
    dm = Engine(lexicon, learned=toy("absolute", "hookup")).check(text, field="dm")
    assert dm.verdict == "pass" and dm.categories == {"absolute"}
    assert Engine(lexicon).check(text).verdict == "pass"  # off by default


def test_the_learned_layer_only_adds(engine):
    """A category the lexicon found is not reported again by the model, and no lexicon hit goes away."""
    text = "加我薇信 abc123 抽奖"
    base = Engine(learned=None).check(text)
    model = toy("redirect", "薇信")
    with_model = Engine(learned=model).check(text)
    assert with_model.hits == base.hits
    both = Engine(learned=toy("inducement", "抽奖")).check(text)
    assert set(base.hits) <= set(both.hits) and "inducement" in both.categories


@pytest.mark.parametrize("field", ["note", "comment"])
def test_learned_engine_has_the_committed_model(engine, field):
    from meadow.moderation.engine.engine import learned_engine

    assert engine.learned is None  # the lexicon engine stays as it was
    assert learned_engine().learned is not None
    assert learned_engine().check("", field=field).verdict == "pass"


def test_an_allow_phrase_cancels_a_learned_hit_it_overlaps():
    model = toy("inducement", "抽奖")
    text = "看完抽奖规则再决定"
    assert Engine(Lexicon(()), learned=model).check(text).categories == {"inducement"}
    allow = Lexicon.from_records([{"term": "抽奖规则", "category": "allow", "severity": "low"}])
    res = Engine(allow, learned=model).check(text)
    assert res.verdict == "pass" and not res.hits
    # elsewhere in the text the model still speaks
    assert Engine(allow, learned=model).check("抽奖规则见下，转发抽奖").categories == {"inducement"}

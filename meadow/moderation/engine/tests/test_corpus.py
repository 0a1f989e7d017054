"""Precision and recall per category over the labelled corpus (tests/moderation/corpus.jsonl).

The table is printed with output capture disabled, so it shows in every run (no ``-s`` needed).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from meadow.moderation.engine import REPORTED_CATEGORIES, Engine

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "moderation" / "corpus.jsonl"

# Honest floors: the engine measures P 1.00 / R 0.99 overall today (see bench/RESULTS.md); these catch a
# regression without failing on one new hard case.
MIN_PRECISION = 0.97
MIN_RECALL = 0.96
MIN_CATEGORY_PRECISION = 0.9
MIN_CATEGORY_RECALL = 0.85


def load_corpus() -> list[dict]:
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(engine: Engine, rows: list[dict]) -> tuple[Counter, Counter, Counter]:
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for row in rows:
        got = engine.check(row["text"], field=row["field"], account=row["account"]).categories
        exp = set(row["expect"])
        for c in got & exp:
            tp[c] += 1
        for c in got - exp:
            fp[c] += 1
        for c in exp - got:
            fn[c] += 1
    return tp, fp, fn


def table(tp: Counter, fp: Counter, fn: Counter) -> str:
    lines = [f"{'category':28} {'P':>6} {'R':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for c in (*REPORTED_CATEGORIES, "ALL"):
        if c == "ALL":
            t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
        else:
            t, f, n = tp[c], fp[c], fn[c]
        if t + f + n == 0:
            continue
        p = t / (t + f) if t + f else 1.0
        r = t / (t + n) if t + n else 1.0
        lines.append(f"{c:28} {p:6.3f} {r:6.3f} {t:4d} {f:4d} {n:4d}")
    return "\n".join(lines)


def test_corpus_is_big_and_balanced() -> None:
    rows = load_corpus()
    pos = [r for r in rows if r["expect"]]
    neg = [r for r in rows if not r["expect"]]
    assert len(pos) >= 300 and len(neg) >= 300
    for r in rows:
        assert set(r) == {"text", "field", "account", "expect"}
        assert set(r["expect"]) <= set(REPORTED_CATEGORIES)
    latin = sum(1 for r in rows if r["text"].isascii())
    assert latin >= 150  # English and Malay, not only Chinese


def test_precision_recall(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    tp, fp, fn = evaluate(engine, load_corpus())
    report = table(tp, fp, fn)
    with capsys.disabled():
        print("\n" + report)
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    assert t / (t + f) >= MIN_PRECISION, report
    assert t / (t + n) >= MIN_RECALL, report
    for c in REPORTED_CATEGORIES:
        if tp[c] + fp[c]:
            assert tp[c] / (tp[c] + fp[c]) >= MIN_CATEGORY_PRECISION, (c, report)
        if tp[c] + fn[c]:
            assert tp[c] / (tp[c] + fn[c]) >= MIN_CATEGORY_RECALL, (c, report)


def test_fast_and_full_paths_agree(engine: Engine) -> None:
    for row in load_corpus():
        fast = engine.find(row["text"])
        full = engine.find(row["text"], force_full=True)
        assert {h.category for h in fast} == {h.category for h in full}, row["text"]

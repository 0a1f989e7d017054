"""Training the engine's learned layer (:mod:`meadow.moderation.engine.learned`), used by
``meadow moderation_train``. Plain Python + numpy + scikit-learn (no Django): the web never imports it.

* The model is fitted on the corpus's **train** split plus any extra rows (the moderators' decisions exported by
  ``meadow moderation_export_decisions``): one L2 logistic regression per category over the hashed features.
* The per-category thresholds are chosen on the **dev** split, greedily: starting with every category off, the
  threshold move that holds the most more labelled violations per clean text newly held is taken, as long as
  the false-positive rate of the whole engine (lexicon + learned) stays within the budget. The test split is
  never read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from meadow.moderation.engine.engine import Engine
from meadow.moderation.engine.learned import (
    BITS,
    CATEGORIES,
    Model,
    data_digest,
    model_version,
    prepare,
    severity,
    vector,
)
from meadow.moderation.engine.policy import Policy

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "moderation" / "eval"
PRUNE = 0.02  # weights smaller than this (in logit units) are dropped from the artefact


def load_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def design(texts: Sequence[str]):
    """The sparse matrix of ``texts`` (rows) over the hashed buckets, as the model sees them."""
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for t in texts:
        b, v = vector(prepare(t))
        indices.append(b)
        data.append(np.full(len(b), v, dtype=np.float64))
        indptr.append(indptr[-1] + len(b))
    x = csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(indices) if indices else np.zeros(0, np.int64),
            np.asarray(indptr),
        ),
        shape=(len(texts), 1 << BITS),
    )
    x.sum_duplicates()
    return x


def fit(rows: Sequence[dict[str, Any]], *, c: float = 8.0) -> Model:
    """One-vs-rest logistic regressions on ``rows``; thresholds left at 1 (off) until :func:`choose`."""
    from sklearn.linear_model import LogisticRegression

    x = design([r["text"] for r in rows])
    used = np.unique(x.indices)
    xu = x[:, used]
    weights = np.zeros((len(used), len(CATEGORIES)), dtype=np.float64)
    bias = np.full(len(CATEGORIES), -10.0, dtype=np.float64)
    for k, cat in enumerate(CATEGORIES):
        y = np.array([cat in r["labels"] for r in rows], dtype=np.int8)
        if y.sum() < 3:
            continue  # too few examples: the category stays off (bias -10)
        clf = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=1000)
        clf.fit(xu, y)
        weights[:, k] = clf.coef_[0]
        bias[k] = clf.intercept_[0]
    keep = np.abs(weights).max(axis=1) >= PRUNE
    return Model(
        categories=CATEGORIES,
        rows=used[keep],
        weights=weights[keep].astype(np.float16),
        bias=bias.astype(np.float32),
        thresholds=np.ones(len(CATEGORIES), dtype=np.float32),
        version="untrained",
    )


def _expected(policy: Policy, row: dict[str, Any]) -> set[str]:
    table = policy.table(row["field"], row["account"])
    return {c for c in row["labels"] if policy.action(table, c, "medium") != "pass"}


def choose(
    model: Model,
    rows: Sequence[dict[str, Any]],
    *,
    base: Engine,
    fp_budget: float = 0.03,
    fp_cost: float = 2.0,
    grid: Iterable[float] = tuple(np.round(np.arange(0.98, 0.29, -0.02), 2)),
) -> tuple[np.ndarray, dict[str, Any]]:
    """Per-category thresholds on ``rows`` (the dev split), greedily (see the module docstring). ``base`` is
    the engine without the learned layer. Returns the thresholds and the figures before/after."""
    policy = base.policy
    cats = list(model.categories)
    k = len(cats)
    n = len(rows)
    probs = np.zeros((n, k))
    found0 = np.zeros((n, k), dtype=bool)
    nonpass0 = np.zeros(n, dtype=bool)
    expected = np.zeros((n, k), dtype=bool)
    act = np.zeros((n, k), dtype=bool)  # a learned hit of this category would hold the row
    clean = np.array([not r["labels"] for r in rows])
    cap = Policy.rank(policy.learned_max_action)
    for i, r in enumerate(rows):
        res = base.check(r["text"], field=r["field"], account=r["account"])
        nonpass0[i] = res.verdict != "pass"
        for h in res.hits:
            if h.category in cats:
                found0[i, cats.index(h.category)] = True
        for c in _expected(policy, r):
            if c in cats:
                expected[i, cats.index(c)] = True
        probs[i] = model.probabilities(r["text"])
        table = policy.table(r["field"], r["account"])
        for j, c in enumerate(cats):
            a = policy.action(table, c, severity(float(probs[i, j])))
            act[i, j] = min(Policy.rank(a), cap) > 0

    def score(t: np.ndarray) -> tuple[int, int]:
        learned = (probs >= t) & ~found0
        nonpass = nonpass0 | (learned & act).any(axis=1)
        held = expected & (found0 | learned) & nonpass[:, None]
        return int(held.sum()), int((clean & nonpass).sum())

    t = np.full(k, 1.01)
    tp, fp = score(t)
    before = {"held": tp, "fp": fp}
    limit = int(np.floor(fp_budget * clean.sum() + 1e-9))
    grid = list(grid)
    while True:
        best: tuple[float, int, float, int, int] | None = None
        for j in range(k):
            for g in grid:
                if g >= t[j]:
                    continue
                t2 = t.copy()
                t2[j] = g
                tp2, fp2 = score(t2)
                if fp2 > max(limit, fp) or tp2 <= tp:
                    continue
                value = (tp2 - tp) - fp_cost * (fp2 - fp)
                if value > 0 and (best is None or value > best[0] or (value == best[0] and g > best[2])):
                    best = (value, j, g, tp2, fp2)
        if best is None:
            break
        _, j, g, tp, fp = best
        t[j] = g
    t = np.minimum(t, 1.01).astype(np.float32)
    return t, {
        "before": before,
        "after": {"held": tp, "fp": fp},
        "positives": int(expected.sum()),
        "clean": int(clean.sum()),
        "fp_limit": limit,
    }


def train(
    *,
    train_rows: Sequence[dict[str, Any]],
    dev_rows: Sequence[dict[str, Any]],
    base: Engine,
    c: float = 8.0,
    fp_budget: float = 0.03,
) -> tuple[Model, dict[str, Any]]:
    """Fit on ``train_rows``, choose thresholds on ``dev_rows``; the model's version hashes its weights and
    the training data."""
    model = fit(train_rows, c=c)
    thresholds, figures = choose(model, dev_rows, base=base, fp_budget=fp_budget)
    digest = data_digest(train_rows)
    final = Model(
        categories=model.categories,
        rows=model.rows,
        weights=model.weights,
        bias=model.bias,
        thresholds=thresholds,
        version="pending",
    )
    final.version = model_version(final, digest)
    meta = {
        "data_digest": digest,
        "train_rows": len(train_rows),
        "dev_rows": len(dev_rows),
        "c": c,
        "fp_budget": fp_budget,
        "dev": figures,
        "features": len(final.rows),
    }
    final.meta = meta
    return final, meta

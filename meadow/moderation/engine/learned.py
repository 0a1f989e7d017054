"""The learned layer (issue #18): a linear model for what the lexicon cannot enumerate.

Inducement written as conditions, veiled disparagement, solicitation, regulated claims by ordinary products,
absolute claims in slang — a lexicon lists phrases, and writers who never read it find others. This module
scores a text with one logistic regression per category (one-vs-rest) over hashed features of the engine's
*folded* text (:func:`~.normalize.fold`, 1:1, so traditional and full-width variants share features and every
feature's span is a span of the original text):

* character n-grams, n = 1…4 (ASCII digits folded to ``0``, whitespace to a space);
* word unigrams of Latin text (runs of ``a-z0-9``), so "guarantee" weighs the same wherever it stands.

Each feature is hashed into ``2**BITS`` buckets; a text's vector is the count of each bucket over
``sqrt(number of features)``. Inference is numpy only (a few vector operations and one gather over the
feature rows the model knows); training (scikit-learn) lives in ``meadow moderation_train``, which writes
``data/learned.npz`` + ``data/learned.json``. The artefact is committed and loaded at engine build time:
nothing is downloaded at run time.

Findings stay explainable: a learned hit carries the span of the words that carried the decision — the window
of the text with the highest summed contribution to the category's score — ``rule`` ``learned:<category>``,
the model's version, and a severity from the probability. The layer only *adds* categories the lexicon did not
find; the policy caps what a learned hit can do (:attr:`~.policy.Policy.learned_max_action`, review by
default: a model's guess goes to a person, it does not refuse a text by itself).

Long texts are scored by windows (:data:`WINDOW` characters, overlapping by half) so one violating sentence in
a long note is not diluted by the rest.

Cost: numpy's per-call overhead makes one check cost tens of microseconds for a short text and about a
millisecond for a 1,500-character note — orders of magnitude above the automaton's pass. So the layer is not in
``Engine()``'s default (``learned=None``); :func:`~.engine.learned_engine` and the Django adapter
(``moderation_engine``, unless ``MODERATION_LEARNED`` is false) build it in. A cheap gate (cue n-grams in the first pass) was tried: the model's
strongest words and CJK n-grams still occur in 97 % of ordinary posts, so it saved nothing and is not shipped.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .hit import Hit
from .normalize import fold

DATA = Path(__file__).with_name("data")
ARTEFACT = DATA / "learned.npz"
METADATA = DATA / "learned.json"

BITS = 20
NGRAMS = (1, 2, 3, 4)
WINDOW = 240  # characters scored at once in a long text
# The categories the model is trained for: the semantic ones, and redirect as a backstop.
CATEGORIES = (
    "inducement",
    "disparage",
    "adult",
    "absolute",
    "redirect",
    "sensitive.promise",
    "sensitive.finance",
    "sensitive.health",
    "sensitive.superstition",
    "sensitive.medical_device",
    "sensitive.supplement",
    "sensitive.alcohol",
    "sensitive.infant_formula",
    "sensitive.education",
    "sensitive.disinfection",
    "sensitive.real_estate",
    "sensitive.medical_service",
)

# What the composer tells the author about a learned finding (English here; the Django side translates them,
# see meadow/moderation/labels.py). Keyed by category group.
SUGGESTIONS = {
    "inducement": "Rewrite it without asking for likes, follows, shares or tags in exchange for a prize",
    "disparage": "Rewrite it about your own product without running down others",
    "adult": "Remove the sexual content",
    "absolute": "Rewrite it without absolute or superlative claims",
    "redirect": "Remove it: contact details and links to other platforms are not allowed",
    "sensitive": "Rewrite it without promising results or making regulated claims",
}

_M1 = np.uint64(0x100000001B3)
_M2 = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)
_SALT = [np.uint64((0xA5A5A5A5 * (n + 1)) & 0xFFFFFFFFFFFFFFFF) for n in range(8)]
_WORD_SALT = np.uint64(0x5BD1E9955BD1E995)
_R = 0x100000001B3
_R_INV = pow(_R, -1, 1 << 64)
_DIGITS_SPACE = {ord(c): "0" for c in "123456789"} | {ord(c): " " for c in "\t\n\r\x0b\x0c\u3000\xa0"}


def prepare(text: str) -> str:
    """The text the features are read from: :func:`fold` (1:1), ASCII digits as ``0``, whitespace as a space.
    Same length as ``text``."""
    return fold(text).translate(_DIGITS_SPACE)


def _codes(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def features(prepared: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hashed features of a prepared text: bucket ids (int64) and each feature's span (starts, ends) in
    the text. Deterministic (no Python ``hash``): the same text gives the same buckets in every process."""
    a = _codes(prepared)
    n = len(a)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    buckets: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    h = np.zeros(0, dtype=np.uint64)
    idx = np.arange(n, dtype=np.int64)
    with np.errstate(over="ignore"):
        for k in range(1, max(NGRAMS) + 1):
            if k > n:
                break
            # h[i] = hash of a[i:i+k]
            h = a[k - 1 :].copy() if k == 1 else (h[:-1] * _M1) ^ a[k - 1 :]
            if k in NGRAMS:
                buckets.append((((h + _SALT[k]) * _M2) >> _SHIFT).astype(np.int64))
                starts.append(idx[: n - k + 1])
                lengths.append(np.full(n - k + 1, k, dtype=np.int64))
        # word unigrams of Latin text: polynomial hash of each run of [a-z0-9], from prefix sums
        latin = ((a >= 97) & (a <= 122)) | ((a >= 48) & (a <= 57))
        if latin.any():
            edges = np.diff(np.concatenate(([False], latin, [False])).astype(np.int8))
            ws = np.flatnonzero(edges == 1)
            we = np.flatnonzero(edges == -1)
            keep = (we - ws) >= 2
            ws, we = ws[keep], we[keep]
            if len(ws):
                powers = np.cumprod(np.full(n, _R, dtype=np.uint64))  # R^(i+1)
                prefix = np.concatenate(([np.uint64(0)], np.cumsum(a * powers, dtype=np.uint64)))
                inv = np.cumprod(np.full(n + 1, _R_INV, dtype=np.uint64))  # R^-(i+1)
                wh = (prefix[we] - prefix[ws]) * inv[ws]  # the run's hash, independent of its position
                buckets.append((((wh ^ _WORD_SALT) * _M2) >> _SHIFT).astype(np.int64))
                starts.append(ws.astype(np.int64))
                lengths.append((we - ws).astype(np.int64))
    b = np.concatenate(buckets)
    s = np.concatenate(starts)
    return b, s, s + np.concatenate(lengths)


def vector(prepared: str) -> tuple[np.ndarray, float]:
    """Bucket ids and the value of one occurrence (1/sqrt(count)); training sums duplicates."""
    b, _, _ = features(prepared)
    return b, (1.0 / math.sqrt(len(b)) if len(b) else 0.0)


@dataclass(frozen=True)
class LearnedFinding:
    category: str
    probability: float
    start: int
    end: int


class LearnedHit(Hit):
    """A :class:`~.engine.Hit` from the model, with the model's version (``to_dict`` adds it)."""

    model_version: str

    def __new__(cls, *fields: Any, model_version: str = "") -> LearnedHit:
        self = super().__new__(cls, *fields)
        self.model_version = model_version
        return self

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "model_version": self.model_version}


@dataclass
class Model:
    """A trained model: per category a weight per known bucket, a bias and a decision threshold."""

    categories: tuple[str, ...]
    rows: np.ndarray  # sorted bucket ids the model has weights for (int64)
    weights: np.ndarray  # len(rows) x len(categories), float16
    bias: np.ndarray  # len(categories), float32
    thresholds: np.ndarray  # len(categories), float32: probability at or above which a hit is reported
    version: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = np.asarray(self.rows, dtype=np.int64)
        self.weights = np.asarray(self.weights, dtype=np.float16)
        self.bias = np.asarray(self.bias, dtype=np.float32)
        self.thresholds = np.asarray(self.thresholds, dtype=np.float32)
        # bucket id -> row + 1 (0: unknown bucket, whose weights are the zero row)
        lookup = np.zeros(1 << BITS, dtype=np.int32)
        lookup[self.rows] = np.arange(1, len(self.rows) + 1, dtype=np.int32)
        self._lookup = lookup
        self._w = np.vstack([np.zeros((1, len(self.categories)), dtype=np.float32), self.weights]).astype(
            np.float32
        )
        self._index = {c: i for i, c in enumerate(self.categories)}
        if not self.version:
            self.version = weights_digest(self)

    # -------------------------------------------------------------------------------------------------
    def _window_scores(self, prepared: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        b, s, e = features(prepared)
        if not len(b):
            return self.bias.copy(), np.zeros((0, len(self.categories)), np.float32), s, e
        contrib = self._w[self._lookup[b]] * np.float32(1.0 / math.sqrt(len(b)))
        return self.bias + contrib.sum(axis=0), contrib, s, e

    def probabilities(self, text: str) -> np.ndarray:
        """Per category, the highest probability over the text's windows."""
        return self._scan(prepare(text))[0]

    def _windows(self, n: int) -> Iterable[tuple[int, int]]:
        if n <= WINDOW:
            yield 0, n
            return
        step = WINDOW // 2
        for a in range(0, n - step, step):
            yield a, min(a + WINDOW, n)

    def _scan(
        self, prepared: str, windows: Sequence[tuple[int, int]] | None = None
    ) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]]:
        best = np.full(len(self.categories), -np.inf, dtype=np.float32)
        parts = []
        for a, z in windows if windows is not None else self._windows(len(prepared)):
            score, contrib, s, e = self._window_scores(prepared[a:z])
            parts.append((a, score, contrib, np.stack([s, e]) if len(s) else np.zeros((2, 0), np.int64)))
            np.maximum(best, score, out=best)
        return _sigmoid(best), parts

    def findings(
        self,
        text: str,
        skip: Iterable[str] = (),
        windows: Sequence[tuple[int, int]] | None = None,
        blank: Sequence[tuple[int, int]] = (),
    ) -> list[LearnedFinding]:
        """The categories whose probability reaches their threshold (but those in ``skip``), each with the
        span that carried it. ``windows``: the (start, end) ranges to score (default: all of the text);
        ``blank``: (start, end) ranges the model must not see (read as spaces; offsets unchanged)."""
        prepared = prepare(text)
        for a, z in blank:
            prepared = prepared[:a] + " " * (z - a) + prepared[z:]
        probs, parts = self._scan(prepared, windows)
        out = []
        skip = set(skip)
        for ci in np.flatnonzero(probs >= self.thresholds):
            cat = self.categories[ci]
            if cat in skip:
                continue
            # the window that scored highest, then the span inside it
            a, _, contrib, se = max(parts, key=lambda p: p[1][ci])
            start, end = _best_span(prepared, a, contrib[:, ci], se)
            out.append(LearnedFinding(cat, float(probs[ci]), start, end))
        return out

    def hits(
        self,
        text: str,
        skip: Iterable[str] = (),
        redirect_suggestion: str | None = None,
        windows: Sequence[tuple[int, int]] | None = None,
        blank: Sequence[tuple[int, int]] = (),
    ) -> list[Hit]:
        out: list[Hit] = []
        for f in self.findings(text, skip, windows, blank):
            sugg = SUGGESTIONS[f.category.split(".", 1)[0]]
            if f.category == "redirect" and redirect_suggestion:
                sugg = redirect_suggestion
            out.append(
                LearnedHit(
                    f.category,
                    f.start,
                    f.end,
                    text[f.start : f.end],
                    "learned:" + f.category,
                    severity(f.probability),
                    sugg,
                    model_version=self.version,
                )
            )
        return out

    def add_hits(
        self,
        text: str,
        hay: bytes,
        hits: Sequence[Hit],
        redirect_suggestion: str | None = None,
        allows: Sequence[tuple[int, int]] = (),
    ) -> tuple[Hit, ...]:
        """``hits`` (the lexicon's) plus the model's hits of the categories they lack, in the engine's order.
        ``hay`` is the engine's first-pass haystack (``b" " + lowercased UTF-8 + b" "``) and ``allows`` the
        byte spans in it of the allow-phrases it matched: the model does not see them (they read as spaces),
        so the moderators' allow-phrases hold for the model too."""
        spans = [
            (len(hay[1:bs].decode("utf-8", "surrogatepass")), len(hay[1:be].decode("utf-8", "surrogatepass")))
            for bs, be in allows
        ]
        extra = self.hits(text, {h.category for h in hits}, redirect_suggestion, blank=spans)
        if not extra:
            return tuple(hits)
        return tuple(sorted([*hits, *extra], key=lambda h: (h.start, h.end, h.category)))

    # -------------------------------------------------------------------------------------------------
    def save(self, npz: Path = ARTEFACT, meta_path: Path = METADATA, **meta: Any) -> None:
        np.savez_compressed(
            npz,
            rows=self.rows.astype(np.uint32),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
        )
        info = {
            "version": self.version,
            "categories": list(self.categories),
            "bits": BITS,
            "ngrams": list(NGRAMS),
            "window": WINDOW,
            "thresholds": {
                c: round(float(t), 4) for c, t in zip(self.categories, self.thresholds, strict=True)
            },
            **meta,
        }
        meta_path.write_text(json.dumps(info, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def load(cls, npz: Path = ARTEFACT, meta_path: Path = METADATA) -> Model:
        info = json.loads(meta_path.read_text("utf-8"))
        if info.get("bits", BITS) != BITS:
            raise ValueError("learned model: hashed with another number of bits")
        with np.load(npz) as z:
            model = cls(
                categories=tuple(info["categories"]),
                rows=z["rows"],
                weights=z["weights"],
                bias=z["bias"],
                thresholds=z["thresholds"],
                version=info["version"],
                meta=info,
            )
        return model


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def severity(probability: float) -> str:
    return "high" if probability >= 0.9 else "medium"


def _best_span(prepared: str, offset: int, contrib: np.ndarray, se: np.ndarray) -> tuple[int, int]:
    """The window of the text whose features contribute most to the score, widened to whole Latin words.
    ``contrib`` and ``se`` (starts, ends) are relative to ``prepared[offset:]``."""
    if not len(contrib):
        return offset, offset
    n = int(se[1].max())
    # each feature's contribution spread over its characters: a difference array, then a prefix sum
    lens = (se[1] - se[0]).astype(np.float64)
    per = contrib.astype(np.float64) / lens
    diff = np.zeros(n + 1)
    np.add.at(diff, se[0], per)
    np.add.at(diff, se[1], -per)
    density = np.cumsum(diff)[:n]
    chunk = prepared[offset : offset + n]
    width = min(n, 14 if sum(c.isascii() for c in chunk) * 2 > len(chunk) else 6)
    csum = np.concatenate(([0.0], np.cumsum(density)))
    sums = csum[width:] - csum[:-width]
    s = int(np.argmax(sums))
    e = s + width
    # trim the ends that carry little (under half the window's strongest character), spaces and punctuation
    floor = max(float(density[s:e].max()) / 2, 0.0)
    while e - s > 1 and (density[s] <= floor or not chunk[s].isalnum()):
        s += 1
    while e - s > 1 and (density[e - 1] <= floor or not chunk[e - 1].isalnum()):
        e -= 1

    def wordish(c: str) -> bool:
        return c.isascii() and c.isalnum()

    while s > 0 and wordish(chunk[s]) and wordish(chunk[s - 1]):
        s -= 1
    while e < n and wordish(chunk[e - 1]) and wordish(chunk[e]):
        e += 1
    return offset + s, offset + e


def weights_digest(model: Model) -> str:
    h = hashlib.sha256()
    for arr in (model.rows.astype(np.uint32), model.weights.astype(np.float16), model.bias, model.thresholds):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\n".join(model.categories).encode())
    return h.hexdigest()[:12]


def model_version(model: Model, data_digest: str) -> str:
    """The version of a trained model: a hash of its weights and of the training data."""
    return hashlib.sha256(f"{weights_digest(model)}:{data_digest}".encode()).hexdigest()[:12]


def data_digest(rows: Sequence[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r["text"], sorted(r["labels"])], ensure_ascii=False).encode())
    return h.hexdigest()


@cache
def default_model() -> Model | None:
    """The committed model (``None`` when no artefact is shipped), loaded once per process."""
    if not ARTEFACT.exists() or not METADATA.exists():
        return None
    return Model.load()

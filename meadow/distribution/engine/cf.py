"""Collaborative filtering for Discover: an ensemble of implicit's ALS and BM25 item-KNN.

Plain Python (numpy/scipy/implicit, no Django). ``implicit`` is used for training only; recommending is a few
numpy/scipy products over the stored factors and item-item similarity, so a stored model is just arrays
(:meth:`CollaborativeModel.to_bytes` writes a numpy ``.npz`` and :meth:`from_bytes` reads it with
``allow_pickle=False`` — never a pickle).

Fusion. For one user both models score the whole catalogue; each model's top ``fusion_depth`` items get a
reciprocal-rank score ``1 / (fusion_c + rank)`` (rank 0 = best), weighted by the model's weight, and summed.
The weight of the item-KNN side grows with how little the user has done (item-KNN is the stronger model for
light users, ALS for heavy ones)::

    w_knn(n) = knn_weight · (1 + knn_light_boost · light),  light = light_items / (light_items + n)
    w_als    = als_weight

with n the number of items in the user's history. The fused scores are divided by their maximum so the best
item has strength 1 (the :class:`~meadow.distribution.engine.ranker.Candidate` strengths are in [0, 1]).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy import sparse

__all__ = ["CFConfig", "CollaborativeModel"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CFConfig:
    """Hyper-parameters of the CF ensemble (defaults documented in docs/architecture.md, "Ranking")."""

    als_factors: int = 64
    als_regularization: float = 0.05
    als_iterations: int = 15
    als_alpha: float = 10.0  # confidence = 1 + alpha · value (implicit fits on alpha · value)
    knn_k: int = 100  # neighbours per item in BM25 item-KNN
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    als_weight: float = 1.0
    knn_weight: float = 0.6
    knn_light_boost: float = 0.0
    light_items: float = 20.0
    fusion_c: float = 20.0
    fusion_depth: int = 200
    binary: bool = True  # every positive (user, item) counts 1; else 1 + log1p(weight)
    seed: int = 42
    num_threads: int = 1  # training threads (implicit); BLAS is always limited to one thread while fitting

    def to_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CFConfig:
        known = {f.name: f.type for f in fields(cls)}
        kwargs = {}
        for name, value in data.items():
            if name in known:
                kwargs[name] = value
        return cls(**kwargs)  # type: ignore[arg-type]


_controller: list = []


def _limit_blas_threads():
    """Context manager limiting BLAS to one thread: implicit's ALS is slow with a multi-threaded BLAS, and a
    multi-threaded mat-vec in a busy web process is up to 100× slower than a single-threaded one (threads fight
    over the cores). The controller is built once per process (it scans the loaded libraries); entering the
    limit costs microseconds."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        if not _controller:
            from threadpoolctl import ThreadpoolController

            _controller.append(ThreadpoolController())
        return _controller[0].limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unsupported
        import contextlib

        return contextlib.nullcontext()


class CollaborativeModel:
    """A trained CF ensemble over external integer ids (user ids, note ids)."""

    def __init__(
        self,
        *,
        users: np.ndarray,
        items: np.ndarray,
        user_items: sparse.csr_matrix,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        similarity: sparse.csr_matrix,
        config: CFConfig,
    ) -> None:
        self.users = np.asarray(users, dtype=np.int64)
        self.items = np.asarray(items, dtype=np.int64)
        self.user_items = user_items.tocsr()
        self.user_factors = np.asarray(user_factors, dtype=np.float32)
        self.item_factors = np.asarray(item_factors, dtype=np.float32)
        self.similarity = similarity.tocsr()
        self.config = config
        self._user_index = {int(u): i for i, u in enumerate(self.users)}
        self._item_index = {int(t): i for i, t in enumerate(self.items)}

    # --- training -----------------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, interactions: Iterable[tuple[int, int, float]], *, config: CFConfig | None = None
    ) -> CollaborativeModel:
        """Train on ``(user, item, weight)`` triples; rows with weight ≤ 0 are ignored, repeated pairs summed."""
        config = config or CFConfig()
        users_l: list[int] = []
        items_l: list[int] = []
        weights_l: list[float] = []
        for user, item, weight in interactions:
            if weight > 0:
                users_l.append(int(user))
                items_l.append(int(item))
                weights_l.append(float(weight))
        users, user_codes = np.unique(np.asarray(users_l, dtype=np.int64), return_inverse=True)
        items, item_codes = np.unique(np.asarray(items_l, dtype=np.int64), return_inverse=True)
        matrix = sparse.csr_matrix(
            (np.asarray(weights_l, dtype=np.float64), (user_codes, item_codes)),
            shape=(len(users), len(items)),
        )
        matrix.sum_duplicates()
        if config.binary:
            matrix.data = np.ones_like(matrix.data)
        else:
            matrix.data = 1.0 + np.log1p(matrix.data)
        matrix = matrix.astype(np.float32)
        n_users, n_items = matrix.shape
        if n_users == 0 or n_items == 0:
            return cls(
                users=users,
                items=items,
                user_items=matrix,
                user_factors=np.zeros((n_users, 0), np.float32),
                item_factors=np.zeros((n_items, 0), np.float32),
                similarity=sparse.csr_matrix((n_items, n_items), dtype=np.float32),
                config=config,
            )
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.nearest_neighbours import BM25Recommender

        with _limit_blas_threads():
            als = AlternatingLeastSquares(
                factors=config.als_factors,
                regularization=config.als_regularization,
                iterations=config.als_iterations,
                random_state=config.seed,
                num_threads=config.num_threads,
            )
            als.fit((matrix * config.als_alpha).tocsr(), show_progress=False)
            knn = BM25Recommender(
                K=config.knn_k, K1=config.bm25_k1, B=config.bm25_b, num_threads=config.num_threads
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # implicit's own COO→CSR conversion notice inside BM25 fit
                knn.fit(matrix, show_progress=False)
        return cls(
            users=users,
            items=items,
            user_items=matrix,
            user_factors=np.asarray(als.user_factors),
            item_factors=np.asarray(als.item_factors),
            similarity=knn.similarity.astype(np.float32).tocsr(),
            config=config,
        )

    # --- recommending -------------------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.items)

    def knows_user(self, user: int) -> bool:
        return int(user) in self._user_index

    def user_history(self, user: int) -> list[int]:
        """The items the user had at training time."""
        row = self._user_index.get(int(user))
        if row is None:
            return []
        return [int(self.items[j]) for j in self.user_items[row].indices]

    def _row(self, user: int, history: Sequence[int] | None) -> tuple[int | None, np.ndarray]:
        row = self._user_index.get(int(user))
        if history is None:
            cols = self.user_items[row].indices if row is not None else np.zeros(0, np.int64)
        else:
            cols = np.asarray(
                sorted({self._item_index[int(i)] for i in history if int(i) in self._item_index}),
                dtype=np.int64,
            )
        return row, cols

    def model_scores(self, user: int, *, history: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """Raw per-model scores over the whole catalogue (``als``, ``knn``; absent when not computable)."""
        row, cols = self._row(user, history)
        out: dict[str, np.ndarray] = {}
        if row is not None and self.user_factors.shape[1] > 0:
            with _limit_blas_threads():
                out["als"] = self.item_factors @ self.user_factors[row]
        if len(cols):
            # Σ over the user's items of their similarity rows (implicit's user_items · similarity): touches only
            # the user's rows, so it costs O(history × K), not O(catalogue).
            out["knn"] = np.asarray(self.similarity[cols].sum(axis=0), dtype=np.float32).ravel()
        return out

    def recommend(
        self,
        user: int,
        n: int,
        exclude: Collection[int] = (),
        *,
        history: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Top ``n`` items for ``user`` with fused strengths in [0, 1], best first (ties by item id).

        Excludes the user's history and ``exclude``. ``history`` (item ids) replaces the training-time history
        for item-KNN (fresh engagement, or a user unknown to the model)."""
        if n <= 0 or self.n_items == 0:
            return []
        row, cols = self._row(user, history)
        scores = self.model_scores(user, history=history)
        if not scores:
            return []
        banned = np.zeros(self.n_items, dtype=bool)
        banned[cols] = True
        if row is not None:
            banned[self.user_items[row].indices] = True
        for item in exclude:
            j = self._item_index.get(int(item))
            if j is not None:
                banned[j] = True
        config = self.config
        light = config.light_items / (config.light_items + len(cols)) if config.light_items > 0 else 0.0
        weights = {
            "als": config.als_weight,
            "knn": config.knn_weight * (1.0 + config.knn_light_boost * light),
        }
        fused = np.zeros(self.n_items, dtype=np.float64)
        depth = max(config.fusion_depth, n)
        for name, raw in scores.items():
            if weights.get(name, 0.0) <= 0:
                continue
            values = np.where(banned, -np.inf, raw.astype(np.float64))
            if name == "knn":
                values = np.where(values > 0, values, -np.inf)  # no evidence at all: not a candidate
            top = _top(values, depth)
            fused[top] += weights[name] / (config.fusion_c + np.arange(len(top)))
        top = _top(np.where(fused > 0, fused, -np.inf), n)
        if len(top) == 0:
            return []
        best = fused[top[0]]
        return [(int(self.items[j]), float(fused[j] / best)) for j in top]

    # --- serialisation ------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        ui = self.user_items.tocsr()
        sim = self.similarity.tocsr()
        config_keys = np.array(list(self.config.to_dict().keys()))
        config_values = np.array([float(v) for v in self.config.to_dict().values()], dtype=np.float64)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            format_version=np.array([FORMAT_VERSION]),
            users=self.users,
            items=self.items,
            ui_data=ui.data,
            ui_indices=ui.indices,
            ui_indptr=ui.indptr,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            sim_data=sim.data,
            sim_indices=sim.indices,
            sim_indptr=sim.indptr,
            config_keys=config_keys,
            config_values=config_values,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CollaborativeModel:
        """Load a model written by :meth:`to_bytes` (numpy arrays only; pickles are refused)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if int(z["format_version"][0]) != FORMAT_VERSION:
                raise ValueError("unsupported CF model format")
            users = z["users"]
            items = z["items"]
            n_users, n_items = len(users), len(items)
            ui = sparse.csr_matrix((z["ui_data"], z["ui_indices"], z["ui_indptr"]), shape=(n_users, n_items))
            sim = sparse.csr_matrix(
                (z["sim_data"], z["sim_indices"], z["sim_indptr"]), shape=(n_items, n_items)
            )
            types = {f.name: f.type for f in fields(CFConfig)}
            raw = dict(
                zip((str(k) for k in z["config_keys"]), (float(v) for v in z["config_values"]), strict=True)
            )
            values: dict[str, object] = {}
            for name, value in raw.items():
                kind = types.get(name)
                if kind is None:
                    continue
                values[name] = bool(value) if kind == "bool" else int(value) if kind == "int" else value
            return cls(
                users=users,
                items=items,
                user_items=ui,
                user_factors=z["user_factors"],
                item_factors=z["item_factors"],
                similarity=sim,
                config=CFConfig.from_dict(values),
            )


def _top(values: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest finite values, best first, ties by index."""
    finite = np.flatnonzero(np.isfinite(values))
    if len(finite) == 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    if len(finite) > n:
        part = np.argpartition(-values[finite], n - 1)[:n]
        cand = finite[part]
    else:
        cand = finite
    order = np.lexsort((cand, -values[cand]))
    return cand[order][:n]

"""Offline recommendation on an external interaction log with the Discover pipeline.

``meadow recommend-offline`` parses the TSV files and calls :func:`recommend_offline`, which runs the same
candidate generation (:mod:`.candidates`) and the same :func:`~meadow.distribution.engine.ranker.rank` as the
Discover feed — called through their modules (``candidates.generate``, ``ranker.rank``), the very functions
the feed calls (a test spies on both). What differs is only where the inputs come from: the interaction log stands in for engagement
events, ``follows`` for the follow graph, ``item_tags`` for categories/hashtags; items have no author, age,
quality or pool level (they are unknown offline, so those terms are constant).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import candidates as _candidates
from . import ranker as _ranker
from .candidates import CFSource, FollowGraphSource, InterestSource, ItemMeta, PopularSource
from .cf import CFConfig, CollaborativeModel
from .ranker import DEFAULT_CONFIG, RankerConfig

__all__ = [
    "OfflineConfig",
    "OfflineInput",
    "OfflineInputError",
    "load_files",
    "read_pairs",
    "read_train",
    "recommend_offline",
    "run_files",
]


@dataclass(frozen=True)
class OfflineConfig:
    cf: CFConfig = field(default_factory=CFConfig)
    ranker: RankerConfig = DEFAULT_CONFIG
    # Candidates asked from each source per user, as a multiple of k (at least 100).
    candidates_per_source: int = 5
    # Self-tuning: choose the ranker's source weights on a held-out part of the training data (see
    # tune_ranker); off = use ``ranker`` as given.
    tune: bool = True
    tune_holdout: float = 0.2
    tune_users: int = 1000
    # A weight moves away from the default only if it raises held-out recall@k (or, at equal recall, NDCG@k)
    # by this fraction: small held-out samples are noisy, the defaults are the prior.
    tune_min_gain: float = 0.01
    seed: int = 42


def recommend_offline(
    train: Iterable[tuple[str, str, float]],
    *,
    follows: Iterable[tuple[str, str]] = (),
    item_tags: Iterable[tuple[str, str]] = (),
    k: int = 20,
    config: OfflineConfig | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_tuned: Callable[[RankerConfig], None] | None = None,
) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(user, [item, …])`` with the top ``k`` unseen items of every user in ``train`` (and every
    follower in ``follows``), in a stable order (users sorted by id string).

    ``train`` rows are ``(user, item, weight)``; every row with weight ≥ 0 is a positive (binarised, as the
    usual offline protocol), rows with a negative weight are negative feedback: not a positive, but the item is
    never recommended to that user either. ``progress(1)`` is called after each user."""
    config = config or OfflineConfig()
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}

    def uid(name: str) -> int:
        return user_ids.setdefault(name, len(user_ids))

    def iid(name: str) -> int:
        return item_ids.setdefault(name, len(item_ids))

    positives: dict[int, set[int]] = defaultdict(set)
    seen: dict[int, set[int]] = defaultdict(set)
    for user, item, weight in train:
        u, i = uid(user), iid(item)
        seen[u].add(i)
        if weight >= 0:
            positives[u].add(i)
    followees: dict[int, set[int]] = defaultdict(set)
    for follower, followee in follows:
        followees[uid(follower)].add(uid(followee))
    tags_of: dict[int, set[str]] = defaultdict(set)
    for item, tag in item_tags:
        tags_of[iid(item)].add(tag)

    ranker_config = config.ranker
    if config.tune:
        ranker_config = tune_ranker(
            positives,
            followees=followees,
            tags_of=tags_of,
            k=k,
            config=config,
        )
        if on_tuned is not None:
            on_tuned(ranker_config)
    sources = _sources(positives, followees=followees, tags_of=tags_of, config=config)
    n_per_source = max(100, config.candidates_per_source * k)
    item_names = _names(item_ids)
    users = sorted(user_ids.items())
    if on_start is not None:
        on_start(len(users))
    for name, u in users:
        exclude = seen.get(u, set())
        candidates = _candidates.generate(
            u, sources.sources, n_per_source=n_per_source, exclude=exclude, meta=sources.meta
        )
        ranked = _ranker.rank(
            candidates, interests=_interests(u, positives, tags_of), seen=exclude, k=k, config=ranker_config
        )
        if progress is not None:
            progress(1)
        yield name, [item_names[r.item] for r in ranked]


@dataclass
class _Sources:
    sources: list
    meta: dict[int, ItemMeta]


def _interests(
    user: int, positives: Mapping[int, set[int]], tags_of: Mapping[int, set[str]]
) -> dict[str, float]:
    """A user's interest profile offline: how many of their items carry each tag."""
    counts: Counter[str] = Counter()
    for item in positives.get(user, ()):
        counts.update(tags_of.get(item, ()))
    return dict(counts)


def _sources(
    positives: Mapping[int, set[int]],
    *,
    followees: Mapping[int, set[int]],
    tags_of: Mapping[int, set[str]],
    config: OfflineConfig,
) -> _Sources:
    user_counts = Counter(i for items in positives.values() for i in items)
    popularity = {i: math.log1p(n) for i, n in user_counts.items()}
    items_by_topic: dict[str, list[int]] = defaultdict(list)
    for item, tags in tags_of.items():
        for tag in tags:
            items_by_topic[tag].append(item)
    for items in items_by_topic.values():
        items.sort(key=lambda i: (-user_counts.get(i, 0), i))
    meta = {
        i: ItemMeta(topics=tuple(sorted(tags_of.get(i, ()))), popularity=popularity.get(i, 0.0))
        for i in set(user_counts) | set(tags_of)
    }
    model = CollaborativeModel.fit(
        ((u, i, 1.0) for u, items in positives.items() for i in items), config=config.cf
    )
    sources = [
        CFSource(model),
        FollowGraphSource(followees=followees, items_of=positives, popularity=popularity),
        InterestSource(
            interests=lambda u: _interests(u, positives, tags_of),
            items_by_topic=items_by_topic,
            popularity=popularity,
        ),
        PopularSource({i: float(n) for i, n in user_counts.items()}),
    ]
    return _Sources(sources=sources, meta=meta)


def tune_ranker(
    positives: Mapping[int, set[int]],
    *,
    followees: Mapping[int, set[int]],
    tags_of: Mapping[int, set[str]],
    k: int,
    config: OfflineConfig,
) -> RankerConfig:
    """Pick the ranker's source weights on the training data alone.

    Holds out ``tune_holdout`` of each user's items (users with ≥ 2), builds the sources on the rest, and tries
    the weights of the popular source, the popularity term, the follow source and the interest terms one at a
    time (coordinate search from the defaults; the CF weight stays 1; sources the data does not have are not
    varied), keeping a value only when it raises recall@k on the held-out items by ``tune_min_gain`` (1 %;
    at equal recall, NDCG@k by as much). Data-driven, so a data set where popularity predicts well gets more
    popularity, one with an informative follow graph more follow weight."""
    rng = random.Random(config.seed)
    train: dict[int, set[int]] = {}
    held: dict[int, set[int]] = {}
    for user in sorted(positives):
        items = sorted(positives[user])
        if len(items) >= 2:
            rng.shuffle(items)
            cut = max(1, round(len(items) * config.tune_holdout))
            held[user] = set(items[:cut])
            train[user] = set(items[cut:])
        else:
            train[user] = set(items)
    if not held:
        return config.ranker
    sources = _sources(train, followees=followees, tags_of=tags_of, config=config)
    users = sorted(held)
    if len(users) > config.tune_users:
        users = sorted(rng.sample(users, config.tune_users))
    n_per_source = max(100, config.candidates_per_source * k)
    pools = {
        u: _candidates.generate(
            u, sources.sources, n_per_source=n_per_source, exclude=train.get(u, set()), meta=sources.meta
        )
        for u in users
    }
    base = config.ranker
    interests = {u: _interests(u, train, tags_of) for u in users}
    discounts = [1 / math.log2(r + 2) for r in range(k)]

    def quality(candidate_config: RankerConfig) -> tuple[float, float]:
        recall = ndcg = 0.0
        for u in users:
            ranked = _ranker.rank(
                pools[u], interests=interests[u], seen=train.get(u, set()), k=k, config=candidate_config
            )
            truth = held[u]
            hits = [discounts[r] for r, x in enumerate(ranked) if x.item in truth]
            recall += len(hits) / len(truth)
            ndcg += sum(hits) / sum(discounts[: min(len(truth), k)])
        return round(recall, 9), round(ndcg, 9)

    # Coordinate search: one weight at a time, keeping the best so far (a value only wins if strictly better).
    axes: list[tuple[str, tuple[float, ...]]] = [
        ("popular_weight", (0.5, 1.5, 3.0)),
        ("popularity_weight", (0.2, 0.5)),
    ]
    if any(followees.get(u) for u in users):
        axes.append(("follow_weight", (0.0, 0.8)))
    if tags_of:
        axes += [("interest_source_weight", (0.0, 1.0)), ("interest_match_weight", (0.0, 1.0))]
    chosen = base
    best = quality(base)
    for name, values in axes:
        start = chosen
        for value in values:
            trial = replace(start, **{name: value})  # type: ignore[arg-type]
            result = quality(trial)
            gain = 1.0 + config.tune_min_gain
            if result[0] > best[0] * gain or (result[0] >= best[0] and result[1] > best[1] * gain):
                best, chosen = result, trial
    return chosen


def _names(ids: dict[str, int]) -> Sequence[str]:
    names = [""] * len(ids)
    for name, i in ids.items():
        names[i] = name
    return names


class OfflineInputError(ValueError):
    """A malformed input file: names the file and the 1-based line number."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}, line {line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line


def _lines(path: str) -> Iterator[tuple[int, list[str]]]:
    try:
        handle = open(path, encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise OfflineInputError(path, 0, f"cannot open: {exc.strerror or exc}") from None
    with handle:
        number = 0
        try:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                yield number, line.split("\t")
        except UnicodeDecodeError:
            raise OfflineInputError(path, number + 1, "not valid UTF-8") from None


def read_train(path: str) -> list[tuple[str, str, float]]:
    """``user<TAB>item<TAB>weight<TAB>timestamp`` (weight and timestamp optional: weight 1, timestamp 0)."""
    rows: list[tuple[str, str, float]] = []
    for number, cols in _lines(path):
        if not 2 <= len(cols) <= 4:
            raise OfflineInputError(path, number, f"expected 2 to 4 tab-separated columns, found {len(cols)}")
        user, item = cols[0].strip(), cols[1].strip()
        if not user or not item:
            raise OfflineInputError(path, number, "empty user or item id")
        weight = 1.0
        if len(cols) >= 3 and cols[2].strip():
            try:
                weight = float(cols[2])
            except ValueError:
                raise OfflineInputError(path, number, f"weight {cols[2]!r} is not a number") from None
            if not math.isfinite(weight):
                raise OfflineInputError(path, number, f"weight {cols[2]!r} is not finite")
        if len(cols) == 4 and cols[3].strip():
            try:
                float(cols[3])
            except ValueError:
                raise OfflineInputError(path, number, f"timestamp {cols[3]!r} is not a number") from None
        rows.append((user, item, weight))
    if not rows:
        raise OfflineInputError(path, 0, "no interactions")
    return rows


def read_pairs(path: str, what: str) -> list[tuple[str, str]]:
    """Two tab-separated columns per line (``follower followee`` or ``item tag``)."""
    rows: list[tuple[str, str]] = []
    for number, cols in _lines(path):
        if len(cols) != 2:
            raise OfflineInputError(
                path, number, f"expected 2 tab-separated columns ({what}), found {len(cols)}"
            )
        a, b = cols[0].strip(), cols[1].strip()
        if not a or not b:
            raise OfflineInputError(path, number, f"empty value ({what})")
        rows.append((a, b))
    return rows


@dataclass(frozen=True)
class OfflineInput:
    train: list[tuple[str, str, float]]
    follows: list[tuple[str, str]]
    item_tags: list[tuple[str, str]]


def load_files(*, train: str, follows: str | None = None, item_tags: str | None = None) -> OfflineInput:
    """Read and check the three TSV inputs (:class:`OfflineInputError` names the file and line)."""
    return OfflineInput(
        train=read_train(train),
        follows=read_pairs(follows, "follower, followee") if follows else [],
        item_tags=read_pairs(item_tags, "item, tag") if item_tags else [],
    )


def run_files(
    *,
    train: str,
    out: str,
    follows: str | None = None,
    item_tags: str | None = None,
    k: int = 20,
    config: OfflineConfig | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_tuned: Callable[[RankerConfig], None] | None = None,
    loaded: OfflineInput | None = None,
) -> int:
    """Read the TSV inputs, recommend, write ``user<TAB>item<TAB>rank`` (rank 1 = best). Returns the number of
    users written. Raises :class:`OfflineInputError` for malformed input (before writing anything).
    ``loaded``: the files already read by :func:`load_files`."""
    if k < 1:
        raise OfflineInputError("--k", 0, "must be at least 1")
    data = loaded if loaded is not None else load_files(train=train, follows=follows, item_tags=item_tags)
    results = recommend_offline(
        data.train,
        follows=data.follows,
        item_tags=data.item_tags,
        k=k,
        config=config,
        progress=progress,
        on_start=on_start,
        on_tuned=on_tuned,
    )
    try:
        handle = open(out, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
    except OSError as exc:
        raise OfflineInputError(out, 0, f"cannot write: {exc.strerror or exc}") from None
    users = 0
    with handle:
        for user, items in results:
            users += 1
            for position, item in enumerate(items, start=1):
                handle.write(f"{user}\t{item}\t{position}\n")
    return users

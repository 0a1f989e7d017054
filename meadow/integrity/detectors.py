"""The fake-engagement detectors, plain Python over plain rows (``services.scan`` reads the rows and acts).

Each detector looks at recent activity and returns, per account, the signals that fired with their evidence.
``account_scores`` adds the signals' weights into an explainable score; an account is flagged when the score
reaches the threshold *and* either several signals fired or one very strong one did — never on one weak signal.

Signals (issue #21):

- ``signup_burst``: many accounts signed up from one network within an hour (weak alone: a campus or an office
  shares a NAT); ``device_farm``: several accounts signed up from one device fingerprint (strong);
- ``single_creator``: an account whose every like, save, comment and follow went to one creator (weak alone:
  new fans do that);
- ``lockstep``: CopyCatch (Beutel et al., WWW 2013) — groups of accounts acting on the same targets (notes liked,
  saved, commented; accounts followed) within seconds of each other, on several targets: each account that
  shares ``lockstep_min_targets`` time-aligned targets with at least ``lockstep_min_partners`` others;
- ``no_exposure``: likes, saves, comments and follows of content the account was never shown (no impression and
  no read before the action);
- ``impossible_read``: the note was liked/saved/commented within a second or two of being opened, again and
  again, or reads come faster than anyone can read;
- ``follow_churn``: follow then unfollow of the same accounts, repeatedly;
- ``comment_template``: near-duplicate comments (MinHash over character 3-grams, Jaccard checked) written by
  several accounts on one creator's notes (a stock phrase used across creators is not a template);
- ``no_feed`` / ``single_minded``: an account acting like a script — acts with no feed card ever shown, or an
  established account that opens only one creator's notes and acts on every one (weak alone) — and
  ``coordinated``: several accounts of one such pattern pointing at the same creator (``detect_scripted``).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Kinds of engagement that are an account's positive act on a note (what fake engagement buys).
ACTS = frozenset({"like", "save", "comment", "share", "follow", "completion"})
EXPOSURES = frozenset({"impression", "read"})


@dataclass(frozen=True)
class Event:
    user_id: int
    note_id: int
    author_id: int
    kind: str
    at: datetime


@dataclass(frozen=True)
class FollowRow:
    follower_id: int
    followee_id: int
    kind: str  # follow | unfollow
    at: datetime


@dataclass(frozen=True)
class CommentRow:
    author_id: int
    comment_id: int
    note_id: int
    creator_id: int  # the note's author
    body: str
    at: datetime


@dataclass(frozen=True)
class SignupRow:
    user_id: int
    network: str
    device: str
    agent: str
    at: datetime


@dataclass
class Config:
    """Thresholds (``MEADOW_INTEGRITY`` settings override them by name)."""

    signup_window_seconds: int = 3600
    signup_burst_min: int = 8
    device_window_seconds: int = 86400
    device_min: int = 3
    single_creator_min_acts: int = 4
    lockstep_seconds: int = 90
    lockstep_min_targets: int = 3
    lockstep_min_partners: int = 3
    lockstep_strong_targets: int = 5
    lockstep_strong_partners: int = 5
    no_exposure_min_acts: int = 3
    no_exposure_ratio: float = 0.8
    no_exposure_strong_acts: int = 6  # this many acts, all but one in twenty never shown: strong
    no_exposure_strong_ratio: float = 0.95
    read_min_seconds: float = 2.0
    impossible_read_min: int = 3
    impossible_read_ratio: float = 0.6
    reads_per_minute_max: int = 30
    churn_min_cycles: int = 3
    churn_strong_cycles: int = 10
    template_min_chars: int = 8
    template_jaccard: float = 0.7
    template_min_accounts: int = 3
    template_strong_accounts: int = 5
    template_focus: float = 0.8  # the share of a template's comments on one creator's notes
    scripted_min_acts: int = 2  # acts an account needs before its pattern says anything
    single_minded_shown_others: int = 3  # creators shown (impressions) but never opened, for single_minded
    single_minded_min_age_days: int = 7  # a newer account devoted to one creator is a new fan
    ring_min_accounts: int = 4  # scripted accounts pointing at one creator: a coordinated ring
    flag_score: float = 4.0
    very_strong: float = 4.0
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "signup_burst": 1.0,
            "device_farm": 2.0,
            "device_farm_weak": 1.0,  # a client that presented no device id: its User-Agent on its network
            "single_creator": 1.0,
            "lockstep": 3.0,
            "lockstep_strong": 4.0,
            "no_exposure": 2.0,
            "no_exposure_strong": 3.0,
            "impossible_read": 1.5,
            "follow_churn": 1.5,
            "follow_churn_strong": 4.0,
            "comment_template": 1.5,
            "comment_template_strong": 2.0,
            "no_feed": 1.5,
            "single_minded": 1.5,
            "coordinated": 3.0,
        }
    )

    @classmethod
    def from_settings(cls, values: dict[str, Any] | None) -> Config:
        config = cls()
        for key, value in (values or {}).items():
            if key == "weights":
                config.weights = {**config.weights, **{str(k): float(v) for k, v in value.items()}}
            elif hasattr(config, key):
                setattr(config, key, type(getattr(config, key))(value))
            else:
                raise ValueError(f"MEADOW_INTEGRITY: unknown setting {key!r}")
        return config


# Which reason category each signal counts as (what creators and accounts are told; never the detector).
SIGNAL_CATEGORY = {
    "signup_burst": "fake_account",
    "device_farm": "fake_account",
    "single_creator": "fake_engagement",
    "lockstep": "fake_engagement",
    "no_exposure": "fake_engagement",
    "impossible_read": "fake_traffic",
    "follow_churn": "fake_engagement",
    "comment_template": "fake_engagement",
    "no_feed": "fake_engagement",
    "single_minded": "fake_engagement",
    "coordinated": "fake_engagement",
}

Signals = dict[int, list[dict[str, Any]]]


def _add(out: Signals, user_id: int, signal: str, weight: float, evidence: dict[str, Any]) -> None:
    out[user_id].append(
        {"signal": signal, "category": SIGNAL_CATEGORY[signal], "weight": weight, "evidence": evidence}
    )


# --- sign-up velocity per network and device ------------------------------------------------------------------
def _bursts(rows: Sequence[SignupRow], *, window: timedelta, minimum: int) -> list[list[SignupRow]]:
    """Maximal runs of sign-ups (sorted by time) where ``minimum`` or more fall within ``window``."""
    rows = sorted(rows, key=lambda r: (r.at, r.user_id))
    marked: set[int] = set()
    start = 0
    for end in range(len(rows)):
        while rows[end].at - rows[start].at > window:
            start += 1
        if end - start + 1 >= minimum:
            marked.update(range(start, end + 1))
    groups: list[list[SignupRow]] = []
    for i in sorted(marked):
        if groups and i - 1 in marked:
            groups[-1].append(rows[i])
        else:
            groups.append([rows[i]])
    return groups


def detect_signups(signups: Iterable[SignupRow], config: Config) -> Signals:
    out: Signals = defaultdict(list)
    by_network: dict[str, list[SignupRow]] = defaultdict(list)
    by_device: dict[str, list[SignupRow]] = defaultdict(list)
    for row in signups:
        if row.network:
            by_network[row.network].append(row)
        if row.device:
            by_device[row.device].append(row)
    window = timedelta(seconds=config.signup_window_seconds)
    for network, rows in by_network.items():
        for group in _bursts(rows, window=window, minimum=config.signup_burst_min):
            evidence = {
                "network": network,
                "accounts": len(group),
                "first": group[0].at.isoformat(),
                "last": group[-1].at.isoformat(),
            }
            for row in group:
                _add(out, row.user_id, "signup_burst", config.weights["signup_burst"], evidence)
    window = timedelta(seconds=config.device_window_seconds)
    for device, rows in by_device.items():
        for group in _bursts(rows, window=window, minimum=config.device_min):
            weak = device.startswith("~")  # no device id presented: the User-Agent on the network stands in
            evidence = {
                "device": device[:8],
                "accounts": len(group),
                "first": group[0].at.isoformat(),
                "fingerprint": "agent_on_network" if weak else "device_id",
            }
            weight = config.weights["device_farm_weak" if weak else "device_farm"]
            for row in group:
                _add(out, row.user_id, "device_farm", weight, evidence)
    return out


# --- accounts that only ever engage one creator ---------------------------------------------------------------
def detect_single_creator(events: Iterable[Event], follows: Iterable[FollowRow], config: Config) -> Signals:
    creators: dict[int, Counter[int]] = defaultdict(Counter)
    for e in events:
        if e.kind in ACTS:
            creators[e.user_id][e.author_id] += 1
    for f in follows:
        if f.kind == "follow":
            creators[f.follower_id][f.followee_id] += 1
    out: Signals = defaultdict(list)
    for user_id, counter in creators.items():
        acts = sum(counter.values())
        if len(counter) == 1 and acts >= config.single_creator_min_acts:
            (creator,) = counter
            _add(
                out,
                user_id,
                "single_creator",
                config.weights["single_creator"],
                {"creator_id": creator, "acts": acts},
            )
    return out


# --- lockstep: CopyCatch-style co-occurrence in time ------------------------------------------------------------
def detect_lockstep(events: Iterable[Event], follows: Iterable[FollowRow], config: Config) -> Signals:
    """For each target, the accounts that acted on it within ``lockstep_seconds`` of each other are pairs; an
    account in ≥ ``lockstep_min_targets`` such time-aligned targets with each of ≥ ``lockstep_min_partners``
    others is acting in lockstep (CopyCatch's [n users × m pages within Δt] cluster, found by pair counting)."""
    by_target: dict[tuple[str, int], list[tuple[datetime, int]]] = defaultdict(list)
    for e in events:
        if e.kind in ("like", "save", "comment", "follow"):
            by_target[("note", e.note_id)].append((e.at, e.user_id))
    for f in follows:
        if f.kind == "follow":
            by_target[("user", f.followee_id)].append((f.at, f.follower_id))
    window = timedelta(seconds=config.lockstep_seconds)
    pairs: Counter[tuple[int, int]] = Counter()
    for acts in by_target.values():
        acts.sort()
        seen: set[tuple[int, int]] = set()  # a pair counts once per target
        for i, (at, user) in enumerate(acts):
            for j in range(i + 1, min(len(acts), i + 400)):
                other_at, other = acts[j]
                if other_at - at > window:
                    break
                if other != user:
                    seen.add((min(user, other), max(user, other)))
        pairs.update(seen)
    partners: dict[int, dict[int, int]] = defaultdict(dict)
    for (a, b), shared in pairs.items():
        if shared >= config.lockstep_min_targets:
            partners[a][b] = shared
            partners[b][a] = shared
    out: Signals = defaultdict(list)
    for user_id, mates in partners.items():
        if len(mates) < config.lockstep_min_partners:
            continue
        top = max(mates.values())
        strong = (
            len(mates) >= config.lockstep_strong_partners
            and sorted(mates.values(), reverse=True)[config.lockstep_strong_partners - 1]
            >= config.lockstep_strong_targets
        )
        _add(
            out,
            user_id,
            "lockstep",
            config.weights["lockstep_strong" if strong else "lockstep"],
            {
                "partners": len(mates),
                "most_shared_targets": top,
                "within_seconds": config.lockstep_seconds,
                "partner_ids": sorted(mates, key=lambda m: (-mates[m], m))[:10],
            },
        )
    return out


# --- engagement without impressions or reads; impossible read times ------------------------------------------------
def detect_exposure(
    events: Sequence[Event], follows: Iterable[FollowRow], config: Config, *, exposures: Sequence[Event] = ()
) -> Signals:
    """``no_exposure``: acts on notes (and follows of accounts) the account was never shown before acting;
    ``impossible_read``: acts within ``read_min_seconds`` of opening the note, again and again, or more than
    ``reads_per_minute_max`` reads in a minute. ``exposures`` adds impressions/reads from before the window."""
    seen_note: dict[tuple[int, int], datetime] = {}
    seen_author: dict[tuple[int, int], datetime] = {}
    read_at: dict[tuple[int, int], datetime] = {}
    reads_by_user: dict[int, list[datetime]] = defaultdict(list)
    ordered = sorted([*exposures, *events], key=lambda e: e.at)
    acts_total: Counter[int] = Counter()
    unexposed: Counter[int] = Counter()
    timed_acts: Counter[int] = Counter()
    fast: Counter[int] = Counter()
    follows_by_user: dict[int, list[FollowRow]] = defaultdict(list)
    for f in follows:
        if f.kind == "follow":
            follows_by_user[f.follower_id].append(f)
    for e in ordered:
        key = (e.user_id, e.note_id)
        if e.kind in EXPOSURES:
            seen_note.setdefault(key, e.at)
            seen_author.setdefault((e.user_id, e.author_id), e.at)
            if e.kind == "read":
                read_at[key] = e.at
                reads_by_user[e.user_id].append(e.at)
        elif e.kind in ACTS and e.kind != "completion":
            acts_total[e.user_id] += 1
            first = seen_note.get(key)
            if first is None or first > e.at:
                unexposed[e.user_id] += 1
            opened = read_at.get(key)
            if opened is not None:
                timed_acts[e.user_id] += 1
                if (e.at - opened).total_seconds() < config.read_min_seconds:
                    fast[e.user_id] += 1
    for user_id, rows in follows_by_user.items():
        for f in rows:
            acts_total[user_id] += 1
            first = seen_author.get((user_id, f.followee_id))
            if first is None or first > f.at:
                unexposed[user_id] += 1
    out: Signals = defaultdict(list)
    for user_id, total in acts_total.items():
        blind = unexposed[user_id]
        if total >= config.no_exposure_min_acts and blind / total >= config.no_exposure_ratio:
            strong = (
                total >= config.no_exposure_strong_acts and blind / total >= config.no_exposure_strong_ratio
            )
            _add(
                out,
                user_id,
                "no_exposure",
                config.weights["no_exposure_strong" if strong else "no_exposure"],
                {"acts": total, "without_impression_or_read": blind},
            )
    flagged_fast: set[int] = set()
    for user_id, count in fast.items():
        if (
            count >= config.impossible_read_min
            and count / timed_acts[user_id] >= config.impossible_read_ratio
        ):
            flagged_fast.add(user_id)
            _add(
                out,
                user_id,
                "impossible_read",
                config.weights["impossible_read"],
                {
                    "acts_after_read": timed_acts[user_id],
                    "within_seconds": config.read_min_seconds,
                    "count": count,
                },
            )
    minute = timedelta(seconds=60)
    for user_id, times in reads_by_user.items():
        if user_id in flagged_fast or len(times) <= config.reads_per_minute_max:
            continue
        times.sort()
        start = 0
        for end in range(len(times)):
            while times[end] - times[start] > minute:
                start += 1
            if end - start + 1 > config.reads_per_minute_max:
                _add(
                    out,
                    user_id,
                    "impossible_read",
                    config.weights["impossible_read"],
                    {"reads_in_a_minute": end - start + 1},
                )
                break
    return out


# --- follow/unfollow churn ----------------------------------------------------------------------------------------
def detect_churn(follows: Iterable[FollowRow], config: Config) -> Signals:
    """A cycle is a follow of an account later withdrawn; ``churn_min_cycles`` of them (with at least half of the
    account's follows withdrawn) is churn, ``churn_strong_cycles`` very strong."""
    followed: dict[int, set[int]] = defaultdict(set)
    cycles: Counter[int] = Counter()
    follows_made: Counter[int] = Counter()
    for f in sorted(follows, key=lambda f: f.at):
        if f.kind == "follow":
            followed[f.follower_id].add(f.followee_id)
            follows_made[f.follower_id] += 1
        elif f.followee_id in followed[f.follower_id]:
            followed[f.follower_id].discard(f.followee_id)
            cycles[f.follower_id] += 1
    out: Signals = defaultdict(list)
    for user_id, count in cycles.items():
        if count >= config.churn_min_cycles and count * 2 >= follows_made[user_id]:
            strong = count >= config.churn_strong_cycles
            _add(
                out,
                user_id,
                "follow_churn",
                config.weights["follow_churn_strong" if strong else "follow_churn"],
                {"follows": follows_made[user_id], "withdrawn": count},
            )
    return out


# --- scripted accounts and the rings they form -------------------------------------------------------------------
def detect_scripted(
    events: Sequence[Event],
    follows: Iterable[FollowRow],
    config: Config,
    *,
    exposures: Sequence[Event] = (),
    joined: dict[int, datetime] | None = None,
) -> Signals:
    """Accounts that act like a script rather than a reader, and the rings they form around one creator.

    - ``no_feed``: ``scripted_min_acts`` or more acts (likes, saves, comments, follows) and not one card shown
      in a feed in the window — every act came by a direct link or a profile (weak alone: some people only
      open links friends send);
    - ``single_minded``: every note the account opened and everything it acted on is one creator's, it acted
      on every note it opened (and never opened one more often than it acted), and it was shown notes of
      ``single_minded_shown_others`` other creators that it never opened (weak alone: a light user with one
      favourite). Only for an established account — one that signed up ``single_minded_min_age_days`` or more
      before its first act (``joined``: the sign-ups in the window; an account without one is older): a new
      account devoted to one creator is what a creator's new fans look like;
    - ``coordinated``: ``ring_min_accounts`` or more accounts of the *same* pattern pointing at the same
      creator (the one a single-minded account is devoted to; any creator a no-feed account acted on) — one
      account like that is a habit, several on one creator are an order being filled.
    """
    joined = joined or {}
    min_age = timedelta(days=config.single_minded_min_age_days)
    first_act: dict[int, datetime] = {}
    shown: dict[int, set[int]] = defaultdict(set)  # user -> creators shown in a feed
    opened: dict[int, dict[int, int]] = defaultdict(dict)  # user -> note -> creator
    acted_notes: dict[int, set[int]] = defaultdict(set)
    reads: Counter[int] = Counter()
    note_acts: Counter[int] = Counter()
    creators: dict[int, Counter[int]] = defaultdict(Counter)  # user -> creator -> acts
    for e in exposures:
        if e.kind == "impression":
            shown[e.user_id].add(e.author_id)
    for e in events:
        if e.kind == "impression":
            shown[e.user_id].add(e.author_id)
        elif e.kind == "read":
            opened[e.user_id][e.note_id] = e.author_id
            reads[e.user_id] += 1
        elif e.kind in ACTS and e.kind != "completion":
            acted_notes[e.user_id].add(e.note_id)
            note_acts[e.user_id] += 1
            first_act.setdefault(e.user_id, e.at)
            creators[e.user_id][e.author_id] += 1
    for f in follows:
        if f.kind == "follow":
            creators[f.follower_id][f.followee_id] += 1
    out: Signals = defaultdict(list)
    ring: dict[tuple[str, int], set[int]] = defaultdict(set)  # (pattern, creator) -> accounts
    for user_id, counter in creators.items():
        acts = sum(counter.values())
        if acts < config.scripted_min_acts:
            continue
        if not shown[user_id]:
            _add(out, user_id, "no_feed", config.weights["no_feed"], {"acts": acts, "impressions": 0})
            for creator in counter:
                ring[("no_feed", creator)].add(user_id)
        read_creators = set(opened[user_id].values())
        if (
            len(counter) == 1
            and read_creators <= set(counter)
            and opened[user_id]
            and set(opened[user_id]) <= acted_notes[user_id]
            and reads[user_id] <= note_acts[user_id]  # never opened a note again without acting
            and (
                user_id not in joined or first_act.get(user_id, joined[user_id]) - joined[user_id] >= min_age
            )
        ):
            (creator,) = counter
            others = len(shown[user_id] - {creator})
            if others >= config.single_minded_shown_others:
                _add(
                    out,
                    user_id,
                    "single_minded",
                    config.weights["single_minded"],
                    {
                        "creator_id": creator,
                        "acts": acts,
                        "opened": len(opened[user_id]),
                        "shown_others": others,
                    },
                )
                ring[("single_minded", creator)].add(user_id)
    for (pattern, creator), members in ring.items():
        if len(members) < config.ring_min_accounts:
            continue
        evidence = {"creator_id": creator, "accounts": len(members), "pattern": pattern}
        for user_id in members:
            _add(out, user_id, "coordinated", config.weights["coordinated"], evidence)
    return out


# --- comment templates repeated across accounts -----------------------------------------------------------------
_NOISE = re.compile(r"[\W_]+", re.UNICODE)
_HASHES = 24
_BANDS = 8  # 8 bands of 3 rows: pairs with Jaccard ≥ 0.7 meet in some band with probability > 0.99


def normalise(text: str) -> str:
    """Case, width, punctuation, emoji and spaces removed; digits kept."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def _shingles(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(max(len(text) - 2, 1))}


def _minhash(shingles: set[str]) -> tuple[int, ...]:
    encoded = [s.encode() for s in shingles]
    return tuple(
        min(zlib.crc32(s, seed * 0x9E3779B1 & 0xFFFFFFFF) for s in encoded) for seed in range(_HASHES)
    )


def detect_templates(comments: Iterable[CommentRow], config: Config) -> Signals:
    rows = []
    for c in comments:
        text = normalise(c.body)
        if len(text) >= config.template_min_chars:
            rows.append((c, _shingles(text)))
    rows_per_band = _HASHES // _BANDS
    buckets: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    for index, (_c, shingles) in enumerate(rows):
        signature = _minhash(shingles)
        for band in range(_BANDS):
            buckets[(band, signature[band * rows_per_band : (band + 1) * rows_per_band])].append(index)
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    checked: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2:
            continue
        for i_pos, i in enumerate(members[:200]):
            for j in members[i_pos + 1 : 200]:
                if rows[i][0].author_id == rows[j][0].author_id or (i, j) in checked:
                    continue
                checked.add((i, j))
                a, b = rows[i][1], rows[j][1]
                if len(a & b) / len(a | b) >= config.template_jaccard:
                    parent[find(i)] = find(j)
    clusters: dict[int, list[CommentRow]] = defaultdict(list)
    for index, (c, _s) in enumerate(rows):
        clusters[find(index)].append(c)
    out: Signals = defaultdict(list)
    for cluster in clusters.values():
        authors = {c.author_id for c in cluster}
        if len(authors) < config.template_min_accounts:
            continue
        # a stock phrase ("so pretty!") recurs across creators; a bought template is aimed at one creator
        creator, aimed = Counter(c.creator_id for c in cluster).most_common(1)[0]
        if aimed < config.template_focus * len(cluster):
            continue
        strong = len(authors) >= config.template_strong_accounts
        sample = cluster[0].body[:80]
        for author in authors:
            _add(
                out,
                author,
                "comment_template",
                config.weights["comment_template_strong" if strong else "comment_template"],
                {"accounts": len(authors), "comments": len(cluster), "creator_id": creator, "sample": sample},
            )
    return out


# --- the score ----------------------------------------------------------------------------------------------------
def merge(*parts: Signals) -> Signals:
    """One list of signals per account; a signal that fired twice (two bursts) counts once, at its highest."""
    out: Signals = defaultdict(list)
    for part in parts:
        for user_id, signals in part.items():
            for s in signals:
                current = next((x for x in out[user_id] if x["signal"] == s["signal"]), None)
                if current is None:
                    out[user_id].append(s)
                elif s["weight"] > current["weight"]:
                    out[user_id][out[user_id].index(current)] = s
    return out


def account_score(signals: Sequence[dict[str, Any]]) -> float:
    return round(sum(float(s["weight"]) for s in signals), 3)


def is_flagged(signals: Sequence[dict[str, Any]], config: Config) -> bool:
    """Strong evidence only: the score reaches ``flag_score`` with several signals, or one very strong signal."""
    if not signals:
        return False
    score = account_score(signals)
    strongest = max(float(s["weight"]) for s in signals)
    return score >= config.flag_score and (len(signals) >= 2 or strongest >= config.very_strong)


def main_category(signals: Sequence[dict[str, Any]]) -> str:
    """The case's category: fake accounts when the sign-up evidence weighs most, else fake engagement."""
    weights: dict[str, float] = defaultdict(float)
    for s in signals:
        weights[s["category"]] += float(s["weight"])
    if weights["fake_account"] and weights["fake_account"] >= weights["fake_engagement"]:
        return "fake_account"
    return "fake_engagement"


def beneficiaries(
    flagged: Iterable[int], events: Iterable[Event], follows: Iterable[FollowRow], *, min_accounts: int
) -> dict[int, int]:
    """For each flagged account, the creator who benefits from it — the one that got most of its acts, when at
    least ``min_accounts`` flagged accounts point at the same creator (one fake account proves nothing about
    whom it was bought by)."""
    flagged = set(flagged)
    per_user: dict[int, Counter[int]] = defaultdict(Counter)
    for e in events:
        if e.user_id in flagged and e.kind in ACTS:
            per_user[e.user_id][e.author_id] += 1
    for f in follows:
        if f.follower_id in flagged and f.kind == "follow":
            per_user[f.follower_id][f.followee_id] += 1
    top: dict[int, int] = {}
    for user_id, counter in per_user.items():
        creator, count = counter.most_common(1)[0]
        if count * 2 > sum(counter.values()):
            top[user_id] = creator
    backing = Counter(top.values())
    return {u: c for u, c in top.items() if backing[c] >= min_accounts and c not in flagged}

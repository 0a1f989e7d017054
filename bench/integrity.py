"""Fake-engagement evaluation harness (issue #21, "Behaviour violations"): plays organic users and attack rings
through the product's real HTTP API on a fresh instance, then asks the integrity app which accounts it flagged
and how much traffic-pool score the attacks still bought.

    .venv/bin/python bench/integrity.py [--quick | --full | --tiny] [--seed 7] [--postgres] [--json] [--write]

It was written without reading the detector (``meadow/integrity/``): it only uses the interface the issue names —
``meadow.integrity.services.scan(now=None)``, ``meadow.integrity.selectors.flagged_account_ids()``, the setting
``MEADOW_INTEGRITY_ENABLED`` (False = no defence) — and the note's traffic-pool score, which distribution reads as
the note's ``signal_score`` (``meadow.distribution.services._snapshots`` — the value the pool evaluation uses).

Four runs of one seeded plan, each in its own process and database (SQLite in a temp data dir with the test
settings' embedded default, or ``--postgres``: scratch databases ``meadow_harness_*``):

    attack + defence on · attack + defence off · organic only + defence on · organic only + defence off

Organic behaviour is drawn from per-account random streams, so it is the same in all four runs; the attack runs
add the rings. For each shape, "bought" = the pool score of its target creator's notes in the attack run minus
the same notes' score in the organic-only run *with the same defence setting*; the report gives the bought score
with the defence on as a share of the bought score without it (goal < 10 %).

Organic population (sub-populations reported separately): ``regular`` (home broadband or a mobile carrier's
shared CGNAT addresses), ``heavy`` (double-tap likers: short reads, most things liked), ``campus`` (two NAT
addresses for a whole campus, a sign-up burst at an orientation event, students liking the same notes between
classes), ``office`` (one NAT address, lunch-break sessions), ``new_fan`` (brand-new accounts that arrive in a
burst from a creator's livestream and mostly engage that creator), ``churner`` (follows and unfollows a lot).
Sessions at human hours (UTC+8), impressions before reads before likes, reads of human length, varied comments
(including the short generic ones real people repeat: "好看!").

Attack shapes (each boosts a different creator's notes):
  a like_ring      — accounts created fast from a few datacenter addresses, read-then-like the target's notes
                     in a wave within minutes, no impressions
  b follow_farm    — accounts from rotating residential proxies follow the target (profile and from a note)
                     plus a few popular creators as cover, some unfollow/re-follow churn
  c slow_drip      — aged accounts, 1–2 actions a day each at human hours over every day of the run, with an
                     impression, a read and a human dwell before each like or save
  d camouflage     — accounts that browse and like like organic users every day and also engage the target
  e comment_tmpl   — fast-made accounts leaving templated near-duplicate comments (with likes)
  f device_farm    — a phone farm: two 4G addresses, one device model and build, human-like reads, phones
                     worked through one after another
Shapes a–c carry the issue's goals (≥ 90 % flagged); d–f are reported separately.
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday; the users live at UTC+8
LOCAL_OFFSET = 8
PASSWORD = "harness-Pw-2026!"  # scratch accounts on a throwaway database

SIZES: dict[str, dict[str, int]] = {
    # organic users, days of activity, creators, notes per creator, accounts per ring
    "smoke": {
        "organic": 14,
        "days": 2,
        "creators": 8,
        "notes": 1,
        "ring": 3,
    },  # tests/test_integrity_harness.py
    "tiny": {"organic": 36, "days": 2, "creators": 9, "notes": 2, "ring": 6},
    "quick": {"organic": 120, "days": 3, "creators": 10, "notes": 2, "ring": 12},
    "full": {"organic": 600, "days": 8, "creators": 24, "notes": 3, "ring": 30},
}
SHAPES = ["like_ring", "follow_farm", "slow_drip", "camouflage", "comment_tmpl", "device_farm"]
GOAL_SHAPES = {"like_ring", "follow_farm", "slow_drip"}
TOPICS = ["food", "travel", "beauty", "fashion", "fitness", "tech", "pets", "home"]

# --- user agents and networks -----------------------------------------------------------------------------------
PHONES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; 2201117TG) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; V2247) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; CPH2343) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
]
EMULATOR_UA = [
    "Mozilla/5.0 (Linux; Android 9; SM-G977N Build/LMY48Z) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 7.1.2; ASUS_Z01QD Build/N2G48H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0 Mobile Safari/537.36",
]
FARM_UA = "Mozilla/5.0 (Linux; Android 10; SM-A105F Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Mobile Safari/537.36"
CAMPUS_IPS = ["103.18.4.10", "103.18.4.11"]
OFFICE_IP = "210.186.77.5"
CGNAT = [f"100.{64 + i // 250}.{(i * 7) % 250}.{1 + i % 200}" for i in range(24)]  # a carrier's shared exits


def home_ip(rng: random.Random) -> str:
    first = rng.choice([175, 60, 115, 211, 218, 219, 42])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


# --- text ----------------------------------------------------------------------------------------------------------
NOTE_TITLES = {
    # titles have at most 20 characters
    "food": ["Penang kway teow", "15-minute laksa", "Ipoh kopitiam picks"],
    "travel": ["Quiet days, Langkawi", "Cameron on a budget", "Sunrise at Broga"],
    "beauty": ["Humid-day skincare", "5 lipsticks compared", "No-makeup look"],
    "fashion": ["Office outfits, hot", "Thrifted denim haul", "Monsoon capsule"],
    "fitness": ["20-min home workout", "Running at 35", "Desk stretches"],
    "tech": ["Budget phone camera", "My tidy desk setup", "Earbuds I use daily"],
    "pets": ["Cat's first week", "Homemade dog treats", "Our rescue rabbit"],
    "home": ["Balcony garden ideas", "Rental room makeover", "Meal-prep kitchen"],
}
OPENERS = ["", "", "Wow ", "哇 ", "Eh ", "Omg ", "天啊 ", "Aiyo ", "Honestly ", "Ok "]
PHRASES = {
    "food": [
        "this looks so good",
        "going there this weekend",
        "是不是要排很久",
        "sedapnya",
        "what time do they open?",
    ],
    "travel": [
        "adding this to my list",
        "how much was the hotel?",
        "好想去",
        "cantiknya tempat ni",
        "which month did you go?",
    ],
    "beauty": [
        "is it ok for oily skin?",
        "我也在用这个",
        "shade number please",
        "lawa sangat",
        "how long does it last?",
    ],
    "fashion": [
        "where is the top from?",
        "这套好好看",
        "need this for work",
        "cun!",
        "what size are you wearing?",
    ],
    "fitness": ["trying this tonight", "坚持就是胜利", "my back needs this", "semangat!", "how many sets?"],
    "tech": [
        "battery life ok?",
        "求链接",
        "same setup as mine haha",
        "berapa harga?",
        "does it work with android?",
    ],
    "pets": ["so cute I can't", "好可爱", "what breed is she?", "comelnya", "my cat does the same thing"],
    "home": [
        "love the plants",
        "好温馨",
        "where did you get the shelf?",
        "cantik rumah",
        "saving this for later",
    ],
}
ENDINGS = ["", "", "", "!", "!!", " 😍", " 🥹", " 👍", " haha", "~", " ❤️", " 😂"]
GENERIC = ["好看!", "nice", "👍", "love this", "太美了", "cantik", "wow", "收藏了"]
FAN_LINES = [
    "always waiting for your posts",
    "found you from the live, so happy",
    "昨天直播太好笑了",
    "your voice is so calming",
    "best creator on here honestly",
    "baru follow, suka sangat",
    "can you do a part 2?",
    "这个我要学",
]
TEMPLATE = ["{a}！{p}真的{q}，{c}{e}", "{a}!! {p} {q}, {c} {e}"]
TMPL_SLOTS = {
    "a": ["太绝了", "绝绝子", "爱了爱了"],
    "p": ["这个", "这款", "博主推荐的"],
    "q": ["好用", "yyds", "超值"],
    "c": ["已下单", "冲冲冲", "求链接"],
    "e": ["🔥", "💯", "❤️"],
}


def organic_comment(rng: random.Random, topic: str) -> str:
    if rng.random() < 0.18:
        return rng.choice(GENERIC)
    text = rng.choice(OPENERS) + rng.choice(PHRASES[topic]) + rng.choice(ENDINGS)
    if rng.random() < 0.25:
        text += " " + rng.choice(PHRASES[rng.choice(TOPICS)])
    return text.strip()


def handle_for(rng: random.Random, kind: str, n: int) -> str:
    if (
        kind == "bot" or rng.random() < 0.2
    ):  # platform-default style handles: bots use them, so do many people
        return "user" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(9))
    names = [
        "lily",
        "jia",
        "wei",
        "aisyah",
        "mei",
        "kumar",
        "xin",
        "nurul",
        "hao",
        "siti",
        "jun",
        "farah",
        "ken",
    ]
    tails = ["", "_", ".", "x"]
    return f"{rng.choice(names)}{rng.choice(tails)}{rng.choice(['', 'my', 'kl', 'pg', 'jb'])}{n}"


# --- the plan --------------------------------------------------------------------------------------------------------
@dataclass
class Account:
    key: str
    kind: str  # creator | organic | ring
    group: str  # sub-population or attack shape
    handle: str
    signup_at: datetime
    ua: str
    ips: list[str]
    interests: dict[str, float] = field(default_factory=dict)


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    actor: str = field(compare=False)
    action: str = field(compare=False)
    args: dict = field(compare=False, default_factory=dict)


@dataclass
class Plan:
    size: dict[str, int]
    seed: int
    accounts: dict[str, Account]
    notes: list[tuple[str, str, str, datetime]]  # (creator key, topic, title, published at)
    events: list[Event]
    targets: dict[str, str]  # shape -> creator key
    fan_of: dict[str, str]  # new-fan group creator
    end: datetime


class Builder:
    def __init__(self, seed: int, size: dict[str, int]) -> None:
        self.seed = seed
        self.size = size
        self.accounts: dict[str, Account] = {}
        self.events: list[Event] = []
        self.seq = 0
        self.days = size["days"]
        self.end = START + timedelta(days=self.days)
        self.handles: set[str] = set()

    def rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}")

    def add(self, at: datetime, actor: str, action: str, **args: Any) -> None:
        self.seq += 1
        self.events.append(Event(at, self.seq, actor, action, args))

    def account(
        self, key: str, kind: str, group: str, signup_at: datetime, ua: str, ips: list[str]
    ) -> Account:
        rng = self.rng("handle:" + key)
        n = len(self.accounts)
        handle = handle_for(rng, "bot" if kind == "ring" and group != "camouflage" else "human", n)
        while handle in self.handles:
            handle = handle_for(rng, "human", n)
        self.handles.add(handle)
        acc = Account(key, kind, group, handle, signup_at, ua, ips)
        self.accounts[key] = acc
        self.add(signup_at, key, "signup")
        return acc

    # human hours: the local hour's weight (UTC+8), people sleep 2–7
    HOURS = [2, 1, 0.3, 0.1, 0.1, 0.1, 0.4, 1.5, 2.5, 2, 2, 2.5, 4, 3.5, 2, 2, 2.5, 3, 3, 3.5, 5, 6, 5.5, 4]

    def human_time(self, rng: random.Random, day: int, hours: list[float] | None = None) -> datetime:
        weights = hours or self.HOURS
        local_hour = rng.choices(range(24), weights=weights)[0]
        return START + timedelta(days=day, hours=local_hour - LOCAL_OFFSET, seconds=rng.uniform(0, 3600))

    def build(self) -> Plan:
        size = self.size
        crng = self.rng("creators")
        creators = []
        for i in range(size["creators"]):
            topic = TOPICS[i % len(TOPICS)]
            acc = self.account(
                f"creator{i}",
                "creator",
                "creator",
                START - timedelta(days=crng.randint(60, 400)),
                crng.choice(PHONES),
                [home_ip(crng)],
            )
            acc.interests = {topic: 1.0}
            creators.append(acc)
        notes: list[tuple[str, str, str, datetime]] = []
        popularity: list[float] = []
        for i, acc in enumerate(creators):
            topic = TOPICS[i % len(TOPICS)]
            quality = crng.lognormvariate(0, 0.5)
            for j in range(size["notes"]):
                at = START - timedelta(days=crng.uniform(0.2, 2.5))
                base = NOTE_TITLES[topic][j % 3]
                title = base if j < 3 else f"{base[:15]} ({j})"
                notes.append((acc.key, topic, title, at))
                popularity.append(quality)
                self.add(at, acc.key, "publish", note=len(notes) - 1)
        # targets: the smallest creators (the ones who buy engagement); new fans follow two others
        order = sorted(range(len(creators)), key=lambda i: self.rng(f"q{i}").random())
        targets = {shape: creators[order[k]].key for k, shape in enumerate(SHAPES)}
        fan_creators = [creators[order[len(SHAPES)]].key, creators[order[len(SHAPES) + 1]].key]
        self.notes = notes
        self.popularity = popularity
        self.notes_of: dict[str, list[int]] = defaultdict(list)
        for idx, (ck, *_rest) in enumerate(notes):
            self.notes_of[ck].append(idx)
        self.creators = creators
        fan_of: dict[str, str] = {}
        self._organic(fan_creators, fan_of)
        self._attacks(targets)
        # the scheduler's jobs: pool evaluation every hour, the integrity scan every 6 hours, a last one at the end
        t = START
        while t <= self.end:
            self.add(t, "", "tick", scan=(t - START).total_seconds() % (6 * 3600) == 0)
            t += timedelta(hours=1)
        self.add(self.end + timedelta(minutes=30), "", "tick", scan=True)
        return Plan(size, self.seed, self.accounts, notes, sorted(self.events), targets, fan_of, self.end)

    # --- organic ---------------------------------------------------------------------------------------------------
    def _pick_notes(
        self, rng: random.Random, interests: dict[str, float], k: int, own: str = ""
    ) -> list[int]:
        weights = []
        for idx, (ck, topic, _t, _a) in enumerate(self.notes):
            w = self.popularity[idx] * (0.15 + 3.0 * interests.get(topic, 0.0))
            weights.append(0.0 if ck == own else w)
        picked: list[int] = []
        for _ in range(k * 3):
            if len(picked) >= k:
                break
            idx = rng.choices(range(len(self.notes)), weights=weights)[0]
            if idx not in picked:
                picked.append(idx)
        return picked

    def _session(
        self,
        key: str,
        rng: random.Random,
        t: datetime,
        interests: dict[str, float],
        *,
        like_p: float,
        dwell_median: float,
        state: dict,
        cards: int | None = None,
        extra: list[int] | None = None,
    ) -> datetime:
        """One feed session: the cards shown (impressions), some opened, read for a human time, some liked,
        saved, commented, the author followed; the clock moves through it. Returns when it ended."""
        shown = self._pick_notes(rng, interests, cards or rng.randint(6, 20))
        for idx in extra or []:
            if idx not in shown:
                shown.insert(rng.randint(0, len(shown)), idx)
        shown = [i for i in shown if self.notes[i][3] < t]
        if not shown:
            return t
        self.add(t, key, "impressions", notes=shown)
        for idx in shown:
            t += timedelta(seconds=rng.uniform(2, 14))
            ck, topic, _title, _at = self.notes[idx]
            forced = idx in (extra or [])
            if not forced and rng.random() > 0.07 + 0.3 * interests.get(topic, 0.0):
                continue
            self.add(t, key, "read", note=idx, source="discover")
            dwell = min(max(rng.lognormvariate(0, 0.7) * dwell_median, 4.0), 900.0)
            act = t + timedelta(seconds=dwell * rng.uniform(0.5, 1.0))
            liked = idx in state["liked"]
            p = like_p * (1.6 if forced else 1.0)
            if not liked and rng.random() < p:
                self.add(act, key, "like", note=idx)
                state["liked"].add(idx)
                act += timedelta(seconds=rng.uniform(0.5, 4))
            if idx not in state["saved"] and rng.random() < p * 0.35:
                self.add(act, key, "save", note=idx)
                state["saved"].add(idx)
                act += timedelta(seconds=rng.uniform(1, 5))
            if rng.random() < p * 0.12 + (0.02 if forced else 0):
                self.add(act + timedelta(seconds=rng.uniform(8, 60)), key, "comment", note=idx,
                         text=organic_comment(rng, topic))  # fmt: skip
            if ck not in state["following"] and rng.random() < p * 0.12 + (0.25 if forced else 0):
                self.add(act + timedelta(seconds=rng.uniform(1, 4)), key, "note_follow", note=idx)
                state["following"].add(ck)
            t += timedelta(seconds=dwell + rng.uniform(1, 5))
        if state["following"] and rng.random() < state.get("unfollow_p", 0.02):
            ck = rng.choice(sorted(state["following"]))
            self.add(t + timedelta(seconds=rng.uniform(3, 30)), key, "unfollow", creator=ck)
            state["following"].discard(ck)
        return t

    def _interests(self, rng: random.Random, bias: str | None = None) -> dict[str, float]:
        chosen = rng.sample(TOPICS, rng.randint(1, 3))
        if bias and bias not in chosen:
            chosen[0] = bias
        raw = {t: rng.uniform(0.3, 1.0) for t in chosen}
        total = sum(raw.values())
        return {t: v / total for t, v in raw.items()}

    def _organic(self, fan_creators: list[str], fan_of: dict[str, str]) -> None:
        n = self.size["organic"]
        mix = [("regular", 0.62), ("heavy", 0.05), ("campus", 0.1), ("office", 0.06), ("new_fan", 0.12),
               ("churner", 0.05)]  # fmt: skip
        groups: list[str] = []
        for g, share in mix:
            groups += [g] * round(n * share)
        groups = (groups + ["regular"] * n)[:n]
        fan_count = 0
        for i, group in enumerate(groups):
            key = f"org{i}"
            rng = self.rng(key)
            ua = rng.choice(PHONES)
            signup = START - timedelta(days=rng.uniform(3, 120), seconds=rng.uniform(0, 3600))
            like_p, dwell, rate = (
                rng.uniform(0.08, 0.35),
                30.0,
                min(max(rng.lognormvariate(0.2, 0.6), 0.3), 5.0),
            )
            hours = None
            if group == "campus":
                ips = CAMPUS_IPS
                interests = self._interests(rng, "food")
                if (
                    rng.random() < 0.45
                ):  # orientation day: the club signs up on the campus network, 10:00–13:00
                    signup = START + timedelta(hours=10 - LOCAL_OFFSET, minutes=rng.uniform(0, 180))
            elif group == "office":
                ips = [OFFICE_IP]
                interests = self._interests(rng, "fashion")
                hours = [0.2] * 7 + [0.5, 1, 0.2, 0.2, 0.5, 8, 6, 0.3, 0.3, 0.3, 0.5, 1.5, 2, 2.5, 3, 2.5, 1]
            elif group == "new_fan":
                creator = fan_creators[fan_count % 2]
                fan_count += 1
                fan_of[key] = creator
                ips = [home_ip(rng)] if rng.random() < 0.6 else rng.sample(CGNAT, 3)
                interests = self._interests(
                    rng, self.accounts[creator].interests and next(iter(self.accounts[creator].interests))
                )
                # the livestream on day 1 at 21:00 local: fans sign up within the hour
                signup = START + timedelta(days=1, hours=21 - LOCAL_OFFSET, minutes=rng.uniform(0, 60))
            else:
                ips = [home_ip(rng)] if rng.random() < 0.7 else rng.sample(CGNAT, 4)
                interests = self._interests(rng)
            if group == "heavy":
                like_p, dwell, rate = rng.uniform(0.5, 0.75), 7.0, rng.uniform(2, 5)
            acc = self.account(key, "organic", group, signup, ua, ips)
            acc.interests = interests
            state: dict = {"liked": set(), "saved": set(), "following": set(),
                           "unfollow_p": 0.25 if group == "churner" else 0.02}  # fmt: skip
            for day in range(self.days):
                sessions = self._poisson(rng, rate)
                day_start = START + timedelta(days=day)
                if group == "new_fan" and day >= 1:
                    first = day == 1
                    t = (
                        (signup + timedelta(minutes=rng.uniform(1, 8)))
                        if first
                        else self.human_time(rng, day)
                    )
                    if t < day_start + timedelta(days=1):
                        mine = [i for i in self.notes_of[fan_of[key]] if self.notes[i][3] < t]
                        own_interest = {**interests, self.notes[mine[0]][1]: 1.0} if mine else interests
                        t = self._session(key, rng, t, own_interest, like_p=0.55 if first else 0.3, dwell_median=40,
                                          state=state, cards=rng.randint(2, 5), extra=mine if first else mine[:1])  # fmt: skip
                        if first and rng.random() < 0.5:
                            self.add(t + timedelta(seconds=rng.uniform(5, 60)), key, "comment", note=mine[0],
                                     text=rng.choice(FAN_LINES) + rng.choice(ENDINGS))  # fmt: skip
                    sessions = self._poisson(rng, 0.5)
                elif group == "new_fan":
                    continue
                for _ in range(sessions):
                    t = self.human_time(rng, day, hours)
                    if group == "campus" and rng.random() < 0.4:  # between classes: 10:00 and 15:00 breaks
                        t = START + timedelta(days=day, hours=rng.choice([10, 15]) - LOCAL_OFFSET,
                                              minutes=rng.uniform(0, 15))  # fmt: skip
                    if t <= signup:
                        continue
                    self._session(key, rng, t, interests, like_p=like_p, dwell_median=dwell, state=state)
                if group == "churner" and rng.random() < 0.6:  # follows a few, unfollows a few
                    for ck in rng.sample([c.key for c in self.creators], 2):
                        t = self.human_time(rng, day)
                        if t > signup:
                            self.add(t, key, "follow", creator=ck)
                            self.add(t + timedelta(hours=rng.uniform(2, 30)), key, "unfollow", creator=ck)

    @staticmethod
    def _poisson(rng: random.Random, lam: float) -> int:
        k, p, limit = 0, 1.0, pow(2.718281828, -lam)
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1

    # --- attacks ---------------------------------------------------------------------------------------------------
    def _attacks(self, targets: dict[str, str]) -> None:
        r = self.size["ring"]
        for shape in SHAPES:
            getattr(self, "_" + shape)(shape, targets[shape], r)

    def _ring_key(self, shape: str, i: int) -> str:
        return f"{shape}{i}"

    def _like_ring(self, shape: str, target: str, r: int) -> None:
        rng = self.rng(shape)
        dc = [f"45.76.12.{10 + k}" for k in range(4)]
        made = START + timedelta(days=1, hours=3 - LOCAL_OFFSET)  # 03:00 local: the order is filled at night
        for i in range(r):
            key = self._ring_key(shape, i)
            self.account(key, "ring", shape, made + timedelta(seconds=i * rng.uniform(30, 150)),
                         rng.choice(EMULATOR_UA), [dc[i % len(dc)]])  # fmt: skip
        wave = made + timedelta(hours=2)
        for n, idx in enumerate(self.notes_of[target]):
            for i in range(r):
                key = self._ring_key(shape, i)
                t = wave + timedelta(minutes=n * 20 + rng.uniform(0, 12))
                self.add(t, key, "read", note=idx, source="direct")
                self.add(t + timedelta(seconds=rng.uniform(1, 4)), key, "like", note=idx)
                if rng.random() < 0.3:
                    self.add(t + timedelta(seconds=rng.uniform(4, 8)), key, "save", note=idx)

    def _follow_farm(self, shape: str, target: str, r: int) -> None:
        rng = self.rng(shape)
        popular = sorted(self.creators, key=lambda c: -self.popularity[self.notes_of[c.key][0]])[:5]
        r = int(r * 1.5)
        for i in range(r):
            key = self._ring_key(shape, i)
            made = START + timedelta(days=rng.uniform(0.0, 1.5))
            self.account(key, "ring", shape, made, rng.choice(PHONES), [home_ip(rng)])  # rotating proxies
            t = START + timedelta(days=1, hours=rng.uniform(0, 6))
            if t < made:
                t = made + timedelta(minutes=rng.uniform(5, 30))
            for ck in rng.sample([c.key for c in popular if c.key != target], 3):  # cover
                t += timedelta(seconds=rng.uniform(5, 40))
                self.add(t, key, "follow", creator=ck)
            t += timedelta(seconds=rng.uniform(5, 40))
            if rng.random() < 0.45:
                idx = rng.choice(self.notes_of[target])
                self.add(t, key, "read", note=idx, source="profile")
                self.add(t + timedelta(seconds=rng.uniform(2, 6)), key, "note_follow", note=idx)
            else:
                self.add(t, key, "follow", creator=target)
            if rng.random() < 0.35:  # follow-for-follow churn on the cover accounts
                ck = popular[0].key if popular[0].key != target else popular[1].key
                later = t + timedelta(hours=rng.uniform(10, 30))
                self.add(later, key, "unfollow", creator=ck)
                self.add(later + timedelta(hours=rng.uniform(1, 8)), key, "follow", creator=ck)

    def _slow_drip(self, shape: str, target: str, r: int) -> None:
        notes = self.notes_of[target]
        for i in range(r):
            key = self._ring_key(shape, i)
            arng = self.rng(key)
            self.account(key, "ring", shape, START - timedelta(days=arng.uniform(20, 60)), arng.choice(PHONES),
                         [home_ip(arng)])  # fmt: skip
            todo = [("like", n) for n in notes] + [("save", n) for n in notes if arng.random() < 0.4]
            arng.shuffle(todo)
            per_day = max(1, -(-len(todo) // self.days))
            for day in range(self.days):
                for action, idx in todo[day * per_day : (day + 1) * per_day]:
                    t = self.human_time(arng, day)
                    cover = self._pick_notes(arng, {self.notes[idx][1]: 1.0}, 3, own=target)
                    shown = [*cover[:1], idx, *cover[1:]]
                    self.add(t, key, "impressions", notes=[i for i in shown if self.notes[i][3] < t])
                    t += timedelta(seconds=arng.uniform(3, 10))
                    self.add(t, key, "read", note=idx, source="discover")
                    t += timedelta(seconds=arng.uniform(8, 40))
                    self.add(t, key, action, note=idx)

    def _camouflage(self, shape: str, target: str, r: int) -> None:
        rng = self.rng(shape)
        studio = [f"202.75.{rng.randint(0, 255)}.{k}" for k in range(1, 6)]
        for i in range(r):
            key = self._ring_key(shape, i)
            arng = self.rng(key)
            acc = self.account(key, "ring", shape, START - timedelta(days=arng.uniform(10, 90)),
                               arng.choice(PHONES), [studio[i % len(studio)]])  # fmt: skip
            interests = self._interests(arng)
            acc.interests = interests
            state: dict = {"liked": set(), "saved": set(), "following": set(), "unfollow_p": 0.02}
            for day in range(self.days):
                for s in range(max(1, self._poisson(arng, 1.5))):
                    t = self.human_time(arng, day)
                    extra = [arng.choice(self.notes_of[target])] if s == 0 else None
                    self._session(
                        key, arng, t, interests, like_p=0.2, dwell_median=25, state=state, extra=extra
                    )

    def _comment_tmpl(self, shape: str, target: str, r: int) -> None:
        rng = self.rng(shape)
        ips = [f"154.16.{rng.randint(0, 255)}.{k}" for k in range(1, 4)]
        made = START + timedelta(days=1, hours=14 - LOCAL_OFFSET)
        for i in range(r):
            key = self._ring_key(shape, i)
            self.account(key, "ring", shape, made + timedelta(seconds=i * rng.uniform(60, 240)), rng.choice(PHONES),
                         [ips[i % 3]])  # fmt: skip
            t = made + timedelta(hours=1, minutes=rng.uniform(0, 90))
            for idx in self.notes_of[target]:
                text = rng.choice(TEMPLATE).format(**{k: rng.choice(v) for k, v in TMPL_SLOTS.items()})
                self.add(t, key, "read", note=idx, source="direct")
                self.add(t + timedelta(seconds=rng.uniform(6, 20)), key, "like", note=idx)
                self.add(t + timedelta(seconds=rng.uniform(20, 40)), key, "comment", note=idx, text=text)
                t += timedelta(minutes=rng.uniform(1, 6))

    def _device_farm(self, shape: str, target: str, r: int) -> None:
        rng = self.rng(shape)
        routers = ["113.210.5.77", "113.210.9.140"]
        for i in range(r):
            key = self._ring_key(shape, i)
            self.account(key, "ring", shape, START + timedelta(days=i % 3, hours=rng.uniform(1, 14)), FARM_UA,
                         [routers[i % 2]])  # fmt: skip
        for day in range(1, self.days):
            t = START + timedelta(days=day, hours=11 - LOCAL_OFFSET)  # the operator works phone by phone
            for i in range(r):
                key = self._ring_key(shape, i)
                idx = self.notes_of[target][(day + i) % len(self.notes_of[target])]
                cover = self._pick_notes(rng, {self.notes[idx][1]: 1.0}, 4, own=target)
                self.add(t, key, "impressions", notes=[idx, *cover])
                self.add(t + timedelta(seconds=rng.uniform(3, 8)), key, "read", note=idx, source="discover")
                t2 = t + timedelta(seconds=rng.uniform(20, 60))
                self.add(t2, key, "like", note=idx)
                if rng.random() < 0.5:
                    self.add(t2 + timedelta(seconds=rng.uniform(2, 6)), key, "save", note=idx)
                t = t2 + timedelta(seconds=rng.uniform(40, 120))


def make_plan(seed: int, size_name: str) -> Plan:
    return Builder(seed, SIZES[size_name]).build()


# --- running a plan through the API ---------------------------------------------------------------------------------
def _png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (96, 128), color).save(out, format="PNG")
    return out.getvalue()


def integrity_available() -> str:
    """'' when the interface is there, else why not."""
    try:
        from meadow.integrity import selectors as _s
        from meadow.integrity import services as _v
    except ImportError as exc:
        return f"integrity app missing ({exc})"
    if not hasattr(_v, "scan") or not hasattr(_s, "flagged_account_ids"):
        return "integrity app missing (no scan() / flagged_account_ids())"
    return ""


def pool_scores(note_ids: list[int]) -> dict[int, float]:
    """The traffic-pool score distribution reads for each note (``_snapshots``: what ``pools_evaluate``
    uses), falling back to ``NoteStats.signal_score``."""
    try:
        from meadow.distribution.services import _snapshots

        snaps = _snapshots(note_ids)
        return {pk: float(snaps.get(pk, {}).get("score", 0.0)) for pk in note_ids}
    except ImportError:
        from meadow.engagement.models import NoteStats

        found = dict(NoteStats.objects.filter(note_id__in=note_ids).values_list("note_id", "signal_score"))
        return {pk: float(found.get(pk, 0.0)) for pk in note_ids}


def run_plan(plan: Plan, *, attack: bool, defence: bool, log=None) -> dict:
    """Play ``plan`` (with or without its rings) through the HTTP API on the configured database, which must be
    migrated and empty. Returns the run's figures (JSON-able)."""
    import time_machine
    from django.conf import settings
    from django.test import Client

    settings.MEADOW_INTEGRITY_ENABLED = defence
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    missing = integrity_available()
    clients: dict[str, Client] = {}  # one per account: each phone keeps its own cookies (session, device)
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    note_ids: dict[int, int] = {}
    status: Counter = Counter()
    failures: list[str] = []
    ip_turn: Counter = Counter()
    scan_errors: list[str] = []
    scans = 0
    heap = [e for e in plan.events if attack or e.actor == "" or plan.accounts[e.actor].kind != "ring"]
    heapq.heapify(heap)
    seq = len(plan.events) + 1
    started = time.perf_counter()

    def headers(acc: Account) -> dict:
        ip_turn[acc.key] += 1
        out = {"REMOTE_ADDR": acc.ips[ip_turn[acc.key] % len(acc.ips)], "HTTP_USER_AGENT": acc.ua}
        if acc.key in tokens:
            out["HTTP_AUTHORIZATION"] = f"Bearer {tokens[acc.key]}"
        return out

    def call(method: str, path: str, acc: Account, action: str, body: Any = None, **extra: Any):
        kw = headers(acc) | extra
        client = clients.get(acc.key)
        if client is None:
            client = clients[acc.key] = Client()
        if method == "post_multipart":
            for value in body.values():
                if hasattr(value, "seek"):
                    value.seek(0)
            resp = client.post(path, data=body, **kw)
        elif body is not None:
            resp = getattr(client, method)(path, data=json.dumps(body), content_type="application/json", **kw)
        else:
            resp = getattr(client, method)(path, **kw)
        if resp.status_code == 401 and action not in ("signup", "token") and sign_in(acc):
            return call(
                method, path, acc, action, body, **extra
            )  # the app signs in again when a token expired
        status[f"{action} {resp.status_code}"] += 1
        if resp.status_code >= 500 and len(failures) < 10:
            failures.append(f"{action} {path} {resp.status_code} {resp.content[:300]!r}")
        return resp

    def sign_in(acc: Account) -> bool:
        resp = call("post", "/api/v1/auth/token", acc, "token", {"login": acc.handle, "password": PASSWORD})
        if resp.status_code != 200:
            return False
        tokens[acc.key] = resp.json()["token"]
        return True

    traveller = time_machine.travel(plan.events[0].at, tick=False)
    clock = traveller.start()
    try:
        while heap:
            ev = heapq.heappop(heap)
            clock.move_to(ev.at)
            if ev.action == "tick":
                from meadow.distribution.services import pools_evaluate_due

                pools_evaluate_due(now=ev.at)
                if ev.args.get("scan") and not missing and ev.at >= START:
                    from meadow.integrity.services import scan

                    try:
                        scan(now=ev.at)
                        scans += 1
                    except Exception:  # reported, the run goes on
                        if len(scan_errors) < 3:
                            scan_errors.append(traceback.format_exc()[-1500:])
                continue
            acc = plan.accounts[ev.actor]
            if ev.action == "signup":
                resp = call("post", "/api/v1/auth/signup", acc, "signup", {
                    "handle": acc.handle, "email": f"{acc.handle}@mail.example.com", "password": PASSWORD,
                    "agree_terms": True, "display_name": acc.handle.split("_")[0][:20],
                })  # fmt: skip
                if (
                    resp.status_code == 429 and ev.args.get("tries", 0) < 6
                ):  # a person (or a script) retries later
                    seq += 1
                    later = ev.at + timedelta(minutes=20 + 15 * ev.args.get("tries", 0))
                    heapq.heappush(
                        heap, Event(later, seq, ev.actor, "signup", {"tries": ev.args.get("tries", 0) + 1})
                    )
                    ip_turn[acc.key] += 1  # and from the next address it has
                    continue
                if resp.status_code != 201:
                    continue
                sign_in(acc)
                continue
            if acc.key not in tokens:
                status[f"{ev.action} skipped (no account)"] += 1
                continue
            if ev.action == "publish":
                idx = ev.args["note"]
                _ck, topic, title, _at = plan.notes[idx]
                prng = random.Random(f"{plan.seed}:img:{idx}")
                image = io.BytesIO(_png((prng.randint(0, 255), prng.randint(0, 255), prng.randint(0, 255))))
                image.name = f"n{idx}.png"
                body = {
                    "title": title,
                    "body": f"{title}. Notes from my week, #{topic} lovers.",
                    "images": image,
                }
                resp = call("post_multipart", "/api/v1/notes", acc, "publish", body)
                if resp.status_code == 201:
                    note_ids[idx] = resp.json()["id"]
                elif len(failures) < 10:
                    failures.append(f"publish {resp.status_code} {resp.content[:300]!r}")
                continue
            if "note" in ev.args and ev.args["note"] not in note_ids:
                status[f"{ev.action} skipped (no note)"] += 1
                continue
            nid = note_ids.get(ev.args.get("note", -1))
            if ev.action == "impressions":
                ids = [note_ids[i] for i in ev.args["notes"] if i in note_ids]
                call(
                    "post", "/api/v1/impressions", acc, "impressions", {"note_ids": ids, "source": "discover"}
                )
            elif ev.action == "read":
                call("post", f"/api/v1/notes/{nid}/read?source={ev.args['source']}", acc, "read")
            elif ev.action in ("like", "save"):
                call("post", f"/api/v1/notes/{nid}/{ev.action}?source=discover", acc, ev.action)
            elif ev.action == "comment":
                call("post", f"/api/v1/notes/{nid}/comments", acc, "comment", {"body": ev.args["text"]})
            elif ev.action == "note_follow":
                call("post", f"/api/v1/notes/{nid}/follow?source=discover", acc, "note_follow")
            elif ev.action in ("follow", "unfollow"):
                handle = plan.accounts[ev.args["creator"]].handle
                call(
                    "post" if ev.action == "follow" else "delete",
                    f"/api/v1/users/{handle}/follow",
                    acc,
                    ev.action,
                )
            else:
                raise ValueError(ev.action)
    finally:
        traveller.stop()
    elapsed = time.perf_counter() - started

    from meadow.accounts.models import User

    ids = dict(
        User.objects.filter(handle__in=[a.handle for a in plan.accounts.values()]).values_list("handle", "pk")
    )
    user_ids = {k: ids[a.handle] for k, a in plan.accounts.items() if a.handle in ids}
    flagged: set[int] = set()
    flag_error = ""
    if not missing:
        from meadow.integrity.selectors import flagged_account_ids

        try:
            flagged = set(flagged_account_ids())
        except Exception:
            flag_error = traceback.format_exc()[-1500:]
    scores = pool_scores(list(note_ids.values()))
    followers = dict(
        User.objects.filter(pk__in=[user_ids[k] for k in plan.targets.values() if k in user_ids]).values_list(
            "pk", "followers_count"
        )
    )
    return {
        "attack": attack,
        "defence": defence,
        "integrity": missing or "present",
        "elapsed_s": round(elapsed, 1),
        "requests": sum(status.values()),
        "status": dict(sorted(status.items())),
        "failures": failures,
        "scans": scans,
        "scan_errors": scan_errors,
        "flag_error": flag_error,
        "accounts": {k: user_ids.get(k) for k in plan.accounts},
        "flagged_keys": sorted(k for k, pk in user_ids.items() if pk in flagged),
        "scores": {str(idx): scores.get(pk, 0.0) for idx, pk in note_ids.items()},
        "followers": {k: followers.get(user_ids.get(k, -1), 0) for k in plan.targets.values()},
    }


# --- the four runs and the report -----------------------------------------------------------------------------------
CONFIGS = [
    ("attack", True, True),
    ("attack", True, False),
    ("organic", False, True),
    ("organic", False, False),
]


def worker(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    plan = make_plan(args.seed, args.size)
    result = run_plan(plan, attack=args.attack, defence=args.defence)
    print(json.dumps(result))


def _spawn(args, attack: bool, defence: bool, tag: str) -> subprocess.Popen:
    tmp = tempfile.mkdtemp(prefix=f"meadow-harness-{tag}-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.integrity_settings",
        "MEADOW_INTEGRITY_ENABLED": "true" if defence else "false",
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(ROOT),
        "TMPDIR": tmp,
    }
    env.pop("MEADOW_TEST_REDIS", None)
    env.pop("MEADOW_TEST_POSTGRES", None)
    if args.postgres:
        env["MEADOW_TEST_POSTGRES"] = "1"
        env["MEADOW_TEST_DATABASE_URL"] = f"{PG_SERVER}/meadow_harness_{tag}"
    cmd = [sys.executable, __file__, "--worker", "--seed", str(args.seed), f"--{args.size}"]
    cmd += ["--attack"] if attack else []
    cmd += ["--defence"] if defence else []
    out = open(Path(tmp) / "out.json", "w+")  # noqa: SIM115 — read back after the process ends
    err = open(Path(tmp) / "err.txt", "w+")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=err)
    proc.files = (out, err)  # type: ignore[attr-defined]
    return proc


def _pg(action: str, tag: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS meadow_harness_{tag} WITH (FORCE)")
        if action == "create":
            conn.execute(f"CREATE DATABASE meadow_harness_{tag}")


def run_all(args) -> dict[str, dict]:
    results: dict[str, dict] = {}
    pending = list(CONFIGS)
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.parallel:
            name, attack, defence = pending.pop(0)
            tag = f"{name}_{'on' if defence else 'off'}"
            if args.postgres:
                _pg("create", tag)
            running.append((tag, _spawn(args, attack, defence, tag)))
        time.sleep(0.5)
        for tag, proc in list(running):
            if proc.poll() is None:
                continue
            running.remove((tag, proc))
            out, err = proc.files  # type: ignore[attr-defined]
            out.seek(0)
            err.seek(0)
            text, errors = out.read(), err.read()
            out.close()
            err.close()
            shutil.rmtree(Path(out.name).parent, ignore_errors=True)
            if args.postgres:
                _pg("drop", tag)
            if proc.returncode != 0:
                raise RuntimeError(f"run {tag} failed:\n{errors[-4000:]}")
            results[tag] = json.loads(text.strip().splitlines()[-1])
            print(
                f"  run {tag}: {results[tag]['requests']} requests in {results[tag]['elapsed_s']} s",
                file=sys.stderr,
            )
    return results


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f} %)" if whole else "0/0"


def summarise(plan: Plan, results: dict[str, dict]) -> dict:
    on, off = results["attack_on"], results["attack_off"]
    base_on, base_off = results["organic_on"], results["organic_off"]
    flagged = set(on["flagged_keys"])
    by_group: dict[str, list[str]] = defaultdict(list)
    for key, acc in plan.accounts.items():
        if on["accounts"].get(key):
            by_group[f"{acc.kind}:{acc.group}"].append(key)
    notes_of: dict[str, list[str]] = defaultdict(list)
    for idx, (ck, *_r) in enumerate(plan.notes):
        notes_of[ck].append(str(idx))

    def score(run: dict, creator: str) -> float:
        return sum(run["scores"].get(i, 0.0) for i in notes_of[creator])

    shapes = {}
    for shape in SHAPES:
        members = by_group.get(f"ring:{shape}", [])
        target = plan.targets[shape]
        bought_off = score(off, target) - score(base_off, target)
        bought_on = score(on, target) - score(base_on, target)
        shapes[shape] = {
            "accounts": len(members),
            "flagged": sum(k in flagged for k in members),
            "flagged_share": (sum(k in flagged for k in members) / len(members)) if members else 0.0,
            "score_organic_off": score(base_off, target),
            "score_organic_on": score(base_on, target),
            "bought_off": bought_off,
            "bought_on": bought_on,
            "bought_ratio": (bought_on / bought_off) if bought_off > 0 else None,
            "followers_bought_off": off["followers"][target] - base_off["followers"][target],
            "followers_bought_on": on["followers"][target] - base_on["followers"][target],
            "target_flagged": target in flagged,
        }
    organic = [k for g, ks in by_group.items() if g.startswith("organic:") for k in ks]
    groups = {
        g.split(":", 1)[1]: {"accounts": len(ks), "flagged": sum(k in flagged for k in ks)}
        for g, ks in sorted(by_group.items())
        if g.startswith("organic:")
    }
    innocent = [k for k in by_group.get("creator:creator", []) if k not in plan.targets.values()]
    # the organic-only run with the defence on: what it flags there is flagged with no attack at all
    flagged_base = set(base_on["flagged_keys"])
    organic_base = [k for k in organic if base_on["accounts"].get(k)]
    lost = {}
    for creator in innocent:
        before = score(base_off, creator)
        lost[creator] = (before - score(base_on, creator)) / before if before else 0.0
    return {
        "shapes": shapes,
        "organic": {"accounts": len(organic), "flagged": sum(k in flagged for k in organic)},
        "organic_groups": groups,
        "organic_no_attack": {
            "accounts": len(organic_base),
            "flagged": sum(k in flagged_base for k in organic_base),
        },
        "innocent_creators": {"accounts": len(innocent), "flagged": sum(k in flagged for k in innocent)},
        "innocent_score_lost_max": max(lost.values()) if lost else 0.0,
        "innocent_score_lost_mean": sum(lost.values()) / len(lost) if lost else 0.0,
    }


def report(plan: Plan, results: dict[str, dict], summary: dict, args) -> str:
    on = results["attack_on"]
    lines = []
    if on["integrity"] != "present":
        lines.append(f"**{on['integrity']}** — detection figures are not available; the score table compares the "
                     "attack with the organic-only run without any defence.")  # fmt: skip
    for tag, r in results.items():
        if r["scan_errors"] or r["flag_error"]:
            lines.append(
                f"- run {tag}: scan errors: {(r['scan_errors'] or [r['flag_error']])[0].splitlines()[-1]}"
            )
        if r["failures"]:
            lines.append(f"- run {tag}: {len(r['failures'])} server errors, first: {r['failures'][0][:200]}")
    lines += [
        "",
        "| shape | ring accounts flagged | score bought, no defence | score bought, defence on | share of undefended gain | goal |",
        "|---|---|---|---|---|---|",
    ]
    for shape, s in summary["shapes"].items():
        ratio = "n/a" if s["bought_ratio"] is None else f"{100 * s['bought_ratio']:.1f} %"
        goal = "≥ 90 % flagged, < 10 % gain" if shape in GOAL_SHAPES else "(reported)"
        extra = ""
        if shape == "follow_farm":
            extra = f" (followers bought: {s['followers_bought_off']} → {s['followers_bought_on']})"
        lines.append(
            f"| {shape} | {_share(s['flagged'], s['accounts'])} | {s['bought_off']:.1f} | {s['bought_on']:.1f}{extra} "
            f"| {ratio} | {goal} |"
        )
    o = summary["organic"]
    lines += [
        "",
        f"- organic accounts wrongly flagged (attack run): **{_share(o['flagged'], o['accounts'])}** (goal ≤ 0.5 %)",
    ]
    lines.append("  - by sub-population: " + " · ".join(
        f"{g} {_share(v['flagged'], v['accounts'])}" for g, v in summary["organic_groups"].items()))  # fmt: skip
    nb = summary["organic_no_attack"]
    lines.append(
        f"- organic accounts flagged in the organic-only run: {_share(nb['flagged'], nb['accounts'])}"
    )
    ic = summary["innocent_creators"]
    lines.append(
        f"- creators who bought nothing, flagged: {_share(ic['flagged'], ic['accounts'])}; their pool score held out "
        f"by the defence in the organic-only run: mean {100 * summary['innocent_score_lost_mean']:.1f} %, "
        f"max {100 * summary['innocent_score_lost_max']:.1f} %"
    )
    lines.append("- target creators (the buyers) flagged: " + ", ".join(
        f"{shape} {'yes' if s['target_flagged'] else 'no'}" for shape, s in summary["shapes"].items()))  # fmt: skip
    lines.append(
        "- runs: "
        + "; ".join(
            f"{t} {r['requests']} requests, {r['scans']} scans, {r['elapsed_s']} s"
            for t, r in results.items()
        )
    )
    return "\n".join(lines)


def _write(text: str, args, took: float) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    body = path.read_text(encoding="utf-8")
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    command = (
        f".venv/bin/python bench/integrity.py --{args.size} --seed {args.seed}"
        + (" --postgres" if args.postgres else "")
        + " --write"
    )
    head = f"### `{command}`\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {took:.0f} s, `uptime`: {load}\n\n"
    marker = "## Integrity (fake engagement, issue #21)"
    if marker not in body:
        body = body.rstrip() + f"\n\n{marker}\n\nbench/integrity.py's docstring describes the simulation.\n"
    start = body.index(marker)
    nxt = body.find("\n## ", start + len(marker))
    section = body[start:] if nxt < 0 else body[start:nxt]
    sub = f"### `{command}`"
    if sub in section:  # replace the previous result of the same command
        s = section.index(sub)
        e = section.find("\n### ", s + len(sub))
        section = section[:s] + (section[e + 1 :] if e >= 0 else "")
    section = section.rstrip() + "\n\n" + head + text + "\n"
    body = body[:start] + section + ("" if nxt < 0 else body[nxt:])
    path.write_text(body, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    for name in SIZES:
        group.add_argument(f"--{name}", dest="size", action="store_const", const=name)
    parser.set_defaults(size="full")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres", action="store_true", help="scratch PostgreSQL databases meadow_harness_*"
    )
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (the machine has 2 cores)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    parser.add_argument("--write", action="store_true", help="record the result in bench/RESULTS.md")
    parser.add_argument("--plan", action="store_true", help="print the plan's counts and exit")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--attack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--defence", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    plan = make_plan(args.seed, args.size)
    kinds = Counter(f"{a.kind}:{a.group}" for a in plan.accounts.values())
    actions = Counter(e.action for e in plan.events)
    print(
        f"plan ({args.size}, seed {args.seed}): {dict(sorted(kinds.items()))}; events {dict(actions)}",
        file=sys.stderr,
    )
    if args.plan:
        return
    started = time.perf_counter()
    results = run_all(args)
    summary = summarise(plan, results)
    text = report(plan, results, summary, args)
    print(text)
    if args.json:
        print(
            json.dumps(
                {
                    "summary": summary,
                    "runs": {
                        t: {k: v for k, v in r.items() if k not in ("scores", "accounts")}
                        for t, r in results.items()
                    },
                },
                indent=1,
            )
        )
    if args.write:
        _write(text, args, time.perf_counter() - started)


if __name__ == "__main__":
    main()

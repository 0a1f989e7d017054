"""The matching engine: one automaton pass, context rules, spans in the original text.

How a text is checked (:meth:`Engine.check`):

1. **Fast path.** The text is encoded to UTF-8 and ASCII-lowercased (``bytes.lower``, C speed) and scanned
   once by a byte-level Aho-Corasick automaton (ahocorasick-rs) that holds every expanded term pattern plus
   *trigger* patterns: every character the fold table would change (full-width, traditional, homoglyph,
   circled, invisible…), every "term-prefix character + noise character" pair (``微 ``, ``v.x``, ``e-c``),
   and the cheap cues for the contact detectors (three numerals in a row, ``@``, ``www``, ``.com``…).
2. If a *normalisation* trigger fired, the **full path** runs instead: :func:`~.normalize.fold` (1:1
   ``str.translate``) and :func:`~.normalize.strip_noise` (one regex pass, sparse offset map), then the same
   automaton over the cleaned text. Texts without evasion never pay for it; both paths give the same hits.
3. **Context rules** per match: Latin word boundaries, allow-phrases (any overlap cancels a term), same-category
   containment (the longest match wins), and for platform names (flag ``ctx``) the contact requirement —
   contact intent nearby, a handle after the name, or a phone number / e-mail / URL nearby.
4. **Detectors** (phone, e-mail, URL; :mod:`.detectors`) run on the folded text only when a cue fired.
5. Spans are mapped back to the original string; the :class:`~.policy.Policy` turns hits into a verdict.
"""

from __future__ import annotations

import functools
import operator
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import ahocorasick_rs

from . import intent
from .detectors import (
    CN_DIGITS,
    NUMBER_WORDS,
    REPEATERS,
    SHORTENERS,
    Detection,
    find_phones,
    find_web,
)
from .hit import Hit
from .lexicon import Lexicon, Pattern, Term, expand
from .normalize import (
    CHAIN_SEPS,
    IDENTITY,
    INTRA_SEPS,
    NOISE_CHARS,
    PAIR_NOISE,
    RUN_SEPS,
    SENTINEL,
    WORD_EMOJI,
    OffsetMap,
    fold,
    fold_table,
    special_chars,
    strip_noise,
)
from .policy import DEFAULT_POLICY, Policy

MAX_TEXT_LENGTH = 1_000_000
FIELDS = ("note", "comment", "bio", "username", "dm")
ACCOUNTS = ("personal", "enterprise")

# pattern roles
_TERM, _ALLOW, _INTENT, _SLOW, _WEB, _PHONE, _SPECIAL = range(7)
_WORDLIKE = (1 << _TERM) | (1 << _ALLOW) | (1 << _INTENT)
_B_TERM = 1 << _TERM
_B_ALLOW = 1 << _ALLOW
_B_SLOW, _B_WEB, _B_PHONE, _B_SPECIAL = 1 << _SLOW, 1 << _WEB, 1 << _PHONE, 1 << _SPECIAL
# A "shifted" automaton pattern is a short Latin word pattern with the byte before it (see _compile): its match
# starts one byte early and stands for the word pattern ``base[pid]``.
_B_SHIFT = 1 << 7
_START_LETTER, _START_DIGIT, _END_LETTER, _END_DIGIT = 1, 2, 4, 8
# Short Latin patterns (v, av, wa, ig, id…) occur inside ordinary words on almost every line ("have", "away",
# "kids"); they are compiled with each byte that may precede a word start (not a letter, not a UTF-8 lead byte),
# so the automaton itself rejects the in-word occurrences and Python never sees them.
_SHIFT_MAX_LEN = 3
_BEFORE_WORD = bytes(c for c in range(256) if not (65 <= c <= 90 or 97 <= c <= 122 or c >= 0xC0))
_NEVER = b"\xff"  # never occurs in UTF-8: the slot of a pattern that only matches through its shifted forms
# Short Latin patterns that begin very common words (English was, want, way, water, wait; Malay waktu, wang,
# warna) are also compiled with each byte that may follow a word end, so the automaton drops those words too
# (the shifted form alone left ~3 rejected "wa" matches per 1,500-character post for Python).
_BOTH_SIDES = frozenset({"wa"})
_AFTER_WORD = bytes(c for c in range(256) if not (65 <= c <= 90 or 97 <= c <= 122 or 0x80 <= c <= 0xBF))


def _boundary_mask(p: str) -> int:
    m = 0
    if "a" <= p[0] <= "z":
        m |= _START_LETTER
    elif p[0].isascii() and p[0].isdigit():
        m |= _START_DIGIT
    if "a" <= p[-1] <= "z":
        m |= _END_LETTER
    elif p[-1].isascii() and p[-1].isdigit():
        m |= _END_DIGIT
    return m


def _classify(
    matches: list[tuple[int, int, int]],
    kinds: bytearray,
    bounds: bytearray,
    hay: bytes,
    base: dict[int, int],
    sole: list[_Rule | None],
    roles: list[tuple[tuple[int, Any], ...]],
    nchars: list[int],
) -> tuple[list[_TermMatch], list[tuple[int, int]], list[tuple[int, int, int, int]], int]:
    """Keep term/allow/intent matches that respect Latin/digit boundaries (checked on the bytes; shifted
    matches, see ``_B_SHIFT``, stand for their word pattern) and split them by role, in one loop (the hot path).

    Returns term matches as (start, end, rule, length in characters), allow-phrases as (start, end), intent
    words as (start, end, near, length in characters), each in the automaton's order, and the OR of all role
    bits seen."""
    seen = 0
    terms: list[_TermMatch] = []
    allows: list[tuple[int, int]] = []
    intents: list[tuple[int, int, int, int]] = []
    n = len(hay)
    for pid, bs, be in matches:
        k = kinds[pid]
        seen |= k
        if not k & _WORDLIKE:
            continue
        if k & _B_SHIFT:  # the byte before is not a letter (the automaton saw it): check the end only
            pid = base[pid]
            bs += 1
            if pid < 0:  # and the byte after is not one either (see _BOTH_SIDES)
                pid = ~pid
                be -= 1
                b = 0
            else:
                b = bounds[pid]
        else:
            b = bounds[pid]
            if b:
                c = hay[bs - 1]
                if (b & _START_LETTER and 97 <= c <= 122) or (b & _START_DIGIT and 48 <= c <= 57):
                    continue
        if b and be < n:
            c = hay[be]
            if (b & _END_LETTER and 97 <= c <= 122) or (b & _END_DIGIT and 48 <= c <= 57):
                continue
        rule = sole[pid]
        if rule is not None:  # the common case: one term role
            terms.append((bs, be, rule, nchars[pid]))
            continue
        for r, v in roles[pid]:
            if r == _TERM:
                terms.append((bs, be, v, nchars[pid]))
            elif r == _ALLOW:
                allows.append((bs, be))
            else:  # _INTENT (v: how near it must be)
                intents.append((bs, be, v, nchars[pid]))
    return terms, allows, intents, seen


_WEB_CUES = ["http", "www", "@", "艾特", "[at]", "(at)", " dot ", "点com", "点net", "点my", "点cn"] + [
    "." + t
    for t in (
        "com",
        "my",
        "net",
        "org",
        "cn",
        "io",
        "co",
        "me",
        "ly",
        "gl",
        "ee",
        "app",
        "shop",
        "store",
        "link",
        "xyz",
        "info",
        "biz",
        "cc",
        "tv",
        "sg",
        "to",
        "asia",
        "online",
        "site",
        "club",
        "top",
        "vip",
        "page",
        "bio",
        "id",
        "hk",
        "tw",
    )
]
_PHONE_SEPS = " -_/·*|~"


@cache
def _phone_cues() -> tuple[str, ...]:
    """Cheap cues that a phone number may be present: three numerals of one script in a row, two numerals
    split by one separator, or an ASCII digit next to a Chinese numeral."""
    scripts = ["0123456789", "零〇一二三四五六七八九幺", "壹贰叁肆伍陆柒捌玖"]
    cues: set[str] = set()
    for sc in scripts:
        cues.update(a + b + c for a in sc for b in sc for c in sc)
        cues.update(a + s + b for a in sc for b in sc for s in _PHONE_SEPS)
    cn = "".join(k for k in CN_DIGITS if k not in "洞两")
    cues.update(a + b for a in "0123456789" for b in cn)
    cues.update(b + a for a in "0123456789" for b in cn)
    # number words (issue #18): two in a row, or one beside an ASCII digit, with a separator between
    words = [*NUMBER_WORDS, *REPEATERS]
    for sep in (" ", "-", ", ", ","):
        cues.update(a + sep + b for a in words for b in words)
        cues.update(a + sep + d for a in words for d in "0123456789")
        cues.update(d + sep + a for a in words for d in "0123456789")
    return tuple(sorted(cues))


_HANDLE_MARKS = frozenset("0123456789._")  # one of these makes an ASCII word after a platform name a handle
_HANDLE_RE = re.compile(
    r"\s{0,2}(?P<idw>(?:id|号码|账号|帐号|号|acc|account|username|handle|user|name|nama)\s{0,2})?"
    r"(?P<sep>[:：=]|是|@)?\s{0,2}"
    r"(?P<h>@?[a-z0-9][a-z0-9._\-]{2,29}|[\u4e00-\u9fff\w]{2,20})"
)


# A quoted name or an @handle: what a reader is told to search for on another platform.
_POINTER_RE = re.compile(
    r"[「『“\"'‘《][^」』”\"'’》\n]{2,40}[」』”\"'’》]|(?<![a-z0-9._%+-])@[a-z0-9._]{3,30}"
)
# In a username, dots, underscores and dashes between letters, digits or CJK join words (tg_kakakamy,
# ig.nadiakicks, cindy_ig同名): they are checked as spaces (1:1, so spans stay), and a platform name there needs
# no further context — a username that names another platform points to an account on it.
_USERNAME_JOIN = re.compile(r"(?<=[^\W_])[._\-]+(?=[^\W_])")


class Result(NamedTuple):
    """The verdict and the hits behind it. Immutable; a named tuple (like :class:`Hit`) because every flagged
    text builds one, and a frozen dataclass costs three times as much to build."""

    verdict: str  # "pass" | "review" | "block"
    hits: tuple[Hit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "hits": [h.to_dict() for h in self.hits]}

    @property
    def categories(self) -> set[str]:
        return {h.category for h in self.hits}


_PASS = Result("pass", ())


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    severity: str
    suggestion: str
    rule: str
    ctx: bool
    redirect: bool = False  # category == "redirect" (checked per hit)


# a term match: (start, end) in hay, the rule, the length in characters
_TermMatch = tuple[int, int, _Rule, int]


def _cand_order(c: _TermMatch) -> tuple[int, int, bool]:
    return (c[0], c[0] - c[1], c[2].ctx)


def _hit_order(h: Hit) -> tuple[int, int, str]:
    return (h.start, -h.end, h.category)


# Texts up to this many UTF-8 bytes map byte offsets to characters by decoding each prefix; longer ones walk
# the sorted offsets once.
_DIRECT_CONV_MAX = 768


def _prefix_chars(hay: bytes, o: int) -> int:
    return len(hay[1:o].decode("utf-8", "surrogatepass"))


def _is_latin(c: str) -> bool:
    return "a" <= c <= "z"


def _is_wordish(c: str) -> bool:
    return ("\u3400" <= c <= "\u9fff") or ("\uf900" <= c <= "\ufaff") or c in WORD_EMOJI


@dataclass(frozen=True)
class EngineStats:
    terms: int
    patterns: int
    term_patterns: int
    trigger_patterns: int
    build_seconds: float


class Engine:
    """Compiled lexicon + policy. Build once (tens of milliseconds), then call :meth:`check` many times.

    Thread-safe: all state is read-only after construction.
    """

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        policy: Policy | None = None,
        *,
        allowed_domains: Iterable[str] = ("meadow.my", "meadow.app"),
        learned: Any = None,
    ) -> None:
        time.perf_counter()
        self.lexicon = lexicon if lexicon is not None else Lexicon.default()
        self.policy = policy or DEFAULT_POLICY
        self.allowed_domains = frozenset(d.lower() for d in allowed_domains)
        fold_table()  # warm the process-wide fold table (not counted per lexicon)
        self._tables = {(f, a): self.policy.table(f, a) for f in FIELDS for a in ACCOUNTS}
        # (field, account) -> {(category, severity): (rank, action)}, filled on first use
        self._actions: dict[tuple[str, str], dict[tuple[str, str, bool], tuple[int, str]]] = {
            key: {} for key in self._tables
        }
        # the learned layer (learned.py): a Model, "default" for the committed one, or None (off: the default,
        # see learned.py on its cost)
        if isinstance(learned, str):
            from .learned import default_model

            learned = default_model()
        self.learned = learned
        t1 = time.perf_counter()
        self._compile(self.lexicon.enabled_terms)
        t2 = time.perf_counter()
        self.stats = EngineStats(
            terms=len(self.lexicon.enabled_terms),
            patterns=self._n_patterns,
            term_patterns=len(self.term_patterns),
            trigger_patterns=self._n_patterns - len(self.word_patterns),
            build_seconds=t2 - t1,
        )

    @property
    def version(self) -> str:
        return self.lexicon.version

    # ---------------------------------------------------------------------------------------------------
    def _compile(self, terms: Iterable[Term]) -> None:
        roles: dict[str, list[tuple[int, ...]]] = {}
        rules: list[_Rule] = []
        rule_ids: dict[tuple[str, str, str, str, bool], int] = {}

        for term in terms:
            for pat in _expand_cached(term):
                text = _norm_pattern(pat.text)
                if not text:
                    continue
                if term.category == "allow":
                    roles.setdefault(text, []).append((_ALLOW, 0))
                    continue
                if term.category == "intent":
                    roles.setdefault(text, []).append((_INTENT, term.flag_value("near", 10)))
                    continue
                key = (term.category, term.severity, pat.suggestion, pat.rule, "ctx" in term.flags)
                idx = rule_ids.get(key)
                if idx is None:
                    idx = rule_ids[key] = len(rules)
                    rules.append(_Rule(*key, redirect=term.category == "redirect"))
                roles.setdefault(text, []).append((_TERM, idx))
        word = list(roles)
        word_set = set(word)

        # Normalisation triggers (see the module docstring), built from per-character / per-pair pieces that
        # are cached process-wide, so rebuilding after a moderator edits one term is cheap.
        pieces: list[frozenset[str]] = []
        seen_a: set[str] = set()
        seen_run: set[str] = set()
        seen_b: set[str] = set()
        seen_pairs: set[str] = set()
        spaced: list[tuple[str, int]] = []
        for p in list(word):
            for i in range(1, len(p)):
                a, b = p[i - 1], p[i]
                if _is_wordish(a):
                    # Uncommon noise between two CJK pattern characters is caught *before* the second one
                    # (noise + 信): the automaton states after ordinary characters then carry no noise
                    # transitions, which keeps the pass over Chinese text close to the raw matcher's speed.
                    if _is_wordish(b):
                        if b not in seen_b:
                            seen_b.add(b)
                            pieces.append(_pre_triggers(b))
                        if a not in seen_run:
                            seen_run.add(a)
                            pieces.append(_space_run_triggers(a))
                    elif a not in seen_a:
                        seen_a.add(a)
                        pieces.append(_solo_triggers(a))
                    kind = 0
                elif _is_wordish(b) and a.isascii() and a.isalnum():
                    kind = 1
                elif _is_latin(a) and _is_latin(b):
                    kind = 2 if (i > 1 and _is_latin(p[i - 2])) else 3
                else:
                    continue
                if kind == 0 and b.isascii() and b.isalnum():
                    # a CJK character then a Latin letter or digit: a space between them is how people write
                    # (槟城 night market), not evasion, so it is no trigger (it sent a third of all long posts down
                    # the full path); the spaced form is a word pattern of its own instead (see below)
                    kind = 4
                    spaced.append((p, i))
                pair_key = f"{kind}{a}{b}"
                if pair_key not in seen_pairs:
                    seen_pairs.add(pair_key)
                    pieces.append(_pair_triggers(kind, a, b))
        for p, i in spaced:
            sp = p[:i] + " " + p[i:]
            if sp not in roles:
                roles[sp] = roles[p]
                word.append(sp)
                word_set.add(sp)
        slow = frozenset().union(*pieces) | {SENTINEL}
        special = special_chars()
        web = frozenset(_WEB_CUES)
        phone = frozenset(_phone_cues())
        extra = [t for t in (slow | special | web | phone) if t not in word_set]
        order = word + extra
        # Per word pattern: its roles as (role, near) / (role, rule) pairs, and the rule alone when the
        # pattern has just one role and it is a term (most patterns): _classify then needs no inner loop.
        self._roles: list[tuple[tuple[int, Any], ...]] = [
            tuple((r[0], rules[r[1]] if r[0] == _TERM else r[1]) for r in roles[p]) for p in word
        ]
        self._sole_rule: list[_Rule | None] = [
            rules[rs[0][1]] if len(rs) == 1 and rs[0][0] == _TERM else None
            for rs in map(roles.__getitem__, word)
        ]
        self._nchars = [len(p) for p in word]  # a match's length in characters (hay holds just its bytes)
        kinds = bytearray(len(order))
        for i, p in enumerate(word):
            k = 0
            for r in roles[p]:
                k |= 1 << r[0]
            kinds[i] = k
        n_word = len(word)
        for i, t in enumerate(extra, n_word):
            kinds[i] = (
                (_B_SLOW if t in slow else 0)
                | (_B_SPECIAL if t in special else 0)
                | (_B_WEB if t in web else 0)
                | (_B_PHONE if t in phone else 0)
            )
        for i, p in enumerate(word):  # a word-like pattern can also be a cue ("id", ".com"…)
            if p in slow:
                kinds[i] |= _B_SLOW
            if p in special:
                kinds[i] |= _B_SPECIAL
            if p in web:
                kinds[i] |= _B_WEB
            if p in phone:
                kinds[i] |= _B_PHONE
        # Cues for the spelled-phone detector (number words, Chinese numerals, digits split by a separator): every
        # phone cue but three ASCII digits in a row, which prices and years fire on every other post. The
        # detector runs only when two of them fired (see _spelled_cued).
        self._spelled_cue = bytearray(
            1 if p in phone and not (p.isascii() and p.isdigit()) else 0 for p in order
        )
        bounds = bytearray(_boundary_mask(p) for p in word) + bytearray(len(extra))
        encoded = [p.encode("utf-8") for p in order]
        base: dict[int, int] = {}
        for i, p in enumerate(word):
            if (
                bounds[i] & _START_LETTER
                and len(p) <= _SHIFT_MAX_LEN
                and p.isascii()
                and not kinds[i] & ~_WORDLIKE & 0xFF
            ):
                pb = encoded[i]
                encoded[i] = _NEVER + pb
                both = p in _BOTH_SIDES and bounds[i] & _END_LETTER
                for c in _BEFORE_WORD:
                    if both:  # ~i marks a form with the byte after, too
                        for d in _AFTER_WORD:
                            base[len(encoded)] = ~i
                            encoded.append(bytes((c,)) + pb + bytes((d,)))
                            kinds.append(kinds[i] | _B_SHIFT)
                            bounds.append(0)
                        continue
                    base[len(encoded)] = i
                    encoded.append(bytes((c,)) + pb)
                    kinds.append(kinds[i] | _B_SHIFT)
                    bounds.append(0)
        self._spelled_cue += bytearray(len(kinds) - len(self._spelled_cue))  # shifted forms are no cues
        self._kinds = kinds
        self._bounds = bounds
        self._base = base
        self._rules = rules
        self._n_patterns = len(order)
        self._ac = ahocorasick_rs.BytesAhoCorasick(
            encoded,
            matchkind=ahocorasick_rs.MATCHKIND_STANDARD,
            implementation=ahocorasick_rs.Implementation.ContiguousNFA,
        )
        self._scan = self._ac.find_matches_as_indexes  # bound once: it runs on every text
        self.word_patterns = word
        self.term_patterns = [p for p in word if any(r[0] == _TERM for r in roles[p])]

    # ---------------------------------------------------------------------------------------------------
    def check(self, text: str, *, field: str = "note", account: str = "personal") -> Result:
        """Check one text. Raises ``TypeError`` for a non-string and ``ValueError`` for bad arguments."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        actions = self._actions.get((field, account))  # also validates field and account (one lookup)
        if actions is None:
            if field not in FIELDS:
                raise ValueError(f"field must be one of {', '.join(FIELDS)}")
            raise ValueError(f"account must be one of {', '.join(ACCOUNTS)}")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"text is longer than {MAX_TEXT_LENGTH} characters")
        orig: str | None = None
        loose = field == "username"
        if loose:
            joined = _USERNAME_JOIN.sub(_spaces, text)
            if joined != text:
                orig, text = text, joined
        # the first pass is inlined (as in find): most texts end here, and a call costs as much as the rest
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # lone surrogates
            raw = text.encode("utf-8", "surrogatepass")
        hay = b" " + raw.lower().rstrip() + b" "  # trailing whitespace never matters (and fires triggers)
        matches = self._scan(hay, True)  # overlapping (positional: cheaper call)
        if matches:
            hits = self._find(text, raw, hay, matches, account, False, loose)
        elif self.learned is None:
            return _PASS  # the common case, as fast as before the learned layer
        else:
            hits = ()
        if self.learned is not None:  # the learned layer adds what the lexicon missed (learned.py)
            kinds = self._kinds  # allow-phrases (a moderator's too) cancel the model's hits they overlap
            allows = [(bs, be) for pid, bs, be in matches if kinds[pid] & _B_ALLOW]
            hits = self.learned.add_hits(
                text, hay, hits, self.policy.redirect_suggestion.get(account), allows
            )
        if not hits:
            return _PASS
        if orig is not None:
            hits = tuple(h._replace(match=orig[h.start : h.end]) for h in hits)
        for h in hits:
            if h[0] == "absolute" or h[0][:10] == "sensitive.":
                hits = _graded(orig or text, hits, field, account)
                break
        best = (-1, "pass")
        for h in hits:
            a = actions.get((h.category, h.severity, h.rule[:8] == "learned:"))
            if a is None:
                act = self.policy.action(self._tables[(field, account)], h.category, h.severity)
                if h.rule[:8] == "learned:":  # the policy caps what the model alone can do
                    act = min(act, self.policy.learned_max_action, key=Policy.rank)
                a = actions[(h.category, h.severity, h.rule[:8] == "learned:")] = (Policy.rank(act), act)
            if a[0] > best[0]:
                best = a
        return _new_tuple(Result, (best[1], hits))

    def find(self, text: str, *, account: str = "personal", force_full: bool = False) -> tuple[Hit, ...]:
        """All hits in ``text`` (no verdict). ``force_full`` skips the fast path (for tests)."""
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # lone surrogates
            raw = text.encode("utf-8", "surrogatepass")
        hay = b" " + raw.lower().rstrip() + b" "  # trailing whitespace never matters (and fires triggers)
        matches = self._scan(hay, True)
        if not matches:
            return ()
        return self._find(text, raw, hay, matches, account, force_full)

    def _find(
        self,
        text: str,
        raw: bytes,
        hay: bytes,
        matches: list[tuple[int, int, int]],
        account: str,
        force_full: bool,
        loose: bool = False,
    ) -> tuple[Hit, ...]:
        """The rest of :meth:`find` after the first pass over ``hay`` (``b" " + raw.lower() + b" "``)."""
        kinds = self._kinds
        terms, allows, intents, seen = _classify(
            matches, kinds, self._bounds, hay, self._base, self._sole_rule, self._roles, self._nchars
        )
        specials = seen & _B_SPECIAL
        first = matches
        folded: str | None
        view: str | None
        if force_full or specials or seen & _B_SLOW:
            fhay: bytes | None = None
            if specials or force_full:
                positions = [m[1] for m in matches if kinds[m[0]] & _B_SPECIAL]
                folded = self._fold(text, raw, positions)
                if len(folded) != len(text):  # pragma: no cover - defensive
                    folded = fold(text)
                # look for noise triggers again in the folded text (Ｗ－Ｅ only shows as w-e after folding)
                fhay = b" " + folded.encode("utf-8", "surrogatepass") + b" "
                fmatches = self._scan(fhay, True)
                near = (
                    None
                    if force_full
                    else _char_positions(fhay, [m[1] for m in fmatches if kinds[m[0]] & _B_SLOW])
                )
            else:
                folded = text.lower()
                near = _char_positions(hay, [m[1] for m in matches if kinds[m[0]] & _B_SLOW])
            view, omap = strip_noise(folded, near)
            if view is folded and fhay is not None:  # no noise: the pass over fhay was this pass
                hay = fhay
                matches = fmatches
            else:
                hay = b" " + view.encode("utf-8", "surrogatepass") + b" "
                matches = self._scan(hay, True)
            terms, allows, intents, seen2 = _classify(
                matches, kinds, self._bounds, hay, self._base, self._sole_rule, self._roles, self._nchars
            )
            web = bool(specials or force_full or (seen | seen2) & _B_WEB)
            phone = bool(specials or force_full or (seen | seen2) & _B_PHONE)
            spelled = phone and bool(specials or force_full or self._spelled_cued(first, matches))
            if not terms and not web and not phone:
                return ()
            ascii_view = len(hay) == len(view) + 2
        else:
            web, phone = bool(seen & _B_WEB), bool(seen & _B_PHONE)
            spelled = phone and self._spelled_cued(matches)
            if not terms and not web and not phone:
                return ()  # only allow-phrases or intent words: nothing to report
            omap = IDENTITY
            ascii_view = len(raw) == len(text)
            if ascii_view:
                folded = view = hay[1:-1].decode("ascii")
            elif web or phone:
                folded = view = text.lower()
            else:  # lowered only if a platform name needs its context (most hits do not)
                folded = view = None
        return self._resolve(
            text,
            folded,
            view,
            omap,
            hay,
            terms,
            allows,
            intents,
            ascii_view,
            web,
            phone,
            account,
            loose,
            spelled,
        )

    def _spelled_cued(self, *passes: list[tuple[int, int, int]]) -> bool:
        """Whether two spelled-phone cues fired in the first (or the second) automaton pass."""
        cue = self._spelled_cue
        for matches in passes:
            n = 0
            for m in matches:
                if cue[m[0]]:
                    n += 1
                    if n >= 2:
                        return True
        return False

    @staticmethod
    def _fold(text: str, raw: bytes, specials: list[int]) -> str:
        """Fold ``text``; when only a few characters need it, replace just those (``str.lower`` elsewhere)."""
        if not specials or len(specials) * 16 > len(text):
            return fold(text)
        table = fold_table()
        positions: list[int] = []
        pb, pc = 0, 0  # byte / char cursor in raw / text
        for bo in sorted(set(specials)):
            b = bo - 1  # hay has one leading space
            pc += len(raw[pb:b].decode("utf-8", "surrogatepass"))
            pb = b
            positions.append(pc)
        out: list[str] = []
        prev = 0
        for ci in positions:
            out.append(text[prev:ci].lower())
            ch = text[ci]
            out.append(table.get(ord(ch), ch))
            prev = ci + 1
        out.append(text[prev:].lower())
        return "".join(out)

    # ---------------------------------------------------------------------------------------------------
    def _resolve(
        self,
        text: str,
        folded: str | None,
        view: str | None,
        omap: OffsetMap,
        hay: bytes,
        term_m: list[_TermMatch],
        allow_m: list[tuple[int, int]],
        intent_m: list[tuple[int, int, int, int]],
        ascii_view: bool,
        web: bool,
        phone: bool,
        account: str,
        loose: bool = False,
        spelled: bool = True,
    ) -> tuple[Hit, ...]:
        """Context rules, detectors and spans for the word matches of ``hay`` (see :func:`_classify`)."""
        detections: list[Detection] = []
        if phone:
            detections += find_phones(folded, spelled=spelled)  # type: ignore[arg-type]  # set whenever phone/web is
        if web:
            detections += find_web(folded, self.allowed_domains)  # type: ignore[arg-type]
        if not term_m and not detections:
            return ()

        # Byte offsets (in hay, which starts with one space) → char offsets in view. Overlap, containment and
        # order are decided on the byte offsets (conversion is monotonic); only the starts of spans that need
        # a distance in characters (platform names' context) or become hits are converted, and a match ends
        # its length in characters later. A short text decodes each prefix (C speed, no bookkeeping): inline
        # in the hit loop below, through ``conv`` (made on first use) for the context rule.
        conv: Callable[[int], int] | None = None
        table: dict[int, int] | None = None
        if ascii_view:
            conv = _minus_one
        elif len(hay) > _DIRECT_CONV_MAX:  # long text: walk the sorted offsets once
            offs = sorted({c[0] for c in term_m} | {c[0] for c in intent_m})
            table = {}
            pb, pc = 1, 0
            for o in offs:
                pc += len(hay[pb:o].decode("utf-8", "surrogatepass"))
                pb = o
                table[o] = pc
            conv = table.__getitem__

        ident = omap is IDENTITY
        intents: list[tuple[int, int, int]] | None = None
        cands: list[_TermMatch] = []
        for c in term_m:
            bs, be, rule, n = c
            # an allow-phrase cancels a term it overlaps, unless it lies inside a longer term
            # (最好还是 cancels 最好; "online" does not cancel "online course")
            if allow_m and any(
                a < be and bs < b and not (bs <= a and b <= be and be - bs > b - a) for a, b in allow_m
            ):
                continue
            if rule.ctx and not loose:
                if view is None:
                    view = text.lower()
                if conv is None:
                    conv = functools.partial(_prefix_chars, hay)
                if intents is None:
                    intents = []
                    for ib, _, near, ni in intent_m:
                        i = conv(ib)
                        intents.append((i, i + ni, near))
                s = conv(bs)
                e = s + n
                os_, oe = (s, e) if ident else (omap.start(s), omap.end(e))
                if not self._contact_context(view, s, e, intents, detections, os_, oe):
                    continue
            cands.append(c)

        # the longest match wins inside one category
        if len(cands) == 2 and cands[0][2].category != cands[1][2].category:
            kept = cands  # neither can contain the other, and _sort_merge orders the hits
        elif len(cands) > 1:
            cands.sort(key=_cand_order)
            kept = []
            for c in cands:
                bs, be, rule, _ = c
                cat = rule.category
                for k in kept:
                    if k[0] <= bs and be <= k[1] and k[2].category == cat:
                        break
                else:
                    kept.append(c)
        else:
            kept = cands

        hits: list[Hit] = []
        redirect_sugg: str | None = None
        for bs, _, rule, n in kept:
            if ascii_view:
                s = bs - 1
            elif table is None:  # short text (see above)
                s = len(hay[1:bs].decode("utf-8", "surrogatepass"))
            else:
                s = table[bs]
            os_, oe = (s, s + n) if ident else (omap.start(s), omap.end(s + n))
            if rule.redirect:
                if detections and any(d.start <= os_ and oe <= d.end for d in detections):
                    continue  # facebook inside facebook.com/… is reported as the URL
                if redirect_sugg is None:
                    redirect_sugg = self.policy.redirect_suggestion.get(account, "Remove it")
                sugg = redirect_sugg
            else:
                sugg = rule.suggestion
            hits.append(
                _new_tuple(Hit, (rule.category, os_, oe, text[os_:oe], rule.rule, rule.severity, sugg))
            )
        if detections:
            if redirect_sugg is None:
                redirect_sugg = self.policy.redirect_suggestion.get(account, "Remove it")
            for d in detections:
                rule_id = "redirect:" + d.kind
                if d.kind == "url" and any(sh in d.value for sh in SHORTENERS):
                    rule_id = "redirect:shortener"
                hits.append(
                    _new_tuple(
                        Hit,
                        ("redirect", d.start, d.end, text[d.start : d.end], rule_id, "high", redirect_sugg),
                    )
                )
        if len(hits) < 2:
            return tuple(hits)
        return _sort_merge(hits)

    @staticmethod
    def _contact_context(
        view: str,
        s: int,
        e: int,
        intents: list[tuple[int, int, int]],
        detections: list[Detection],
        os_: int,
        oe: int,
    ) -> bool:
        """Whether the platform name at ``view[s:e]`` (``text[os_:oe]``) is about contact: an intent word
        nearby, a phone number / e-mail / URL nearby, or a handle right after it. The tests have no side
        effects, so the cheap ones run first."""
        for a, b, near in intents:
            if b <= s and s - b <= near and "\n" not in view[b:s]:
                return True
            if a >= e and a - e <= near and "\n" not in view[e:a]:
                return True
        for d in detections:
            if d.start - oe <= 40 and os_ - d.end <= 40:
                return True
        # a shop, channel or account name to look for ("search 「阿珍团购」", find me @danialplays) on the same line
        line_end = view.find("\n", e)
        after = view[e : min(e + 60, line_end if line_end >= 0 else len(view))]
        if _POINTER_RE.search(after):
            return True
        line_start = view.rfind("\n", 0, s) + 1
        if _POINTER_RE.search(view[max(line_start, s - 40) : s]):
            return True
        m = _HANDLE_RE.match(view, e)
        if m is None:
            return False
        if m.group("sep") or m.group("idw"):
            return True
        h = m.group("h")
        return h.startswith("@") or (h.isascii() and len(h) >= 4 and not _HANDLE_MARKS.isdisjoint(h))


_SEV_RANK = {"low": 0, "medium": 1, "high": 2}


@functools.lru_cache(maxsize=65536)
def _norm_pattern(p: str) -> str:
    return strip_noise(fold(p))[0].replace(SENTINEL, "").strip()


@functools.lru_cache(maxsize=16384)
def _expand_cached(term: Term) -> tuple[Pattern, ...]:
    return tuple(expand(term))


@functools.lru_cache(maxsize=8192)
def _solo_triggers(a: str) -> frozenset[str]:
    """After a CJK pattern character: any uncommon noise character, or a space followed by a separator."""
    out = {a + n for n in NOISE_CHARS if n not in PAIR_NOISE}
    out.update(a + " " + s2 for s2 in RUN_SEPS)
    return frozenset(out)


@functools.lru_cache(maxsize=8192)
def _pre_triggers(b: str) -> frozenset[str]:
    """Before a CJK pattern character that continues a pattern: an uncommon noise character (微·信, 微.信)."""
    return frozenset(n + b for n in NOISE_CHARS if n not in PAIR_NOISE)


@functools.lru_cache(maxsize=8192)
def _space_run_triggers(a: str) -> frozenset[str]:
    """After a CJK pattern character: a space and a separator (微 . 信). The state after ``a`` already has the
    space (pair triggers), so this adds no transitions to it."""
    return frozenset(a + " " + s2 for s2 in RUN_SEPS)


@functools.lru_cache(maxsize=65536)
def _pair_triggers(kind: int, a: str, b: str) -> frozenset[str]:
    if kind == 0:  # CJK then the pattern's next character: common noise in between
        return frozenset(a + n + b for n in PAIR_NOISE)
    if kind == 4:  # CJK then a Latin letter or digit: common noise but a plain space
        return frozenset(a + n + b for n in PAIR_NOISE if n != " ")
    if kind == 1:  # a Latin letter or digit then a CJK character
        return frozenset(a + n + b for n in NOISE_CHARS)
    out = {a + s + b for s in INTRA_SEPS}
    out.update(a + s + s2 + b for s in INTRA_SEPS for s2 in INTRA_SEPS)
    if kind == 3:  # the first two letters of a Latin run: spelled-out chains "v x ", " w.h."
        for s1 in CHAIN_SEPS:
            for s0 in {" ", s1}:
                out.update(s0 + a + s1 + b + e for e in {s1, " ", ":", "：", ",", "，", ".", "。"})
    return frozenset(out)


# Builds a Hit or a Result from a tuple of its fields: the named tuple's own __new__ is Python code and
# costs twice as much (both are built on the hot path).
_new_tuple = tuple.__new__


def _graded(text: str, hits: tuple[Hit, ...], field: str, account: str) -> tuple[Hit, ...]:
    """Absolute and sensitive hits re-graded by the text's selling intent (:mod:`.intent`)."""
    if account == "enterprise" and field != "dm":
        sells, talks = True, False
    else:  # computed here, only for a text with such a hit: one automaton pass and a few anchored regexes
        sells, talks = intent.features(text.lower())
        talks = talks and not sells
    out = []
    for h in hits:
        if intent.gated(h.category):
            sev = intent.grade(h.category, h.severity, sells=sells, talks=talks)
            if sev != h.severity:
                h = h._replace(severity=sev)
        out.append(h)
    return tuple(out)


def _spaces(m: re.Match[str]) -> str:
    return " " * len(m.group())


def _minus_one(o: int) -> int:
    return o - 1


def _char_positions(hay: bytes, byte_offsets: list[int]) -> list[int]:
    """Character positions (in the string ``hay[1:-1]`` decodes to) of byte offsets into ``hay``."""
    out = []
    pb, pc = 1, 0
    for o in sorted(set(byte_offsets)):
        if o < 1:
            o = 1
        pc += len(hay[pb:o].decode("utf-8", "surrogatepass"))
        pb = o
        out.append(pc)
    return out


_START_END_CAT = operator.itemgetter(1, 2, 0)  # (start, end, category): the order of the returned hits


def _sort_merge(hits: list[Hit]) -> tuple[Hit, ...]:
    """``hits`` in (start, end, category) order, overlapping hits of one category merged.

    Usually no two hits of one category overlap (or share a start): the merge would then change nothing, so
    one sort without a Python key function gives the answer. Otherwise :func:`_merge_overlaps` runs on the
    (start, -end, category) order; the sorts are stable and both keys tie exactly on equal (start, end,
    category), so the first sort cannot change its result."""
    if len(hits) == 2:  # the common case, without the sort's machinery
        a, b = hits
        if a[0] != b[0]:
            return (a, b) if (a[1], a[2], a[0]) < (b[1], b[2], b[0]) else (b, a)
        if a[1] > b[1]:
            a, b = b, a
        if a[2] <= b[1] and a[1] < b[1]:  # one category, apart: nothing to merge
            return (a, b)
    hits.sort(key=_START_END_CAT)
    last: dict[str, Hit] = {}
    for h in hits:
        p = last.get(h[0])
        if p is not None and (h[1] < p[2] or h[1] == p[1]):
            hits.sort(key=_hit_order)
            return tuple(_merge_overlaps(hits))
        last[h[0]] = h
    return tuple(hits)


def _merge_overlaps(hits: list[Hit]) -> list[Hit]:
    """Overlapping hits of one category become one hit (the union span, the most severe rule)."""
    out: list[Hit] = []
    last: dict[str, int] = {}
    for h in hits:
        i = last.get(h.category)
        if i is not None and h.start < out[i].end:
            prev = out[i]
            if h.end > prev.end or _SEV_RANK[h.severity] > _SEV_RANK[prev.severity]:
                best = h if _SEV_RANK[h.severity] > _SEV_RANK[prev.severity] else prev
                end = max(prev.end, h.end)
                text_match = prev.match + h.match[prev.end - h.start :] if h.end > prev.end else prev.match
                out[i] = Hit(
                    prev.category, prev.start, end, text_match, best.rule, best.severity, best.suggestion
                )
            continue
        last[h.category] = len(out)
        out.append(h)
    out.sort(key=lambda h: (h.start, h.end, h.category))
    return out


@cache
def default_engine() -> Engine:
    """The engine built from the shipped data files (built lazily, once per process)."""
    return Engine()


@cache
def learned_engine() -> Engine:
    """:func:`default_engine` plus the committed learned model (learned.py), built lazily once per process."""
    return Engine(learned="default")


def check(text: str, field: str = "note", account: str = "personal") -> Result:
    """Check ``text`` with the default engine."""
    return default_engine().check(text, field=field, account=account)

"""The lexicon: versioned term records and their expansion into match patterns.

Data files (shipped in ``data/``, tab-separated, ``#`` comments):

* ``*.tsv`` — ``term  category  severity  suggestion  flags`` (comment lines start with ``# ``). ``category`` is a reported category
  (``redirect``, ``absolute``, ``sensitive.<topic>``, ``inducement``, ``disparage``, ``adult``) or one of the
  internal ones: ``allow`` (a phrase that cancels any term it overlaps: 最好还是, best friend, 成人票) and
  ``intent`` (contact-intent words that turn a platform name into a redirect: 加, 私我, DM me, hubungi).
* ``term`` may use alternation groups ``{a|b|c}``; the ``suggestion`` may refer to the chosen alternative of
  group *n* as ``{n}`` (``最{好用|好吃}`` with suggestion ``很{1}``).
* ``flags`` (comma-separated): ``ctx`` — a platform name that is only a redirect with contact intent, a handle
  or a phone/e-mail/URL nearby; ``hp`` — add homophones and near-homophones of every character, derived from
  pypinyin's dictionary (commonness filtered with GB2312 and ranked by jieba's character frequency, real words filtered with jieba's dictionary);
  ``py`` — add pinyin spellings and initials mixed with characters (微信 → weixin, wx, vx, v信, 微x);
  ``near=N`` — for intents, the maximum distance in characters (default 10); ``off`` — disabled.

Latin word boundaries are automatic: a pattern that begins or ends with a Latin letter only matches when the
neighbouring character is not a Latin letter (``av`` never matches inside ``have``); digits and CJK characters
may touch it (``vx123``, ``加微信abc``).

``Lexicon.from_records`` builds a lexicon from dictionaries (the Django adapter feeds moderator-edited rows);
``Lexicon.merge`` overlays records (same ``(term, category)`` replaces; ``enabled=False`` disables a term).
``Lexicon.version`` is a hash of the effective contents.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")

REPORTED_CATEGORIES = (
    "redirect",
    "absolute",
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
    "inducement",
    "disparage",
    "adult",
)
INTERNAL_CATEGORIES = ("allow", "intent")
SEVERITIES = ("low", "medium", "high")
KNOWN_FLAGS = {"ctx", "hp", "py", "off"}


@dataclass(frozen=True)
class Term:
    """One lexicon record (before expansion)."""

    term: str
    category: str
    severity: str = "medium"
    suggestion: str = ""
    flags: frozenset[str] = frozenset()
    enabled: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.term, self.category)

    def flag_value(self, name: str, default: int) -> int:
        for f in self.flags:
            if f.startswith(name + "="):
                return int(f.split("=", 1)[1])
        return default

    def to_record(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "category": self.category,
            "severity": self.severity,
            "suggestion": self.suggestion,
            "flags": ",".join(sorted(self.flags)),
            "enabled": self.enabled,
        }


def _validate(t: Term) -> None:
    if not t.term or not t.term.strip():
        raise ValueError("lexicon term must be a non-empty string")
    if t.category not in REPORTED_CATEGORIES and t.category not in INTERNAL_CATEGORIES:
        raise ValueError(f"unknown lexicon category {t.category!r} for term {t.term!r}")
    if t.severity not in SEVERITIES:
        raise ValueError(f"unknown severity {t.severity!r} for term {t.term!r}")
    for f in t.flags:
        if f.split("=", 1)[0] not in KNOWN_FLAGS | {"near"}:
            raise ValueError(f"unknown flag {f!r} for term {t.term!r}")


def term_from_record(rec: Mapping[str, Any]) -> Term:
    """Build a :class:`Term` from a mapping (``term``, ``category`` required)."""
    flags = rec.get("flags") or ()
    if isinstance(flags, str):
        flags = [f.strip() for f in flags.split(",") if f.strip()]
    t = Term(
        term=str(rec["term"]),
        category=str(rec["category"]),
        severity=str(rec.get("severity") or "medium"),
        suggestion=str(rec.get("suggestion") or ""),
        flags=frozenset(flags),
        enabled=bool(rec.get("enabled", True)) and "off" not in flags,
    )
    _validate(t)
    return t


@dataclass(frozen=True)
class Lexicon:
    """An immutable set of term records; build an :class:`~.engine.Engine` from it."""

    terms: tuple[Term, ...] = field(default_factory=tuple)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Lexicon:
        merged: dict[tuple[str, str], Term] = {}
        for rec in records:
            t = term_from_record(rec)
            merged[t.key] = t
        return cls(tuple(merged.values()))

    @classmethod
    def from_tsv(cls, paths: Iterable[str | os.PathLike[str]]) -> Lexicon:
        return cls.from_records(rec for p in paths for rec in read_tsv(p))

    @classmethod
    def default(cls) -> Lexicon:
        """The lexicon shipped in ``data/*.tsv``."""
        return _default_lexicon()

    def merge(self, *others: Lexicon | Iterable[Mapping[str, Any]]) -> Lexicon:
        """Overlay other lexicons or records: same ``(term, category)`` replaces, disabled ones stay disabled."""
        merged = {t.key: t for t in self.terms}
        for other in others:
            terms = other.terms if isinstance(other, Lexicon) else [term_from_record(r) for r in other]
            for t in terms:
                merged[t.key] = t
        return Lexicon(tuple(merged.values()))

    def disable(self, *terms: str) -> Lexicon:
        names = set(terms)
        return Lexicon(tuple(replace(t, enabled=False) if t.term in names else t for t in self.terms))

    @property
    def enabled_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.enabled)

    @property
    def version(self) -> str:
        """A short hash of the effective contents (order-independent)."""
        rows = sorted(json.dumps(t.to_record(), ensure_ascii=False, sort_keys=True) for t in self.terms)
        h = hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()
        return h[:16]

    def __len__(self) -> int:
        return len(self.terms)


def read_tsv(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("# ") or line.strip() == "#":
                continue  # comments are "# " at the start of a line ("#1" is a term)
            cols = line.split("\t")
            if len(cols) < 2:
                raise ValueError(f"{path}:{lineno}: expected at least term<TAB>category")
            cols += [""] * (5 - len(cols))
            yield {
                "term": cols[0].strip(),
                "category": cols[1].strip(),
                "severity": cols[2].strip() or "medium",
                "suggestion": cols[3].strip(),
                "flags": cols[4].strip(),
            }


@cache
def _default_lexicon() -> Lexicon:
    return Lexicon.from_tsv(sorted(DATA_DIR.glob("*.tsv")))


# --------------------------------------------------------------------------------------------------------
# Expansion: alternation groups, homophones, pinyin.

_GROUP = re.compile(r"\{([^{}]*)\}")


def expand_alternations(term: str, suggestion: str) -> list[tuple[str, str]]:
    """``最{好用|好吃}`` → [("最好用", sugg), ("最好吃", sugg)] with ``{n}`` filled in the suggestion."""
    groups = _GROUP.findall(term)
    if not groups:
        return [(term, suggestion)]
    parts = _GROUP.split(term)  # literal, group, literal, group, ...
    options = [g.split("|") for g in groups]
    out = []
    for combo in itertools.product(*options):
        s = "".join(p if i % 2 == 0 else combo[i // 2] for i, p in enumerate(parts))
        sug = suggestion
        for n, alt in enumerate(combo, 1):
            sug = sug.replace("{" + str(n) + "}", alt)
        out.append((s, sug))
    return out


def _strip_tone(py: str) -> str:
    d = unicodedata.normalize("NFKD", py)
    return "".join(c for c in d if not unicodedata.combining(c)).replace("ü", "v")


def _is_common(ch: str) -> bool:
    """GB2312 hanzi (the 6,763 characters of everyday simplified Chinese) — an offline commonness filter;
    candidates are then ranked by jieba's character frequency."""
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and 0xB0 <= b[0] <= 0xF7


@cache
def _syllable_index() -> dict[str, tuple[str, ...]]:
    """Tone-less pinyin syllable → common characters with that reading (from pypinyin's dictionary)."""
    from pypinyin.pinyin_dict import pinyin_dict

    idx: dict[str, list[str]] = {}
    for cp, readings in pinyin_dict.items():
        ch = chr(cp)
        if not _is_common(ch):
            continue
        # the primary reading only: rare readings make odd "homophones" (有 is not read wei)
        idx.setdefault(_strip_tone(readings.split(",")[0]), []).append(ch)
    return {k: tuple(v) for k, v in idx.items()}


# Emoji that people write for a syllable (号🐎 = 号码).
EMOJI_SYLLABLES = {"ma": "🐎🐴", "qie": "🐧", "xin": "💌", "fei": "✈", "dian": "⚡"}

# Southern-accent near-homophones (the fuzzy pinyin most input methods offer).
_FUZZY_INITIALS = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("h", "f")]
_FUZZY_FINALS = [("ing", "in"), ("eng", "en"), ("ang", "an")]


def _near_syllables(s: str) -> set[str]:
    out = {s}
    for a, b in _FUZZY_INITIALS:
        if s.startswith(a):
            out.add(b + s[len(a) :])
        elif s.startswith(b) and not s.startswith(a):
            out.add(a + s[len(b) :])
    for a, b in _FUZZY_FINALS:
        for x in list(out):
            if x.endswith(a):
                out.add(x[: -len(a)] + b)
            elif x.endswith(b):
                out.add(x[: -len(b)] + a)
    return out


@cache
def _word_freq() -> dict[str, int]:
    """Frequencies of 1–3 character words in jieba's dictionary (read once, offline)."""
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    freq: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            w, f, _ = line.split(" ", 2)
            if len(w) <= 3:
                freq[w] = int(f)
    return freq


def _reading(term: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(term, style=Style.NORMAL, errors=lambda x: list(x))  # type: ignore[arg-type,return-value]


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


MAX_VARIANTS = 1200
COMMON_WORD_FREQ = 20


def homophone_variants(term: str, *, pinyin: bool) -> list[str]:
    """Derive homophones (and, with ``pinyin``, pinyin spellings and initials) of a Chinese term."""
    readings = _reading(term)
    if len(readings) != len(term):
        return []
    index = _syllable_index()
    freq = _word_freq()

    def by_freq(chars: Iterable[str]) -> list[str]:
        return sorted(chars, key=lambda c: -freq.get(c, 0))

    options: list[list[str]] = []
    for ch, syl in zip(term, readings, strict=True):
        if not _is_han(ch):
            options.append([ch])
            continue
        cands = [ch]
        exact = index.get(syl, ())
        cands += [c for c in by_freq(exact) if c != ch][:24]
        for near in sorted(_near_syllables(syl) - {syl}):
            cands += [c for c in by_freq(index.get(near, ())) if c not in cands][:4]
        cands += list(EMOJI_SYLLABLES.get(syl, ""))
        if pinyin:
            cands += [syl, syl[0]]
            if syl.startswith("w"):
                cands.append("v")
        options.append(list(dict.fromkeys(cands)))
    total = 1
    for o in options:
        total *= len(o)
    combos: Iterable[tuple[str, ...]]
    if total <= MAX_VARIANTS:
        combos = itertools.product(*options)
    else:  # vary one position at a time
        combos = (
            tuple(alt if j == i else term[j] for j in range(len(term)))
            for i, o in enumerate(options)
            for alt in o
        )
    out = []
    for combo in combos:
        latin = [bool(re.fullmatch(r"[a-z]+", c)) for c in combo]
        # all-Latin: only the full spelling or all initials (weixin, wx, vx), never half-and-half
        if all(latin) and not (all(len(c) > 1 for c in combo) or all(len(c) == 1 for c in combo)):
            continue
        v = "".join(combo)
        if v == term:
            continue
        if not any(latin) and len(v) > 1 and freq.get(v, 0) >= COMMON_WORD_FREQ:
            continue  # a real word (维新, 威信…): list it explicitly if it is an evasion
        out.append(v)
    return out


@dataclass(frozen=True)
class Pattern:
    """One expanded surface form of a term."""

    text: str
    term: Term
    rule: str
    suggestion: str


def expand(term: Term) -> list[Pattern]:
    """All surface forms of a term (alternations, then homophones/pinyin when flagged)."""
    out: list[Pattern] = []
    for base, sugg in expand_alternations(term.term, term.suggestion):
        rule = f"{term.category}:{base}"
        out.append(Pattern(base, term, rule, sugg))
        if ("hp" in term.flags or "py" in term.flags) and any(_is_han(c) for c in base):
            for v in homophone_variants(base, pinyin="py" in term.flags):
                out.append(Pattern(v, term, rule, sugg))
    return out

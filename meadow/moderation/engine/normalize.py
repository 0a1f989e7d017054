"""Text normalisation: a 1:1 character fold plus noise removal with an offset map.

Two steps, each C-speed:

1. :func:`fold` — ``str.translate`` through :data:`FOLD`, a table that maps every character to exactly one
   character (so offsets are unchanged): ASCII and Unicode case, full-width forms, NFKC compatibility forms that
   give a single character (mathematical letters, squared letters), circled / parenthesised / dingbat digits
   and letters that NFKC misses (⓿ ➃ 🅥 ⒜), regional-indicator letters, Cyrillic and Greek look-alikes,
   diacritics stripped from Latin letters, and traditional → simplified Chinese (OpenCC ``t2s``, one character
   at a time, never the reverse). Invisible characters (zero-width space/joiner, BOM, soft hyphen, variation
   selectors, combining marks, keycap) fold to the sentinel ``\\x00``. Characters that NFKC would expand into
   several (⑩ → "10", ⑴ → "(1)") are left alone rather than break the 1:1 map.
2. :func:`strip_noise` — removes, with one regex pass, the noise people put inside words to dodge a filter:
   sentinels anywhere; one noise character (spaces, dots, dashes, stars, hearts, sparkles…) or a run of two or
   three ASCII separators (``微 . 信``) between two CJK characters; one noise character between a CJK character and a Latin letter or digit; one separator
   inside chains of single Latin letters (``v.x``, ``W-E-C-H-A-T``, ``w h a t s a p p``); and dashes,
   underscores and stars inside a Latin word (``we-chat``). It never removes sentence punctuation or line
   breaks, so ``成！人`` stays two words. It returns the cleaned string and a sparse offset map back.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import cache

SENTINEL = "\x00"

# Characters that are noise when they split a word. Kept small and explicit: the same set drives the
# fast-path triggers in the engine, so normalisation is identical whichever path runs.
NOISE_CHARS = (
    " \t\u00a0\u3000.-_*~|/\\·•‧∙'\"`^=#&+"
    "\u2013\u2014\u2022\u2027\u2219\u30fb\uff65"  # dashes, bullets, katakana middle dots
    "～＼＝＾｀＂＇"  # full-width forms of ASCII noise the fold keeps as they are
    "❤♥♡❣💕💗💖💓💞✨⭐🌟★☆✿❀❁✦✧♪♫◆◇○●□■△▲▽▼🔥💯👍😊😍🥰😘🌸🌹💋🎀🍀💎🌈🎉👉👈"
)
# Noise characters that are common in ordinary text (a space after a CJK word, a sparkle or a tilde at the end
# of a phrase): the fast path only treats them as a possible evasion when the next character continues a
# pattern. Every other noise character right after a pattern character sends the text down the full path.
PAIR_NOISE = " ~～✨❤🔥"
# Runs of two or three of these (and only these) are also skipped between CJK characters (微 . 信).
RUN_SEPS = " .-_*~|/"
# Separators allowed between the single letters of a spelled-out word (v.x, W-E-C-H-A-T, w h a t s a p p).
CHAIN_SEPS = " .-_*|/·•~"
# Separators removed inside a Latin word (we-chat, what_sapp, face*book).
INTRA_SEPS = "-_*·"
# Characters that end a phrase: noise skipping never crosses them.
SENTENCE_PUNCT = "\n\r.,!?;:。，、！？；：…"

_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# "Word" emoji that stand for syllables or platforms (🐧 QQ, 🐎 码, ✈ 飞机, 🍠 红薯…) behave like CJK characters.
WORD_EMOJI = "🐧🐎🐴✈🍠🎵📞☎📱💬🟢💚🛫"
_WORDISH = _CJK_CLASS + re.escape(WORD_EMOJI)

_INVISIBLE = (
    set(range(0x200B, 0x2010))  # zero-width space/non-joiner/joiner, LRM, RLM
    | set(range(0x202A, 0x202F))
    | set(range(0x2060, 0x2070))
    | set(range(0xFE00, 0xFE10))  # variation selectors
    | {0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0, 0x20E3}
    | set(range(0xE0000, 0xE0080))  # tag characters
    | set(range(0xE0100, 0xE01F0))
)

# Look-alike letters (Cyrillic, Greek, others) → the Latin letter they imitate.
_HOMOGLYPHS = {
    # Cyrillic
    "А": "a",
    "В": "b",
    "Е": "e",
    "К": "k",
    "М": "m",
    "Н": "h",
    "О": "o",
    "Р": "p",
    "С": "c",
    "Т": "t",
    "Х": "x",
    "У": "y",
    "І": "i",
    "Ј": "j",
    "Ѕ": "s",
    "Ԛ": "q",
    "Ԝ": "w",
    "Ү": "y",
    "Ӏ": "l",
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "һ": "h",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ӏ": "l",
    "ь": "b",
    "ү": "y",
    "к": "k",
    "м": "m",
    "т": "t",
    "в": "b",
    "н": "h",
    "п": "n",
    "г": "r",
    "ɡ": "g",
    "ո": "n",
    "ս": "u",
    "օ": "o",
    # Greek
    "Α": "a",
    "Β": "b",
    "Ε": "e",
    "Ζ": "z",
    "Η": "h",
    "Ι": "i",
    "Κ": "k",
    "Μ": "m",
    "Ν": "n",
    "Ο": "o",
    "Ρ": "p",
    "Τ": "t",
    "Υ": "y",
    "Χ": "x",
    "α": "a",
    "β": "b",
    "ε": "e",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "η": "n",
    "γ": "y",
    "ϲ": "c",
    "ϳ": "j",
    # Latin oddities
    "ı": "i",
    "ȷ": "j",
    "ſ": "s",
    "ℓ": "l",
    "ɑ": "a",
    "ɩ": "i",
    "ǀ": "l",
}

# Symbols NFKC keeps or expands that people use for digits and letters.
_MANUAL: dict[str, str] = {"⓿": "0", "⓪": "0", "🄀": "0", "〇": "〇"}
for _i, _d in enumerate("123456789"):
    for _base in (0x2776, 0x2780, 0x278A, 0x24F5):  # ❶ ➀ ➊ ⓵
        _MANUAL[chr(_base + _i)] = _d
    _MANUAL[chr(0x2474 + _i)] = _d  # ⑴
    _MANUAL[chr(0x2488 + _i)] = _d  # ⒈
    _MANUAL[chr(0x1F101 + _i)] = _d  # 🄁 (digit comma)
for _i in range(26):
    _l = chr(ord("a") + _i)
    for _base in (0x1F150, 0x1F170, 0x1F130, 0x1F110, 0x1F1E6, 0x249C):  # 🅐 🅰 🄰 🄐 🇦 ⒜
        _MANUAL[chr(_base + _i)] = _l

# Punctuation we deliberately do not fold (folding ， → , would send every Chinese post down the slow path
# for nothing); regexes accept both forms instead.
_KEEP_PUNCT_TARGETS = set(" !\"$'(),:;<>?[]^`{}~\n\t")

# Ranges scanned when building the table (the rest of Unicode folds to itself).
_RANGES = [
    (0x00C0, 0x0250),
    (0x0250, 0x0530),
    (0x0300, 0x0370),
    (0x1AB0, 0x1B00),
    (0x1D00, 0x1DC0),
    (0x1DC0, 0x1E00),
    (0x1E00, 0x2000),
    (0x2070, 0x20A0),
    (0x20D0, 0x2100),
    (0x2100, 0x2200),
    (0x2460, 0x2500),
    (0x2776, 0x2794),
    (0x2C60, 0x2C80),
    (0x2F00, 0x2FE0),
    (0x3200, 0x3400),
    (0xA720, 0xA800),
    (0xFB00, 0xFB50),
    (0xFE20, 0xFE30),
    (0xFF00, 0xFFF0),
    (0x1D400, 0x1D800),
    (0x1F100, 0x1F200),
]


def _strip_marks(s: str) -> str:
    d = unicodedata.normalize("NFKD", s)
    base = "".join(c for c in d if not unicodedata.combining(c))
    return base if len(base) == 1 else s


@cache
def fold_table() -> dict[int, str]:
    """The 1:1 fold table (code point → one character), built once per process (~50 ms)."""
    table: dict[int, str] = {}
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[ord(c)] = c.lower()

    def put(cp: int, target: str) -> None:
        if len(target) == 1 and target != chr(cp):
            table[cp] = target

    for lo, hi in _RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            cat = unicodedata.category(c)
            if cat in ("Mn", "Me"):
                table[cp] = SENTINEL
                continue
            n = unicodedata.normalize("NFKC", c)
            if len(n) != 1:
                continue
            n = n.lower()
            if len(n) != 1:
                continue
            if n in _KEEP_PUNCT_TARGETS and not c.isspace():
                continue
            if n.isascii() and not n.isalnum() and n not in "@.+%/#&*-_|" and not n.isspace():
                continue
            put(cp, _strip_marks(n))
    for c, t in _HOMOGLYPHS.items():
        table[ord(c)] = t
    for c, t in _MANUAL.items():
        if c != t:
            table[ord(c)] = t
    for cp in _INVISIBLE:
        table[cp] = SENTINEL
    # Whitespace variants → space, line separators → newline.
    for cp in (0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B)):
        table[cp] = " "
    for cp in (0x2028, 0x2029, 0x0085):
        table[cp] = "\n"
    table[ord("\r")] = "\n"
    table[ord("\t")] = " "
    # Traditional → simplified, one character at a time.
    for src, dst in _t2s_pairs():
        table.setdefault(ord(src), dst)
    return table


def _t2s_pairs() -> list[tuple[str, str]]:
    import opencc

    try:
        conv = opencc.OpenCC("t2s")
    except Exception:  # older builds want the file name
        conv = opencc.OpenCC("t2s.json")
    chars = [chr(cp) for cp in (*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xF900, 0xFB00))]
    out = conv.convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):  # pragma: no cover - defensive: fall back to one call per character
        out = [conv.convert(c) for c in chars]
    return [(c, s) for c, s in zip(chars, out, strict=True) if len(s) == 1 and s != c]


def fold(text: str) -> str:
    """Fold ``text`` character by character; ``len(fold(text)) == len(text)``."""
    return text.translate(fold_table())


@cache
def special_chars() -> frozenset[str]:
    """Non-ASCII characters whose fold differs from themselves (their presence forces the full path)."""
    return frozenset(chr(cp) for cp, t in fold_table().items() if cp > 0x7F and t != chr(cp))


def _cls(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in dict.fromkeys(chars)) + "]"


_N = _cls(NOISE_CHARS)
# A cheap superset of _N for a regex's first character: the regex engine tests a class holding astral
# characters (the emoji) member by member at every position, a range at once. A lookbehind that re-checks _N
# must follow it.
_ASTRAL_NOISE = sorted(c for c in NOISE_CHARS if ord(c) > 0xFFFF)
_N_FIRST = (
    _cls("".join(c for c in NOISE_CHARS if ord(c) <= 0xFFFF))[:-1]
    + f"{_ASTRAL_NOISE[0]}-{_ASTRAL_NOISE[-1]}]"
)
_S8 = _cls(RUN_SEPS)
_CS = _cls(CHAIN_SEPS)
_IS = _cls(INTRA_SEPS)
_W = f"[{_WORDISH}]"
_LD = "[a-z0-9]"
# Every alternative starts by consuming a noise/separator character (then looks behind), so the regex engine
# can skip ahead with its first-character scan instead of trying every position. One noise character after a
# CJK character (cjk1) and one between a Latin letter or digit and a CJK character share one regex: both
# match exactly that character, so one scan for it (the costly part) finds the same spans as two. Its first
# character is _N_FIRST (the lookbehinds check _N), and the cheap test of each alternative comes first.
_NOISE_RES = [
    (kind, re.compile(pat))
    for kind, pat in [
        ("sent", r"\x00+"),
        ("cjk", rf"{_S8}(?<={_W}{_S8}){_S8}{{1,2}}(?={_W})"),
        ("cjk1", rf"{_N_FIRST}(?:(?<={_W}{_N})(?={_W}|{_LD})|(?={_W})(?<={_LD}{_N}))"),
        ("chain", rf"{_CS}[a-z](?![a-z0-9])(?<=(?<![a-z0-9])[a-z]{_CS}[a-z])(?:{_CS}[a-z](?![a-z0-9]))*"),
        ("intra", rf"{_IS}(?<=[a-z]{_IS}){_IS}?(?=[a-z])"),
    ]
]


_WINDOW_RES = _NOISE_RES[1:]


def _noise_spans(folded: str, near: list[int] | None = None) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans to delete, in order.

    With ``near`` (character positions where the automaton saw a noise trigger), the regexes only run in small
    windows around those positions: noise elsewhere cannot split a pattern, so removing it would change
    nothing but cost time. Separate simple regexes are several times faster than one alternation.
    """
    spans: list[tuple[int, int, str]] = []
    if SENTINEL in folded:
        spans.extend((m.start(), m.end(), "sent") for m in _NOISE_RES[0][1].finditer(folded))
    if near is None:
        windows = [(0, len(folded))]
    else:
        windows = []
        for p in sorted(near):
            lo, hi = max(0, p - 4), min(len(folded), p + 48)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
            else:
                windows.append((lo, hi))
    for kind, rx in _WINDOW_RES:
        for lo, hi in windows:
            for m in rx.finditer(folded, lo, hi):  # a plain loop: most windows have no match
                spans.append((m.start(), m.end(), kind))
    if len(spans) > 1:
        spans.sort()
        out = []
        end = -1
        for sp in spans:
            if sp[0] >= end:
                out.append(sp)
                end = sp[1]
        spans = out
    return spans


class OffsetMap:
    """Maps an index in the cleaned string back to the original string (sparse breakpoints + bisect)."""

    __slots__ = ("_deltas", "_keys")

    def __init__(self, keys: list[int], deltas: list[int]) -> None:
        self._keys = keys  # positions in the cleaned string where the cumulative shift changes
        self._deltas = deltas  # cumulative number of removed characters before that position

    def start(self, i: int) -> int:
        """Original index of the character at cleaned index ``i``."""
        k = bisect.bisect_right(self._keys, i) - 1
        return i + (self._deltas[k] if k >= 0 else 0)

    def end(self, j: int) -> int:
        """Original exclusive end for a cleaned exclusive end ``j`` (``j > 0``)."""
        return self.start(j - 1) + 1 if j > 0 else 0


IDENTITY = OffsetMap([], [])


def strip_noise(folded: str, near: list[int] | None = None) -> tuple[str, OffsetMap]:
    """Remove in-word noise from an already folded string; return (clean, offset map).

    ``near`` limits the work to windows around the given positions (see :func:`_noise_spans`)."""
    pieces: list[str] = []
    keys: list[int] = []
    deltas: list[int] = []
    removed = 0
    last = 0
    out_len = 0
    for s, e, kind in _noise_spans(folded, near):
        if kind == "chain":
            # the match is (sep letter)+ after the chain's first letter: drop each separator
            if last < s:
                pieces.append(folded[last:s])
                out_len += s - last
            for idx in range(s, e, 2):
                removed += 1
                keys.append(out_len)
                deltas.append(removed)
                pieces.append(folded[idx + 1])
                out_len += 1
            last = e
            continue
        if last < s:
            pieces.append(folded[last:s])
            out_len += s - last
        removed += e - s
        keys.append(out_len)
        deltas.append(removed)
        last = e
    if not keys:
        return folded, IDENTITY
    pieces.append(folded[last:])
    return "".join(pieces), OffsetMap(keys, deltas)


def normalize(text: str) -> tuple[str, str, OffsetMap]:
    """Full normalisation: returns (folded 1:1 text, cleaned text, map from cleaned to original)."""
    f = fold(text)
    g, omap = strip_noise(f)
    return f, g, omap

"""Regex detectors for contact details: phone numbers, e-mail addresses and URLs.

They run on the *folded* text (1:1 with the original, so their spans need no mapping), and only when the
automaton saw a trigger (three numerals in a row, ``@``, ``www``, ``.com``…), so clean text never pays for them.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import NamedTuple

# Numerals people use in phone numbers: ASCII (after folding full-width and circled digits), Chinese lower
# and upper case, 幺 (yāo, "one" when reading digits aloud).
CN_DIGITS = {
    "零": "0",
    "〇": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "贰": "2",
    "两": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
}
_DIGIT_CLASS = "0-9" + "".join(k for k in CN_DIGITS if k not in "洞两")
_D = f"[{_DIGIT_CLASS}]"
_DO = f"[{_DIGIT_CLASS}o]"  # the letter o standing in for zero inside a number
_SEP = r"[\s\-.·•_/|*~()（）\[\]\x00]"
# Digit-first (with the "no numeral before" check after consuming it) so the regex engine scans quickly.
PHONE_RE = re.compile(
    rf"(?P<num>(?:{_D}(?<!{_D}{_D})|o(?<![a-z0-9]o)(?=[0-9]))(?:{_SEP}{{0,2}}{_DO}){{7,15}})"
    rf"(?!{_SEP}?[{_DIGIT_CLASS}])"
)
# Words just before a number that say it is not a phone number.
NOT_PHONE_BEFORE = re.compile(
    r"(订单|单号|运单|快递|物流|编号|序号|型号|房号|房间|工号|学号|身份证|发票|流水|验证码|邮编|价格|"
    r"order|tracking|invoice|ref|no\.|#|isbn|serial|ic|nric|postcode|poskod|rm|usd|myr|rmb|\$|¥|￥|"
    r"pesanan|resit)\s*[:：#]?\s*$"
)

_TLD = (
    "com|net|org|my|cn|io|co|me|ly|gl|ee|app|shop|store|link|xyz|info|biz|tv|cc|sg|to|asia|online|site|club|"
    "top|vip|page|bio|id|hk|tw"
)
# Anchors: a scheme, www, or a dot + top-level domain; the host and any e-mail local part are found by
# walking back from the anchor (so the regex never tries every letter of the text). Each comes with a string
# every match contains, and a text without it skips the regex: ``in`` is a fast scan, while the "(dot)" regex
# has no literal prefix for the regex engine to look for and tries every position (3 µs per 120 characters).
_ANCHOR_RES = [
    ("scheme", re.compile(r"https?\s?[:：]\s?/\s?/"), "http"),
    ("www", re.compile(r"www\s?\."), "www"),
    ("tld", re.compile(rf"\.(?:{_TLD})(?![a-z0-9])"), "."),
    ("tld", re.compile(rf"点\s?(?:{_TLD})(?![a-z0-9])"), "点"),
    ("tld", re.compile(rf"\s?\(dot\)\s?(?:{_TLD})(?![a-z0-9])|\s?\[dot\]\s?(?:{_TLD})(?![a-z0-9])"), "dot"),
    ("tld", re.compile(rf"dot(?<=\sdot)\s(?:{_TLD})(?![a-z0-9])"), "dot"),
]


def _anchors(view: str) -> list[tuple[int, int, str]]:
    found = [
        (m.start(), m.end(), kind)
        for kind, rx, need in _ANCHOR_RES
        if need in view
        for m in rx.finditer(view)
    ]
    found.sort()
    return found


_SCHEME_WWW = re.compile(r"^(https?\s?[:：]\s?/\s?/)?(www\s?\.)?")
_NUMERIC_HOST = re.compile(r"[\d.]+")
_URL_TAIL = re.compile(r"[^\s，。！？、<>\"'）)]*")
_PATH_TAIL = re.compile(r"/[^\s，。！？、<>\"'）)]*")
_AT_BEFORE = re.compile(r"\s?(?:@|＠|艾特|圈a|\(at\)|\[at\]|\sat)\s?$")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._%+-")
SHORTENERS = (
    "bit.ly",
    "tinyurl",
    "t.co",
    "wa.me",
    "t.me",
    "s.id",
    "linktr.ee",
    "shp.ee",
    "shope.ee",
    "lzd.co",
    "tb.cn",
    "goo.gl",
    "cutt.ly",
    "rb.gy",
    "is.gd",
    "ow.ly",
    "bio.link",
    "beacons.ai",
    "lnk.bio",
)


class Detection(NamedTuple):
    """A contact detail found in the folded text (a named tuple: built on the hot path)."""

    kind: str  # "phone" | "email" | "url"
    start: int
    end: int
    value: str


# ASCII characters map to themselves explicitly: str.translate raises (and swallows) a KeyError for every
# character its table lacks, which costs more than the lookup
_TO_ASCII_DIGIT = str.maketrans({**{chr(i): chr(i) for i in range(128)}, **CN_DIGITS, "o": "0"})


def _digits(s: str) -> str:
    """The numerals of ``s`` as digits: Chinese numerals and the letter o mapped to ASCII, separators dropped."""
    return "".join(filter(str.isdigit, s.translate(_TO_ASCII_DIGIT)))


def valid_phone(digits: str, plus: bool) -> bool:
    """Malaysian, Chinese or international phone number shapes."""
    n = len(digits)
    if plus:
        return 8 <= n <= 15
    if digits.startswith("60"):
        return 10 <= n <= 12 and digits[2] in "13456789"
    if digits.startswith("0"):
        if digits[1:2] == "1":  # MY mobile 01x-xxx xxxx(x)
            return n in (10, 11)
        return digits[1:2] in "3456789" and n in (9, 10)  # MY landline
    if digits.startswith("86"):
        return n == 13 and digits[2] == "1" and digits[3] in "3456789"
    if digits.startswith("1"):
        return n == 11 and digits[1] in "3456789"  # CN mobile
    return bool(digits.startswith("65") and n == 10)


# Number words people spell phone numbers with (issue #18): English (with "oh" for zero and the "double" /
# "triple" repeaters), Malay, and the Chinese numerals above (lower case, financial 大写, 幺, 〇).
NUMBER_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "kosong": "0",
    "sifar": "0",
    "satu": "1",
    "dua": "2",
    "tiga": "3",
    "empat": "4",
    "lima": "5",
    "enam": "6",
    "tujuh": "7",
    "lapan": "8",
    "sembilan": "9",
}
REPEATERS = {"double": 2, "triple": 3}
_WORD_ALT = "|".join(sorted([*NUMBER_WORDS, *REPEATERS], key=len, reverse=True))
# One numeral token: an ASCII digit, a Chinese numeral, or a whole number word (a repeater only before one).
_TOKEN = rf"(?:[0-9{_DIGIT_CLASS[3:]}]|(?<![a-z])(?:{_WORD_ALT})(?![a-z]))"
# Between tokens: spaces, punctuation people group digits with, emoji left as sentinels by the fold (keycaps),
# the heavy minus sign ➖ and a few more — up to four of them.
_RUN_SEP = r"[\s,，、;；\-–—.·•/|~_*()（）\[\]\x00➖＋+]{0,4}"
SPELLED_RE = re.compile(rf"(?:\+\s?)?{_TOKEN}(?:{_RUN_SEP}{_TOKEN}){{5,24}}")
_TOKEN_RE = re.compile(_TOKEN)


def _spelled_digits(run: str) -> tuple[str, bool]:
    """The digits a run of numeral tokens spells, and whether it was written to dodge a filter (number words,
    Chinese numerals, keycaps, or digits spread over more groups than a phone number has)."""
    out: list[str] = []
    repeat = 1
    evasive = "\x00" in run
    groups = 0
    prev_end = -1
    for m in _TOKEN_RE.finditer(run):
        tok = m.group()
        if prev_end >= 0 and m.start() > prev_end:
            groups += 1
        prev_end = m.end()
        if tok in REPEATERS:
            repeat = REPEATERS[tok]
            evasive = True
            continue
        if tok.isascii() and tok.isdigit():
            d = tok
        else:
            d = NUMBER_WORDS.get(tok) or CN_DIGITS[tok]
            evasive = True
        out.append(d * repeat)
        repeat = 1
    if groups >= 5:
        evasive = True
    return "".join(out), evasive


def _counting(digits: str) -> bool:
    """Counting, not a number: every digit one more (or one less) than the last, wrapping 9 → 0
    (一二三四五六七八九十…, "one two three four five six seven eight")."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps == {1} or steps == {9}


def find_spelled_phones(view: str) -> list[Detection]:
    """Phone numbers written with number words, Chinese or financial numerals, keycaps, or digits split up by
    words and symbols ("kosong satu dua, tujuh…", "零壹贰 - 伍陆柒", "016 two zero four 7788"). ``view`` is the
    folded text, so spans are the original's. A run that dodges a filter needs 8–12 digits; a plain one must
    have a phone number's shape."""
    out = []
    for m in SPELLED_RE.finditer(view):
        run = m.group()
        plus = run.startswith("+")
        digits, evasive = _spelled_digits(run)
        n = len(digits)
        if not (valid_phone(digits, plus) or (evasive and 8 <= n <= 12)):
            continue
        # Counting is no number — unless it starts at zero and has a phone number's shape: "zero one two … nine"
        # is 012-345 6789, a Malaysian mobile (nobody counts from zero); the attack pass of 2026-12-07 sent it.
        if _counting(digits) and not (digits.startswith("0") and valid_phone(digits, plus)):
            continue
        s, e = m.start(), m.end()
        if NOT_PHONE_BEFORE.search(view, max(0, s - 14), s) or _looks_like_date(run):
            continue
        out.append(Detection("phone", s, e, digits))
    return out


def find_phones(view: str, *, spelled: bool = True) -> list[Detection]:
    """Phone numbers in ``view``; the spelled-out detector only when ``spelled`` (the engine passes whether its
    cues fired)."""
    out = _find_plain_phones(view)
    spelled_out = find_spelled_phones(view) if spelled else []
    if spelled_out:
        out += [d for d in spelled_out if not any(o.start < d.end and d.start < o.end for o in out)]
        out.sort(key=lambda d: d.start)
    if "\x00" in view:
        for i, d in enumerate(out):  # a keycap digit's marks (folded to sentinels) belong to its span
            e = d.end
            while view[e : e + 1] == "\x00":
                e += 1
            if e != d.end:
                out[i] = d._replace(end=e)
    return out


def _find_plain_phones(view: str) -> list[Detection]:
    out = []
    for m in PHONE_RE.finditer(view):
        raw = m.group("num")
        if raw.count("o") > 2:
            continue
        digits = _digits(raw)
        s = m.start()
        plus = view[s - 1 : s] == "+" or view[s - 2 : s] == "+ "
        if not valid_phone(digits, plus):
            continue
        # strip trailing separators from the span; include a leading +
        e = m.end()
        if plus:
            s = view.rindex("+", 0, s)
        while e > s and not (view[e - 1].isdigit() or view[e - 1] in CN_DIGITS):
            e -= 1
        if NOT_PHONE_BEFORE.search(view, max(0, s - 14), s) or _looks_like_date(raw):
            continue
        out.append(Detection("phone", s, e, digits))
    return out


_DATE_RE = re.compile(r"(19|20)\d\d[-./](0?[1-9]|1[0-2])[-./]\d{1,2}.*")


def _looks_like_date(raw: str) -> bool:
    return bool(_DATE_RE.fullmatch(raw.strip()))


def _walk_back(view: str, i: int, chars: frozenset[str], limit: int = 64) -> int:
    j = i
    while j > 0 and i - j < limit and view[j - 1] in chars:
        j -= 1
    return j


def find_web(view: str, allowed_domains: frozenset[str] = frozenset()) -> list[Detection]:
    out: list[Detection] = []
    covered_to = -1
    for a, anchor_end, kind in _anchors(view):
        if a < covered_to:
            continue
        if kind in ("scheme", "www"):
            e = _URL_TAIL.match(view, anchor_end).end()  # type: ignore[union-attr]
            s = a
            value = view[s:e].rstrip(".")
            e = s + len(value)
            host = _SCHEME_WWW.sub("", value).split("/")[0]
            det = "url"
        else:
            tld_text = view[a:anchor_end]
            if not tld_text.startswith("."):
                while a > 0 and view[a - 1] == " ":
                    a -= 1
            hs = _walk_back(view, a, _HOST_CHARS)
            while hs < a and view[hs] in ".-":
                hs += 1
            if hs == a:
                continue  # ".com" with nothing before it
            host = view[hs:anchor_end].replace("点", ".").replace(" dot ", ".")
            e = anchor_end
            pm = _PATH_TAIL.match(view, e)
            at = _AT_BEFORE.search(view, max(0, hs - 7), hs)
            if at:
                ls = _walk_back(view, at.start(), _LOCAL_CHARS)
                if ls < at.start():
                    s, det = ls, "email"
                else:
                    s, det = hs, "url"
            else:
                s, det = hs, "url"
                # a spelled-out dot needs a plausible host, not a sentence ("see you dot com")
                if not tld_text.startswith(".") and len(view[hs:a].strip()) < 2:
                    continue
            if det == "url" and pm:
                e = pm.end()
            value = view[s:e]
        if det == "url":
            h = host.strip().lower()
            if h in allowed_domains or any(h.endswith("." + d) for d in allowed_domains):
                continue
            if _NUMERIC_HOST.fullmatch(h):
                continue
        out.append(Detection(det, s, e, value))
        covered_to = e
    return out

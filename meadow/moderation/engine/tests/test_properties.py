from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meadow.moderation.engine import Hit, check, default_engine
from meadow.moderation.engine.engine import (
    _B_SHIFT,
    _END_DIGIT,
    _END_LETTER,
    _START_DIGIT,
    _START_LETTER,
    _WORDLIKE,
    _classify,
    _hit_order,
    _merge_overlaps,
    _sort_merge,
)
from meadow.moderation.engine.normalize import _N, _NOISE_RES, NOISE_CHARS, fold, normalize


@pytest.fixture(autouse=True, scope="module")
def _engine_built() -> None:
    # Build the default engine before the first example: a build (≈ 0.6 s) would exceed Hypothesis's
    # per-example deadline when this module runs alone.
    default_engine()


ORDINARY = [
    "今天",
    "吉隆坡",
    "好吃",
    "最近",
    "最后",
    "第一次",
    "第一眼",
    "推荐",
    "周末",
    "咖啡",
    "nasi lemak",
    "sedap",
    "best friend",
    "absolutely",
    "stunning",
    "have",
    "usb",
    "online",
    "RM12",
    "10:30",
    "room 1208",
    "the",
    "weekend",
    "cuti",
    "kedai",
    "makan",
    "唯一的遗憾",
    "最好还是",
    "😋",
    "，",
    "。",
    "!",
    " ",
    "\n",
]
NOISE = [" ", ".", "-", "*", "\u200b", "💗", "·", "~"]
REDIRECTS = ["加我微信 abc123", "WhatsApp me 0123456789", "vx: kl_food88", "私我拿链接", "IG: sarah.eats88"]

text_st = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80) | st.lists(
    st.sampled_from(ORDINARY + REDIRECTS + NOISE), max_size=25
).map("".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text_st)
def test_spans_index_the_original_text(text: str) -> None:
    res = check(text)
    for h in res.hits:
        assert 0 <= h.start < h.end <= len(text)
        assert text[h.start : h.end] == h.match


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_fold_is_one_to_one(text: str) -> None:
    assert len(fold(text)) == len(text)
    f, g, omap = normalize(text)
    for i in range(len(g)):
        assert f[omap.start(i)] == g[i]


@settings(max_examples=200)
@given(st.lists(st.sampled_from(ORDINARY), max_size=30).map("".join))
def test_clean_ordinary_words_never_flag_absolute(text: str) -> None:
    assert "absolute" not in check(text).categories
    assert "redirect" not in check(text).categories


@settings(max_examples=300)
@given(
    st.sampled_from(["加我微信 abc123", "whatsapp me 0123456789", "wechat: lily88", "vx: kl_food88"]),
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from(NOISE)), max_size=3),
    st.sampled_from(["", "upper", "fullwidth"]),
)
def test_noise_width_and_case_do_not_lose_a_redirect(
    base: str, inserts: list[tuple[int, str]], form: str
) -> None:
    chars = list(base)
    # the documented evasions: any noise between CJK characters (or CJK and a letter); inside a Latin word
    # only dashes, stars, middle dots, underscores and invisible characters
    for pos, n in inserts:
        pos = pos % len(chars)
        if not (0 < pos < len(chars) and chars[pos - 1].isalnum() and chars[pos].isalnum()):
            continue
        if chars[pos - 1].isascii() and chars[pos].isascii():
            n = {" ": "-", ".": "*", "~": "_", "💗": "\u200b"}.get(n, n)
        chars.insert(pos, n)
    text = "".join(chars)
    if form == "upper":
        text = text.upper()
    elif form == "fullwidth":
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    assert "redirect" in check(text).categories, text


# ---------------------------------------------------------------- fast paths agree with the plain versions
CATEGORIES = ["absolute", "redirect", "adult"]
hit_st = st.builds(
    lambda cat, start, length, sev, n: Hit(cat, start, start + length, "x" * length, f"r{n}", sev, f"s{n}"),
    st.sampled_from(CATEGORIES),
    st.integers(0, 12),
    st.integers(1, 6),
    st.sampled_from(["low", "medium", "high"]),
    st.integers(0, 3),
)


@settings(max_examples=500)
@given(st.lists(hit_st, min_size=2, max_size=6))
def test_sort_merge_is_sort_then_merge(hits: list[Hit]) -> None:
    # _sort_merge skips the merge when no two hits of one category overlap (or share a start)
    expected = tuple(_merge_overlaps(sorted(hits, key=_hit_order)))
    assert _sort_merge(list(hits)) == expected


def test_one_noise_regex_finds_what_the_two_simple_ones_find() -> None:
    w, n, ld = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f🐧✈]", _N, "[a-z0-9]"
    after_cjk = re.compile(rf"{n}(?<={w}{n})(?={w}|{ld})")
    latin_cjk = re.compile(rf"{n}(?<={ld}{n})(?={w})")
    combined = dict(_NOISE_RES)["cjk1"]
    rng = random.Random(5)
    alphabet = [*NOISE_CHARS, *"微信成人ab0z A\n，", "😋", "🐧", "\U0001f307", "\U0001f971", "\U00020001"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        simple = sorted(m.span() for rx in (after_cjk, latin_cjk) for m in rx.finditer(text))
        assert [m.span() for m in combined.finditer(text)] == simple, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_st)
def test_classify_keeps_what_word_matches_keeps(text: str) -> None:
    # _classify fuses the boundary rules with the split by role (one loop on the hot path): same matches kept
    eng = default_engine()
    hay = b" " + text.encode("utf-8", "surrogatepass").lower() + b" "
    matches = eng._ac.find_matches_as_indexes(hay, True)
    kept, seen = _word_matches_reference(matches, eng._kinds, eng._bounds, hay, eng._base)
    terms, allows, intents, seen2 = _classify(
        matches, eng._kinds, eng._bounds, hay, eng._base, eng._sole_rule, eng._roles, eng._nchars
    )
    assert seen2 == seen
    spans = [(bs, be) for pid, bs, be in kept for _ in eng._roles[pid]]
    assert sorted(spans) == sorted([t[:2] for t in terms] + allows + [i[:2] for i in intents])
    for bs, be, _, n in terms:
        assert len(hay[bs:be].decode()) == n


def _word_matches_reference(
    matches: list[tuple[int, int, int]],
    kinds: bytearray,
    bounds: bytearray,
    hay: bytes,
    base: dict[int, int] | None = None,
) -> tuple[list[tuple[int, int, int]], int]:
    """The boundary rules written plainly, one match at a time (the reference for ``_classify``): keep
    term/allow/intent matches that respect Latin/digit boundaries, and return the OR of all role bits seen."""
    seen = 0
    kept = []
    n = len(hay)
    for m in matches:
        k = kinds[m[0]]
        seen |= k
        if k & _WORDLIKE:
            pid, bs, be = m
            if k & _B_SHIFT:  # the byte before is not a letter (the automaton saw it): check the end only
                pid = base[pid]  # type: ignore[index]
                bs += 1
                if pid < 0:  # and the byte after is not one either (see _BOTH_SIDES)
                    pid = ~pid
                    be -= 1
                    kept.append((pid, bs, be))
                    continue
                m = (pid, bs, be)
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
            kept.append(m)
    return kept, seen

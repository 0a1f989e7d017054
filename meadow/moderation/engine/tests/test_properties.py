from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meadow.moderation.engine import check
from meadow.moderation.engine.normalize import fold, normalize

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

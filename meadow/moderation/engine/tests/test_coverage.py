"""Coverage by construction (issue #18): number words and numerals, platform aliases, selling intent.

Each case is a construction the engine must recognise whatever words fill it, not a phrase from a corpus."""

from __future__ import annotations

import pytest

from meadow.moderation.engine import check


def phone_hits(text: str, field: str = "note") -> list[str]:
    res = check(text, field=field)
    return [h.match for h in res.hits if h.rule == "redirect:phone"]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        (
            "Whatsapp saya kosong satu tiga, dua enam lima, sembilan kosong kosong lapan.",
            "kosong satu tiga, dua enam lima, sembilan kosong kosong lapan",
        ),
        (
            "WA six-zero-one-three, eight-eight-two, four-one-zero-one",
            "six-zero-one-three, eight-eight-two, four-one-zero-one",
        ),
        (
            "call me: zero one two double five triple seven four two",
            "zero one two double five triple seven four two",
        ),
        ("Can we talk there? +60 one two, 447, 9021", "+60 one two, 447, 9021"),
        ("电话聊吧：零壹贰 - 伍陆柒 - 捌捌玖零，晚上打", "零壹贰 - 伍陆柒 - 捌捌玖零"),
        ("联系：幺叁捌 柒陆伍 肆贰〇玖 备注", "幺叁捌 柒陆伍 肆贰〇玖"),
        ("Call ☎️ 0️⃣1️⃣3️⃣➖4️⃣8️⃣7️⃣ 1️⃣2️⃣6️⃣0️⃣ now", "0️⃣1️⃣3️⃣➖4️⃣8️⃣7️⃣ 1️⃣2️⃣6️⃣0️⃣"),
        ("pls text 016 two zero four 7788 faster", "016 two zero four 7788"),
        ("my number ⓪➀➁ ④⑤⑥ ⑦⑧⑨⓪", "⓪➀➁ ④⑤⑥ ⑦⑧⑨⓪"),
        ("WS me 0 1 7, 2 8 3, 6 6 0 4", "0 1 7, 2 8 3, 6 6 0 4"),
    ],
)
def test_phone_numbers_written_as_words_and_numerals_map_back_to_the_original(text: str, span: str) -> None:
    assert phone_hits(text) == [span]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("call zero one two three four five six seven eight nine", "zero one two three four five six seven eight nine"),
        ("kosong satu dua tiga empat lima enam tujuh lapan sembilan", "kosong satu dua tiga empat lima enam tujuh lapan sembilan"),
    ],
)  # fmt: skip
def test_a_run_that_counts_up_from_zero_is_a_mobile_number(text: str, span: str) -> None:
    """Counting is exempt (一二三…, "satu dua tiga"), but 0-1-2-…-9 is 012-345 6789, a Malaysian mobile number."""
    assert phone_hits(text, field="dm") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "周一至周六9:00-19:00营业",
        "I have one or two cats, three dogs and five fish",
        "二零二六年十二月七日",
        "Satu dua tiga, jom kita mula!",
        "订单号：一二三四五六七八九零",
    ],
)
def test_numbers_that_are_not_phone_numbers(text: str) -> None:
    assert phone_hits(text) == []


# ---------------------------------------------------------------- platform aliases
def test_the_platform_alias_table_is_generated_from_its_source() -> None:
    from meadow.moderation.engine import platforms

    assert platforms.TARGET.read_text(encoding="utf-8") == platforms.generate(), (
        "run: python -m meadow.moderation.engine.platforms"
    )


@pytest.mark.parametrize(
    "text",
    [
        "cheaper on the orange shopping app, just search 'MYKB keyboards'",  # nickname + a name to search
        "我在某鱼上挂了几件闲置，大家去搜“阿珍的衣橱”就能找到",  # veiled 某 + last character
        "我把完整课程放在某音了，搜“阿敏电商笔记”",
        "I'm more active on the little blue bird app, find me @danialplays",
        'order kat app oren, cari "almari_mira"',
        "加我企鹅 2486 5571 3，发你更多实拍图",
        "我的作品都放在哀居啦～搜「陳小花的手作日常」就找得到",
        'Tengok menu dekat page Muka Buku saya "Dapur Kak Ina JB"',
        "Full vid on my tiktok",
        "想要资料包的关注我公众号回复资料就能领",
    ],
)
def test_other_platforms_named_by_nickname_translation_or_veiled_name(text: str) -> None:
    res = check(text, field="comment")
    assert "redirect" in res.categories and res.verdict == "block", res


@pytest.mark.parametrize(
    "name", ["tg_kakakamy", "ig.nadiakicks", "Cindy_ig同名", "某鱼同名_阿丽二手", "yt.nasigamer"]
)
def test_a_username_that_names_another_platform_points_to_it(name: str) -> None:
    res = check(name, field="username")
    assert res.verdict == "block"
    assert all(name[h.start : h.end] == h.match for h in res.hits)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("Tengok tutorial kat YouTube banyak membantu", "note"),
        ("橘子汽水不加冰", "username"),
        ("第一次在这个平台下单，希望质量不要让我失望", "comment"),
        ("Kedai kami tutup sementara 12-14 Disember untuk renovasi", "note"),
        ("axia.and.me", "username"),
        ("坐飞机去槟城，私信我推荐好吃的", "note"),
    ],
)
def test_platforms_mentioned_in_passing_are_not_redirects(text: str, field: str) -> None:
    assert "redirect" not in check(text, field=field).categories


# ---------------------------------------------------------------- selling intent
@pytest.mark.parametrize(
    "text",
    [
        "这是我吃过最好吃的一碗肉骨茶，那天爸爸在机场接我后直接带我去吃的",
        "Throwback to the best road trip of my life — zero plans, one broken aircon",
        "Pengalaman pertama pergi Langkawi, paling best trip setakat ni!",
        "请问大家，哪一家的红酒最便宜？",
    ],
)
def test_a_superlative_in_a_memory_or_a_question_with_nothing_for_sale_passes(text: str) -> None:
    res = check(text)
    assert res.verdict == "pass", res
    assert res.hits  # still reported, so the composer can show it


@pytest.mark.parametrize(
    "text",
    [
        "全网最低价 下单立减",
        "我吃过最好吃的一家，本店现货包邮，RM25 一盒",
        "Craft beer night every Friday 🍺 Buy 3 pints, get 1 free!",
        "The best nasi lemak in town — order now, RM8",
    ],
)
def test_the_same_words_in_a_sale_are_held(text: str) -> None:
    assert check(text).verdict == "review", check(text)


def test_a_verified_business_sells_by_nature() -> None:
    assert check("红酒到货", account="enterprise").verdict == "review"
    assert check("红酒到货").verdict == "pass"  # a personal mention of a regulated thing


def test_a_space_between_chinese_and_latin_is_no_evasion_and_keeps_the_fast_path() -> None:
    """槟城 night market is how people write: it must not send the text to the full path (issue #18's speed),
    while the spaced form of a pattern (槟城 no.1) is still found on the fast path, like the unspaced one."""
    from meadow.moderation.engine.engine import _B_SLOW, _B_SPECIAL, default_engine

    eng = default_engine()
    hay = b" " + "周末在槟城 night market 吃了炒粿条，吉隆坡 nasi lemak 也不错".encode() + b" "
    assert not any(eng._kinds[m[0]] & (_B_SLOW | _B_SPECIAL) for m in eng._scan(hay, True))
    for text in ("槟城no.1 的榴莲，下单包邮", "槟城 no.1 的榴莲，下单包邮"):
        hits = [h for h in check(text).hits if h.category == "absolute"]
        assert hits and hits[0].match.replace(" ", "") == "槟城no.1", (text, hits)


@pytest.mark.parametrize(
    ("text", "sells", "talks"),
    [
        ("order now, rm8", True, False),
        ("the border was closed", False, False),  # a Latin cue stands as a word (order ⊄ border)
        ("rm25 一盒", True, False),  # a price outside a question sells
        ("rm25 一盒?", False, True),  # … inside a question it does not
        ("买一盒送两支", True, False),  # shaped cues: 买…送, N折, get N free, dm me
        ("全场8折", True, False),
        ("buy 3 pints, get 1 free", True, False),
        ("dm me for details", True, False),
        ("买卖", False, False),  # 卖 right after 买 is the noun 买卖, not a sale
        ("i had the best laksa of my life", False, True),
    ],
)
def test_selling_intent_features(text: str, sells: bool, talks: bool) -> None:
    from meadow.moderation.engine import intent

    assert intent.features(text) == (sells, talks)

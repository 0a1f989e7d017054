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

"""The text analysis (no database): normalisation like moderation, segmentation, stemming, query syntax."""

from __future__ import annotations

import pytest

from meadow.search.analysis import add_words, index_text, normalize, parse_query, stem


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("cats", "cat"),
        ("dishes", "dish"),
        ("boxes", "box"),
        ("stories", "story"),
        ("running", "run"),
        ("cooked", "cook"),
        ("cooking", "cook"),
        ("making", stem("make")),
        ("class", "class"),
        ("bus", "bus"),
        ("kl", "kl"),
    ],
)
def test_light_stemmer(word, expected):
    assert stem(word) == expected


def test_normalises_like_moderation():
    assert normalize("ＫＬ 臺灣 Café\u200b") == "kl 台湾 cafe"


def test_traditional_and_simplified_index_alike():
    assert index_text("護膚心得") == index_text("护肤心得")
    assert parse_query("咖啡廳").terms == parse_query("咖啡厅").terms


def test_compound_query_matches_its_pieces():
    add_words(["吉隆坡美食"])
    query = parse_query("吉隆坡美食")
    assert query.to_fts5() in (
        '("吉隆坡美食" OR ("吉隆坡" AND "美食"))',
        '("吉隆坡美食" OR ("美食" AND "吉隆坡"))',
    )
    assert "'吉隆坡美食' | (" in query.to_tsquery()
    assert {"吉隆坡", "美食", "吉隆坡美食"} <= set(index_text("吉隆坡美食推荐").split())


def test_stopwords_dropped_unless_alone():
    assert parse_query("the best cafe in KL").to_fts5() == '"caf" AND "kl"'
    assert not parse_query("the").empty


def test_query_tokens_are_letters_and_digits_only():
    query = parse_query("\"; DROP TABLE x; -- ' OR 1=1 ＃美食")
    for term in query.terms:
        for alternative in term:
            for token in alternative:
                assert token.isalnum()
    assert parse_query("!!! ...").empty

"""Cursor tokens: the pattern the schema states admits exactly the tokens the server takes."""

from __future__ import annotations

import base64
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meadow.core.errors import ValidationFailed
from meadow.core.pagination import (
    _DIGITS_1,
    _DIGITS_2,
    _DIGITS_3,
    CURSOR_PATTERN,
    decode_cursor,
    digit_token_decode,
    digit_token_encode,
    digit_token_pattern,
    encode_cursor,
)
from meadow.distribution.selectors import (
    DISCOVER_CURSOR_PATTERN,
    NEARBY_CURSOR_PATTERN,
    discover_cursor_encode,
    nearby_cursor_encode,
)
from meadow.search.backends import CURSOR_PATTERN as SEARCH_CURSOR_PATTERN
from meadow.search.backends import MAX_RESULTS, Cursor, cursor_decode, cursor_encode

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize(("width", "group"), [(1, _DIGITS_1), (2, _DIGITS_2), (3, _DIGITS_3)])
def test_digit_groups_match_exactly_the_encodings_of_digits(width, group):
    encodings = {
        base64.urlsafe_b64encode("".join(d).encode()).decode().rstrip("=")
        for d in itertools.product("0123456789", repeat=width)
    }
    length = len(next(iter(encodings)))
    # Every string over the base64url alphabet whose characters each appear in some encoding at that position.
    columns = [sorted({e[i] for e in encodings}) for i in range(length)]
    candidates = {"".join(c) for c in itertools.product(*columns)}
    assert candidates >= encodings
    assert {c for c in candidates if re.fullmatch(group, c)} == encodings
    assert all(not re.fullmatch(group, c) for c in B64)  # nothing shorter


@pytest.mark.parametrize(("low", "high"), [(1, 18), (13, 21), (17, 17), (1, 1), (2, 4)])
def test_the_pattern_admits_every_digit_count_in_range_and_no_other(low, high):
    pattern = digit_token_pattern("v1", min_digits=low, max_digits=high)
    for count in range(1, high + 3):
        token = digit_token_encode("v1", "7" * count)
        assert bool(re.search(pattern, token)) == (low <= count <= high), count
    assert re.search(pattern, "")  # ``?cursor=``: the first page
    assert decode_cursor("") is None


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_keyset_cursor_round_trips(value):
    token = encode_cursor(value)
    assert re.search(CURSOR_PATTERN, token)
    assert decode_cursor(token) == value


@settings(max_examples=300)
@given(st.from_regex(CURSOR_PATTERN))
def test_every_token_the_pattern_admits_is_taken(token):
    # JSON Schema matches a pattern as a search: "$" also matches before a final newline, and the server agrees.
    value = decode_cursor(token)
    assert value is None if token.strip() == "" else 0 <= value < 10**18  # type: ignore[operator]


@settings(max_examples=300)
@given(st.text(alphabet=B64 + "=!.~ \n", max_size=40))
def test_a_string_the_pattern_refuses_is_a_bad_cursor(text):
    if re.search(CURSOR_PATTERN, text) or not text:
        return
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(text)
    assert caught.value.code == "bad_cursor"


@pytest.mark.parametrize("token", ["djE6LTE", "djI6MTA", "djE6eHl6", "djE6MTA=", "djE6MT A", "djE6", "MTA"])
def test_near_misses_are_refused(token):
    with pytest.raises(ValidationFailed):
        decode_cursor(token)


def test_keyset_values_outside_the_range_are_not_encoded():
    for value in (-1, 10**18):
        with pytest.raises(ValueError):
            encode_cursor(value)


@settings(max_examples=200)
@given(st.from_regex(DISCOVER_CURSOR_PATTERN))
def test_discover_tokens_name_a_session_and_an_offset(token):
    digits = digit_token_decode(token, kind="d1", pattern=DISCOVER_CURSOR_PATTERN)
    if not token.strip():
        assert digits is None
        return
    assert digits is not None
    assert len(digits) >= 13
    assert re.search(DISCOVER_CURSOR_PATTERN, discover_cursor_encode(digits[:12], int(digits[12:])))


def test_feed_cursors_match_their_patterns():
    assert re.search(DISCOVER_CURSOR_PATTERN, discover_cursor_encode("012345678901", 0))
    assert re.search(DISCOVER_CURSOR_PATTERN, discover_cursor_encode("999999999999", 999_999_999))
    assert not re.search(DISCOVER_CURSOR_PATTERN, discover_cursor_encode("abcdefghijkl", 3))
    assert re.search(NEARBY_CURSOR_PATTERN, nearby_cursor_encode(40))
    assert not re.search(NEARBY_CURSOR_PATTERN, nearby_cursor_encode(10**9))


@settings(max_examples=200)
@given(st.from_regex(SEARCH_CURSOR_PATTERN))
def test_every_search_token_is_taken(token):
    position = cursor_decode(token)
    assert (
        position is None if not token.strip() else 0 <= position.offset <= MAX_RESULTS and position.now >= 0
    )


@pytest.mark.parametrize(
    ("offset", "now"), [(20, 1_767_225_600.123), (MAX_RESULTS, 0.0), (0, 9_999_999_999.0)]
)
def test_search_cursor_round_trips(offset, now):
    token = cursor_encode(Cursor(offset=offset, now=now))
    assert re.search(SEARCH_CURSOR_PATTERN, token)
    assert cursor_decode(token) == Cursor(offset=offset, now=now)

"""Cursor pagination: ``{"items": [...], "next_cursor": "…" | null}``, keyset on the id (no OFFSET)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.core.schema import Limits

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 50

# Cursors are opaque to clients: base64url (unpadded) of ``<kind>:<digits>``. The set of well-formed tokens is
# still a regular language, so the schema states it as a ``pattern`` and the server accepts exactly the tokens the
# pattern matches (every one of them: a well-formed token is never refused) and refuses every other string with a
# 400 ``bad_cursor``. In base64 three bytes become four characters; three ASCII digits (0x30-0x39) become one of
# the 1,000 groups ``_DIGITS_3`` matches, a tail of one or two digits two or three characters. The sets are the
# bits a digit can have (``test_pagination`` checks them against every encoding).
_DIGITS_3 = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]"
_DIGITS_2 = "(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]"
_DIGITS_1 = "(?:[MN][AQgw]|O[AQ])"


def digit_token_pattern(kind: str, *, min_digits: int, max_digits: int) -> str:
    """The pattern (ECMA 262 and Python alike) of ``digit_token_encode(kind, d)`` for every string ``d`` of
    ``min_digits``–``max_digits`` ASCII digits; ``kind`` is two characters (``v1``), so ``kind:`` is 3 bytes.
    The empty string matches too: ``?cursor=`` is the first page, as no cursor is."""
    head = base64.urlsafe_b64encode(f"{kind}:".encode()).decode()
    if len(head) != 4 or not 1 <= min_digits <= max_digits:
        raise ValueError("a cursor kind is two ASCII characters, with at least one digit after it")
    alternatives = []
    for tail, tail_pattern in ((0, ""), (1, _DIGITS_1), (2, _DIGITS_2)):
        low = max(1 if tail == 0 else 0, -(-(min_digits - tail) // 3))
        high = (max_digits - tail) // 3
        if low <= high:
            alternatives.append(f"(?:{_DIGITS_3}){{{low},{high}}}{tail_pattern}")
    return f"^(?:{head}(?:{'|'.join(alternatives)}))?$"  # empty: no cursor, the first page


def digit_token_encode(kind: str, digits: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{digits}".encode()).decode().rstrip("=")


def digit_token_decode(token: str | None, *, kind: str, pattern: str) -> str | None:
    """The digits of a token ``pattern`` matches (as JSON Schema matches: a search, so a final newline is
    allowed), ``None`` for no token (``None``, empty), or a 400 ``bad_cursor``."""
    if not token:
        return None
    match = re.search(pattern, token)
    if match is None:
        raise ValidationFailed(_("This cursor is not valid."), field="cursor", code="bad_cursor")
    text = match.group(0)
    if not text:
        return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()[len(kind) + 1 :]


# Keyset cursors: the last row's key (an id, a sequence number), up to 18 digits (below 2**63, what a bigint
# column and SQLite hold).
CURSOR_DIGITS_MAX = 18
CURSOR_PATTERN = digit_token_pattern("v1", min_digits=1, max_digits=CURSOR_DIGITS_MAX)

# The ``?limit=`` of every list endpoint: the schema states the same range that ``clamp_limit`` enforces.
PageLimit = Annotated[int, Limits(minimum=1, maximum=MAX_LIMIT)] | None
# ``?cursor=``: the opaque ``next_cursor`` of the page before (format ``cursor``, the pattern above); anything
# else is a 400 ``bad_cursor``.
PageCursor = Annotated[str, Limits(format="cursor", pattern=CURSOR_PATTERN)] | None


def encode_cursor(value: int) -> str:
    if not 0 <= value < 10**CURSOR_DIGITS_MAX:
        raise ValueError(f"a keyset cursor holds 0 to 10**{CURSOR_DIGITS_MAX} - 1, not {value}")
    return digit_token_encode("v1", str(value))


def decode_cursor(cursor: str | None) -> int | None:
    digits = digit_token_decode(cursor, kind="v1", pattern=CURSOR_PATTERN)
    return None if digits is None else int(digits)


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            _("limit must be between 1 and %(max)d.") % {"max": MAX_LIMIT}, field="limit", code="bad_limit"
        )
    return limit


def paginate_desc(
    qs: QuerySet, *, cursor: str | None, limit: int | None, shape: Callable[[Any], T], key: str = "id"
) -> dict[str, Any]:
    """One page of ``qs`` ordered by ``key`` descending, after ``cursor``."""
    size = clamp_limit(limit)
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(**{f"{key}__lt": after})
    rows: list[Any] = list(qs.order_by(f"-{key}")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    items: Iterable[T] = [shape(row) for row in rows]
    return {
        "items": list(items),
        "next_cursor": encode_cursor(getattr(rows[-1], key)) if more and rows else None,
    }


def paginate_asc(
    qs: QuerySet, *, cursor: str | None, limit: int | None, shape: Callable[[Any], T], key: str = "id"
) -> dict[str, Any]:
    """One page of ``qs`` ordered by ``key`` ascending (oldest first, as replies read), after ``cursor``."""
    size = clamp_limit(limit)
    after = decode_cursor(cursor)
    if after is not None:
        qs = qs.filter(**{f"{key}__gt": after})
    rows: list[Any] = list(qs.order_by(key)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return {
        "items": [shape(row) for row in rows],
        "next_cursor": encode_cursor(getattr(rows[-1], key)) if more and rows else None,
    }

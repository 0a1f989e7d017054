"""Cursor pagination: ``{"items": [...], "next_cursor": "…" | null}``, keyset on the id (no OFFSET)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed
from meadow.core.schema import Limits

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 50

# The ``?limit=`` of every list endpoint: the schema states the same range that ``clamp_limit`` enforces.
PageLimit = Annotated[int, Limits(minimum=1, maximum=MAX_LIMIT)] | None
# ``?cursor=``: the opaque ``next_cursor`` of the page before (format ``cursor``); anything else is a 400.
PageCursor = Annotated[str, Limits(format="cursor")] | None


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "v1":
            raise ValueError
        number = int(value)
        if number < 0 or number > 2**63:
            raise ValueError
        return number
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("This cursor is not valid."), field="cursor", code="bad_cursor") from exc


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

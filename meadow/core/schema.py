"""Types shared by the API's request schemas, so the OpenAPI document states what the server enforces.

One source for each limit: the owning app defines the constant (``BIO_MAX``, ``QUANTITY_MAX``, ``MAX_LIMIT``…),
its service checks it with a clear, translated error and a stable code, and the request schema states the same
constant through :class:`Limits`. The schema only *states* the rule (pydantic does not check it a second time),
so a client gets the service's message (``too_long``, ``bad_quantity``…), not pydantic's English one.

Text must not contain NUL characters: PostgreSQL refuses them, and the API's parser refuses a request that
carries one anywhere (JSON body, query string, form) — ``Text`` says so in the schema.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from meadow.core.text import SPOOFING_CLASS

# The end of the text, the same in every regex dialect that reads the schema. ``$`` is not: in Python (which
# hypothesis, schemathesis and jsonschema use to generate and check data) it also matches before a final newline,
# so "29.90\n" matched ``^[0-9.]+$`` there, not in ECMA 262 (what OpenAPI means) nor in the server's fullmatch.
# A pattern whose last character class cannot take a newline ends with END_OF_TEXT instead of ``$``.
END_OF_TEXT = r"(?![\s\S])"

# No NUL character anywhere in the string (ECMA 262 and Python regex alike).
NO_NUL_PATTERN = r"^[^\x00]*$"
# ... and at least one character that is not whitespace: services strip() required text and refuse it empty.
# Python's strip() also takes the information separators U+001C–U+001F and NEL (U+0085), which ECMA 262's \s does
# not, and ECMA's \s takes the BOM (U+FEFF), which Python's does not: none of them counts as the one visible
# character, so every reader of the pattern (the schema's, pydantic's, the services') agrees ("\x1d" was taken
# as a name by the schema and refused by the service as blank).
BLANK_EXTRA = r"\x1c-\x1f\x85\ufeff"
NON_BLANK_PATTERN = f"^[^\\x00]*[^\\s\\x00{BLANK_EXTRA}][^\\x00]*$"

_KEYWORDS = {
    "max_length": "maxLength",
    "min_length": "minLength",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "format": "format",
    "enum": "enum",
    "min_items": "minItems",
    "max_items": "maxItems",
}


@dataclass(frozen=True)
class Limits:
    """``Annotated`` metadata: the JSON Schema keywords for a rule the service checks (pass its constant).

    Lengths the product counts *as a person counts them* (grapheme clusters, ``visible_length``: one emoji made
    of several code points counts 1) are stated as ``maxLength`` with the same constant: JSON Schema counts code
    points, never fewer than graphemes, so whatever the schema allows the service accepts."""

    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: str | None = None
    enum: tuple[str | int, ...] | None = None
    min_items: int | None = None
    max_items: int | None = None

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for name, value in asdict(self).items():
            if value is not None:
                schema[_KEYWORDS[name]] = list(value) if isinstance(value, tuple) else value
        return schema


Text = Annotated[str, Limits(pattern=NO_NUL_PATTERN)]
NonBlankText = Annotated[str, Limits(pattern=NON_BLANK_PATTERN)]

# Text that people read as it is written (messages, group names, display names, note titles): no NUL and none of
# the invisible spoofing controls ``core.text.refuse_spoofing`` refuses (400 ``invisible_characters``).
SAFE_TEXT_PATTERN = f"^[^\\x00{SPOOFING_CLASS}]*$"
SAFE_NON_BLANK_PATTERN = (
    f"^[^\\x00{SPOOFING_CLASS}]*[^\\s\\x00{BLANK_EXTRA}{SPOOFING_CLASS}][^\\x00{SPOOFING_CLASS}]*$"
)
SafeText = Annotated[str, Limits(pattern=SAFE_TEXT_PATTERN)]
SafeNonBlankText = Annotated[str, Limits(pattern=SAFE_NON_BLANK_PATTERN)]


def _json_integer(value: Any) -> Any:
    """JSON Schema's ``integer``: a JSON number with no fractional part (``3`` or ``3.0``), never a string or a
    boolean. Pydantic's strict int refused ``3.0`` (which the schema allows) and its lax int takes ``"3"`` and
    ``true`` (which the schema refuses)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a JSON body, exactly as the schema's ``"type": "integer"`` reads.
JSONInt = Annotated[int, BeforeValidator(_json_integer)]
# An object's id in a JSON body (the range a bigint primary key holds). The range goes inside the validator, so
# the schema states it as ``minimum``/``maximum``.
JSONId = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(_json_integer)]

# A count in a JSON body (0 or more): pydantic refuses a negative one itself (``invalid``), as it always has.
JSONCount = Annotated[int, Field(ge=0), BeforeValidator(_json_integer)]


def _json_date(value: Any) -> Any:
    """JSON Schema's ``format: date``: a string ``YYYY-MM-DD`` (or null where the field allows it). Pydantic's lax
    date also took a number (``0`` became 1970-01-01, a Unix time) and ``"20261207"``, which the schema refuses."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        # pydantic's own error type, so the API's translated message for a bad date applies (validation_messages)
        raise PydanticCustomError("date_type", "Input should be a valid date in the format YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A date in a JSON body, exactly as the schema's ``"format": "date"`` reads (RFC 3339 full-date).
JSONDate = Annotated[date, BeforeValidator(_json_date)]

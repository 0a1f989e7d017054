"""The human message of a request-validation error (django-ninja/pydantic), in the reader's language.

pydantic writes its messages in English only (``"String should have at most 60 characters"``); the API's error
shape promises a translated ``message``. :func:`validation_message` turns one pydantic error into a translated
sentence from its ``type`` and ``ctx`` (the limits), leaving the machine parts — the ``invalid`` code and the
``field`` — as they were. An error type not listed gets a general sentence rather than English."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _


def _number(ctx: Mapping[str, Any], key: str) -> str:
    return str(ctx.get(key, ""))


def _choices(ctx: Mapping[str, Any]) -> str:
    # pydantic joins them as "'a', 'b' or 'c'": keep the values, drop the English "or".
    return str(ctx.get("expected", "")).replace(" or ", ", ")


_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: _("This field is required."),
    "string_too_short": lambda ctx: (
        _("Enter at least %(min)s characters.") % {"min": _number(ctx, "min_length")}
    ),
    "string_too_long": lambda ctx: (
        _("Enter at most %(max)s characters.") % {"max": _number(ctx, "max_length")}
    ),
    "too_short": lambda ctx: _("Give at least %(min)s items.") % {"min": _number(ctx, "min_length")},
    "too_long": lambda ctx: _("Give at most %(max)s items.") % {"max": _number(ctx, "max_length")},
    "greater_than_equal": lambda ctx: (
        _("Enter a value of at least %(limit)s.") % {"limit": _number(ctx, "ge")}
    ),
    "greater_than": lambda ctx: _("Enter a value greater than %(limit)s.") % {"limit": _number(ctx, "gt")},
    "less_than_equal": lambda ctx: _("Enter a value of at most %(limit)s.") % {"limit": _number(ctx, "le")},
    "less_than": lambda ctx: _("Enter a value less than %(limit)s.") % {"limit": _number(ctx, "lt")},
    "int_parsing": lambda ctx: _("Enter a whole number."),
    "int_type": lambda ctx: _("Enter a whole number."),
    "int_from_float": lambda ctx: _("Enter a whole number."),
    "float_parsing": lambda ctx: _("Enter a number."),
    "float_type": lambda ctx: _("Enter a number."),
    "decimal_parsing": lambda ctx: _("Enter a number."),
    "decimal_type": lambda ctx: _("Enter a number."),
    "finite_number": lambda ctx: _("Enter a number."),
    "decimal_max_places": lambda ctx: (
        _("Use at most %(places)s decimal places.") % {"places": _number(ctx, "decimal_places")}
    ),
    "decimal_max_digits": lambda ctx: _("This number is too large."),
    "decimal_whole_digits": lambda ctx: _("This number is too large."),
    "bool_type": lambda ctx: _("Enter true or false."),
    "bool_parsing": lambda ctx: _("Enter true or false."),
    "string_type": lambda ctx: _("Enter text."),
    "string_pattern_mismatch": lambda ctx: _("This text is not in the expected form."),
    "literal_error": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _choices(ctx)},
    "enum": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _choices(ctx)},
    "date_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_type": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "datetime_parsing": lambda ctx: _("Enter a date and time (ISO 8601)."),
    "datetime_type": lambda ctx: _("Enter a date and time (ISO 8601)."),
    "datetime_from_date_parsing": lambda ctx: _("Enter a date and time (ISO 8601)."),
    "json_invalid": lambda ctx: _("The request body is not valid JSON."),
    "json_type": lambda ctx: _("The request body is not valid JSON."),
    "model_type": lambda ctx: _("Send a JSON object."),
    "model_attributes_type": lambda ctx: _("Send a JSON object."),
    "dict_type": lambda ctx: _("Send a JSON object."),
    "list_type": lambda ctx: _("Send a list."),
    "extra_forbidden": lambda ctx: _("This field is not accepted."),
    "uuid_parsing": lambda ctx: _("This input is not valid."),
}


def validation_message(error: Mapping[str, Any]) -> str:
    """The translated sentence for one pydantic error (``{"type", "loc", "msg", "ctx"}``)."""
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind in _MESSAGES:
        return _MESSAGES[kind](ctx)
    if kind in {"value_error", "assertion_error"} and ctx.get("error") is not None:
        return str(ctx["error"])  # our own validators raise messages that are already translated
    return _("This input is not valid.")

"""Text helpers shared by every app: length as a person counts it, and validated form text."""

from typing import Any

import regex
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed

_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    """Number of user-perceived characters (grapheme clusters): one CJK character, one emoji (even a family
    emoji made of several code points joined by ZWJ) or one accented letter each count 1."""
    return len(_GRAPHEME.findall(text))


def clean_text(
    value: Any, *, field: str, label: str, max_length: int, required: bool = False, single_line: bool = False
) -> str:
    """A text field from a form or the API: stripped (``single_line``: every run of whitespace, newlines
    included, becomes one space), without NUL characters, at most ``max_length`` characters, present when
    ``required``. Raises :class:`ValidationFailed` naming ``field``; ``label`` is the field's name in messages."""
    text = " ".join(str(value or "").split()) if single_line else str(value or "").strip()
    if "\x00" in text:
        raise ValidationFailed(_("Text cannot contain NUL characters."), field=field, code="invalid")
    if required and not text:
        raise ValidationFailed(_("%(field)s is required.") % {"field": label}, field=field, code="required")
    if len(text) > max_length:
        raise ValidationFailed(
            _("%(field)s is too long (at most %(max)d characters).") % {"field": label, "max": max_length},
            field=field,
            code="too_long",
        )
    return text

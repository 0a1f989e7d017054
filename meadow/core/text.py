"""Text helpers shared by every app: length as a person counts it, and validated form text."""

import unicodedata
from typing import Any

import regex
from django.utils.translation import gettext as _

from meadow.core.errors import ValidationFailed

_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    """Number of user-perceived characters (grapheme clusters): one CJK character, one emoji (even a family
    emoji made of several code points joined by ZWJ) or one accented letter each count 1."""
    return len(_GRAPHEME.findall(text))


# Kept although invisible: the zero-width joiner and non-joiner shape emoji sequences and several scripts (Persian,
# Indic); the variation selectors (category Mn, not touched) pick emoji presentation.
_KEEP_FORMAT = {"\u200c", "\u200d"}


def strip_invisible(text: str) -> str:
    """``text`` without the characters that change how it reads without being seen: bidirectional controls
    (U+202A–U+202E, U+2066–U+2069, LRM/RLM/ALM), zero-width spaces, the BOM, soft hyphens, tag characters and
    every other format (Cf) or control (Cc) character except the joiners emoji and some scripts need, and
    private-use or unassigned code points. Line breaks and tabs are controls too: for one-line labels."""
    return "".join(
        char
        for char in text
        if char in _KEEP_FORMAT or unicodedata.category(char) not in {"Cc", "Cf", "Co", "Cn", "Cs"}
    )


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

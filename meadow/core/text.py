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


# Spoofing controls: characters that change how a text reads while staying invisible — the bidirectional
# embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069: U+202E before "exe.txt" shows it as "txt.exe"), the zero-width
# space, word joiner and invisible operators (U+200B, U+2060–U+2064), the deprecated format controls
# (U+206A–U+206F), the byte order mark (U+FEFF) and the interlinear annotation controls (U+FFF9–U+FFFB). Written
# as a regex character class body in escapes that Python and ECMA 262 read alike, so the API schema's patterns
# (``core.schema.SafeText``) state exactly what ``refuse_spoofing`` refuses. Not among them: the joiners emoji
# and several scripts need (ZWJ, ZWNJ), the marks right-to-left text needs (LRM, RLM, ALM), variation selectors
# and the tag characters of flag emoji.
# Also refused: the blank look-alikes, which render as nothing (or as a space) yet are no whitespace, so a name made
# of them passed "not blank": the soft hyphen (U+00AD), the combining grapheme joiner (U+034F), the Hangul fillers
# (U+115F, U+1160, U+3164, U+FFA0), the Mongolian vowel separator (U+180E) and the braille blank (U+2800).
SPOOFING_CLASS = (
    r"\u202A-\u202E\u2066-\u2069\u200B\u2060-\u2064\u206A-\u206F\uFEFF\uFFF9-\uFFFB"
    r"\u00AD\u034F\u115F\u1160\u180E\u2800\u3164\uFFA0"
)
_SPOOFING = regex.compile(f"[{SPOOFING_CLASS}]")


def has_spoofing(text: str) -> bool:
    return bool(_SPOOFING.search(text or ""))


def refuse_spoofing(text: str, *, field: str) -> str:
    """``text`` unchanged, or 400 ``invisible_characters`` naming ``field`` when it holds a spoofing control (see
    ``SPOOFING_CLASS``): refused, not stripped, so what the writer sees is what every reader sees."""
    if has_spoofing(text):
        raise ValidationFailed(
            _("Remove the invisible formatting characters (such as text-direction controls) from this text."),
            field=field,
            code="invisible_characters",
        )
    return text


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

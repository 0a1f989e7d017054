"""Text helpers shared by every app: length as a person counts it."""

import regex

_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    """Number of user-perceived characters (grapheme clusters): one CJK character, one emoji (even a family
    emoji made of several code points joined by ZWJ) or one accented letter each count 1."""
    return len(_GRAPHEME.findall(text))

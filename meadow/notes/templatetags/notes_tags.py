"""Template helpers for notes: the body with linked #topics and @mentions, compact counts."""

from __future__ import annotations

import regex
from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from meadow.notes.text import normalize_hashtag

register = template.Library()

_TOKENS = regex.compile(
    r"(?P<tag>#[\p{L}\p{N}\p{M}_][\p{L}\p{N}\p{M}_·\-]*)|(?<![\w@])(?P<mention>@[a-z0-9](?:[a-z0-9_.]{0,22}[a-z0-9_])?)",
    regex.IGNORECASE,
)


@register.filter
def note_body(body: str) -> SafeString:
    """Escape the body and link its #topics to topic pages and @mentions to profiles. Line breaks are kept
    by CSS (white-space: pre-line)."""
    out: list[str] = []
    last = 0
    for match in _TOKENS.finditer(body or ""):
        out.append(escape(body[last : match.start()]))
        text = match.group(0)
        if match.group("tag"):
            name = normalize_hashtag(text[1:])
            href = reverse("web:hashtag", kwargs={"name": name}) if name else ""
        else:
            href = reverse("web:profile", kwargs={"handle": text[1:].lower()})
        out.append(
            f'<a class="inline-link" href="{escape(href)}">{escape(text)}</a>' if href else escape(text)
        )
        last = match.end()
    out.append(escape((body or "")[last:]))
    return mark_safe("".join(out))  # every piece above is escaped


@register.filter
def compact(number: int) -> str:
    """1234 → 1.2k, 12000 → 1.2w in Chinese-speaking apps; we use k/M everywhere for clarity."""
    n = int(number or 0)
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


@register.simple_tag
def image_alt(image, note, total: int = 1) -> str:
    """``{% image_alt image note total %}``: the image's ``alt`` (its description, else from the note's title)."""
    if image is None:
        return ""
    return image.alt_text(title=note.title, body=note.body, total=total)

"""The signed impression tokens of feed cards: the feeds (``selectors``) sign them, ``POST /impressions`` reads
them (``services.impressions_from_tokens``). Below both, so that the two do not import each other."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

TOKEN_SALT = "meadow.distribution.impression"


def impression_token(*, reader_id: int | None, note_id: int, source: str, level: int = 0) -> str:
    """A signed card token ``reader.note.source.level``: the client echoes it with the impression."""
    return signing.Signer(salt=TOKEN_SALT).sign(f"{reader_id or 0}.{note_id}.{source}.{level}")


@dataclass(frozen=True, slots=True)
class ImpressionToken:
    reader_id: int
    note_id: int
    source: str
    level: int


def impression_token_read(token: str) -> ImpressionToken | None:
    """The token's content, or ``None`` if it was not signed here (or tampered with)."""
    try:
        value = signing.Signer(salt=TOKEN_SALT).unsign(token[:200])
        reader, note, source, level = value.split(".")
        return ImpressionToken(int(reader), int(note), source, int(level))
    except (signing.BadSignature, ValueError):
        return None

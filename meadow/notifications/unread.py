"""The cached unread counts' key and lifetime: shared by the selector that fills the cache and the services that
clear it (a module below both, so neither imports the other for it)."""

from __future__ import annotations

UNREAD_CACHE_SECONDS = 300


def unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"

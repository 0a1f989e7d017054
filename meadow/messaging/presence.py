"""Who has a messages socket open: a counter per person in the shared cache (diskcache on the embedded default,
Redis at scale), raised when a socket connects and lowered when it closes. A person with no open socket hears of
a new message through a notification instead. The counter expires, so a process that died with sockets open
cannot silence notifications for longer than ``PRESENCE_SECONDS``."""

from __future__ import annotations

from django.core.cache import cache

PRESENCE_SECONDS = 6 * 3600


def _key(user_id: int) -> str:
    return f"messaging:online:{user_id}"


def presence_join(*, user_id: int) -> None:
    key = _key(user_id)
    cache.add(key, 0, timeout=PRESENCE_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=PRESENCE_SECONDS)
    cache.touch(key, PRESENCE_SECONDS)


def presence_leave(*, user_id: int) -> None:
    key = _key(user_id)
    try:
        if int(cache.get(key) or 0) > 0:
            cache.decr(key)
    except ValueError:
        pass


def presence_online(*, user_id: int) -> bool:
    return int(cache.get(_key(user_id)) or 0) > 0


def presence_online_many(*, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` have a socket open: one cache round trip for them all."""
    if not user_ids:
        return set()
    found = cache.get_many([_key(user_id) for user_id in user_ids])
    return {user_id for user_id in user_ids if int(found.get(_key(user_id)) or 0) > 0}

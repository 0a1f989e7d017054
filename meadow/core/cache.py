"""The Redis cache backend: Django's, with one connection pool per process.

Django hands every request context its own cache backend object, and its ``RedisCacheClient`` keeps its
connection pools on that object. Under ASGI every request runs in a new context, so every request that touched
the cache (a rate limit, a Discover page, a session list) opened a new pool and a new TCP connection to Redis.
Here the pools live at module level, keyed by server URL and pool options, so they last as long as the process.
redis-py pools are thread-safe and re-create their connections after a fork.

Redis being down (restarting, unreachable) is tolerated, not fatal: every read is a miss and every write is
dropped (with one warning per process every 10 s), so pages keep being served from the database and the cache
refills once Redis answers again. The connect and read timeouts (``MEADOW_REDIS_TIMEOUT``, settings) bound what
a request waits. The exception is ``incr``, which raises :class:`CacheUnavailable`: its caller, the rate limits
(meadow.core.ratelimit), decides what an unknown count means (they fail open, docs/operations.md "Faults")."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_pools: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
log = logging.getLogger("meadow.cache")
OUTAGE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
)  # BusyLoadingError (restarting) is a ConnectionError
_last_logged = 0.0


class CacheUnavailable(Exception):
    """The cache server did not answer an operation whose result cannot be guessed (``incr``)."""


def _outage(operation: str, exc: Exception) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= 10:
        _last_logged = now
        log.warning("cache unavailable (%s treated as a miss / dropped): %s", operation, exc)


class SharedPoolClient(RedisCacheClient):
    # RedisCacheClient's own attributes, which django-stubs does not declare
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # (undeclared as well)
        server = self._servers[index]
        key = (server, repr(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolClient

    # Reads: a miss. Writes: dropped (False: "not stored"). Only incr reports the outage.
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except OUTAGE_ERRORS as exc:
            _outage("get", exc)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        try:
            return super().get_many(keys, version)
        except OUTAGE_ERRORS as exc:
            _outage("get_many", exc)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except OUTAGE_ERRORS as exc:
            _outage("has_key", exc)
            return False

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except OUTAGE_ERRORS as exc:
            _outage("set", exc)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except OUTAGE_ERRORS as exc:
            _outage("set_many", exc)
            return list(data)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except OUTAGE_ERRORS as exc:
            _outage("add", exc)
            return False

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except OUTAGE_ERRORS as exc:
            _outage("touch", exc)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except OUTAGE_ERRORS as exc:
            _outage("delete", exc)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except OUTAGE_ERRORS as exc:
            _outage("delete_many", exc)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except OUTAGE_ERRORS as exc:
            _outage("incr", exc)
            raise CacheUnavailable(str(exc)) from exc

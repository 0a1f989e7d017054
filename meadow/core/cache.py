"""The Redis cache backend: Django's, with one connection pool per process.

Django hands every request context its own cache backend object, and its ``RedisCacheClient`` keeps its
connection pools on that object. Under ASGI every request runs in a new context, so every request that touched
the cache (a rate limit, a Discover page, a session list) opened a new pool and a new TCP connection to Redis.
Here the pools live at module level, keyed by server URL and pool options, so they last as long as the process.
redis-py pools are thread-safe and re-create their connections after a fork."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


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

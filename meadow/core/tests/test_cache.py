"""The Redis cache backend shares its connection pools across backend objects (Django makes one object per
request context, so under ASGI one per request). Building a pool does not connect, so no server is needed."""

from __future__ import annotations

from meadow.core.cache import RedisCache


def _pool(backend: RedisCache, *, write: bool = True):
    return backend._cache._get_connection_pool(write)


def test_backend_objects_share_one_pool_per_server_and_options():
    a = RedisCache("redis://127.0.0.1:6379/9", {})
    b = RedisCache("redis://127.0.0.1:6379/9", {})
    assert a is not b and a._cache is not b._cache
    assert _pool(a) is _pool(b)
    assert _pool(a, write=False) is _pool(a)  # one server: reads and writes use the same pool


def test_other_servers_or_options_get_their_own_pool():
    base = RedisCache("redis://127.0.0.1:6379/9", {})
    assert _pool(RedisCache("redis://127.0.0.1:6379/10", {})) is not _pool(base)
    sized = RedisCache("redis://127.0.0.1:6379/9", {"OPTIONS": {"max_connections": 7}})
    assert _pool(sized) is not _pool(base)
    assert _pool(sized).max_connections == 7

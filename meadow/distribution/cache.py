"""The cache the feeds use: the project's default cache through one backend object per process.

``django.core.cache.cache`` hands every request context its own backend object, and under ASGI every request
runs in a new context; for Redis that means a new client, a new connection pool and a new TCP connection per
request (a Discover page made five cache calls on a fresh connection). The feeds read the cache on every page,
so they keep one backend object per process — same settings, same data (locmem stores by ``LOCATION``, Redis is
the server) — whose connection pool lives as long as the process. redis-py's clients and pools are
thread-safe, and so is locmem."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.signals import setting_changed
from django.dispatch import receiver

_lock = threading.Lock()
_backend: BaseCache | None = None


def backend() -> BaseCache:
    global _backend
    found = _backend
    if found is None:
        with _lock:
            if _backend is None:
                _backend = caches.create_connection("default")
            found = _backend
    return found


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _backend
    if setting == "CACHES":
        _backend = None


class _Cache:
    """``cache.get(...)`` etc. on the process's backend object."""

    def __getattr__(self, name: str) -> Any:
        return getattr(backend(), name)


cache: BaseCache = _Cache()  # type: ignore[assignment]

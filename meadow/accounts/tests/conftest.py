"""Fixtures for the accounts tests."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings


@pytest.fixture(autouse=True)
def _own_redis_database():
    """On the Redis profile, give each xdist worker its own Redis database for the cache.

    The root conftest clears the cache before every test, and Django's RedisCache.clear() is FLUSHDB: with
    all workers sharing one database, a worker's flush could reset another worker's rate-limit counters in the
    middle of a test that expects a 429. Counters are per worker here, so those tests are deterministic.
    """
    location = settings.CACHES["default"].get("LOCATION", "")
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower() or not str(location).startswith("redis"):
        yield
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    base = str(location).rsplit("/", 1)[0]
    caches = {"default": {**settings.CACHES["default"], "LOCATION": f"{base}/{8 + index % 7}"}}
    with override_settings(CACHES=caches):
        cache.clear()
        yield
        cache.clear()

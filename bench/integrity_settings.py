"""Settings for bench/integrity.py's runs: the test settings (the embedded default in a temp data dir, or
PostgreSQL with MEADOW_TEST_POSTGRES) with a local-memory cache. The simulation is one process, so a per-process
cache sees every change; the embedded default's diskcache costs ~25 ms a request in closing its SQLite shards,
which made a run of a few thousand simulated users take an hour without changing what it measures."""

from meadow.test_settings import *  # noqa: F403

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "integrity-bench"}
}
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405 — the test client's host

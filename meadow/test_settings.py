"""Settings for the test suite: the embedded default, or PostgreSQL and Redis when MEADOW_TEST_POSTGRES /
MEADOW_TEST_REDIS are set (.ci/run sets both and runs the suite on each profile)."""

import atexit
import os
import shutil
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["MEADOW_ENV"] = "test"
os.environ["MEADOW_DATA_DIR"] = tempfile.mkdtemp(prefix=f"meadow-test-{_worker}-")
if os.environ.get("MEADOW_TEST_POSTGRES"):
    os.environ["DATABASE_URL"] = os.environ.get(
        "MEADOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/meadow"
    )
else:
    os.environ.pop("DATABASE_URL", None)
if os.environ.get("MEADOW_TEST_REDIS"):
    # Each xdist worker gets a Redis database of its own (1–14; the worker test's broker uses 15): the suite
    # clears the cache before every test, and RedisCache.clear() is FLUSHDB, which would otherwise reset
    # another worker's rate-limit counters in the middle of a test that expects a 429.
    _index = int(_worker[2:]) if _worker.startswith("gw") and _worker[2:].isdigit() else 0
    _base = os.environ.get("MEADOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]
    os.environ["REDIS_URL"] = f"{_base}/{1 + _index % 14}"
    os.environ["MEADOW_CACHE_PREFIX"] = f"meadow-test-{_worker}"
else:
    os.environ.pop("REDIS_URL", None)

from meadow.settings import *  # noqa: E402,F403

# Fast hashing for the many accounts tests create; test_passwords checks that Argon2 is the real default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
MEADOW_SMS_BACKEND = "meadow.accounts.sms.LocmemBackend"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True  # the worker test drives a real worker through Redis explicitly
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

# The SQLite test database is a file (on tmpfs where there is one), not Django's shared-cache in-memory database:
# the browser tests' live server answers requests on several threads, and a shared-cache database answers a
# second writer with "database table is locked" at once (SQLITE_LOCKED ignores busy_timeout) — a like sent while
# the page's impressions were being saved failed with 503. A file gets WAL and busy_timeout like the embedded
# default itself. pytest-django adds each xdist worker's suffix to the name.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _test_dir = (
        "/dev/shm"
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)
        else os.environ["MEADOW_DATA_DIR"]
    )
    _test_db_dir = tempfile.mkdtemp(prefix=f"meadow-testdb-{_worker}-", dir=_test_dir)
    atexit.register(shutil.rmtree, _test_db_dir, ignore_errors=True)
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(_test_db_dir, "test.sqlite3")
    }

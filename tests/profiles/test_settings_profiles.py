"""The two profiles and the production check, exercised the way an operator would: through the `meadow`
command in a fresh process with only environment variables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection


def _meadow(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))
    }
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests set it for their own process only
    clean["MEADOW_DATA_DIR"] = str(tmp_path)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "meadow", *args], env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_check_deploy_is_clean_with_secrets(tmp_path):
    result = _meadow(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "MEADOW_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "meadow.example",
            # a real provider's adapter: production with the sandbox gateway warns (meadow.W001, tested in
            # meadow/core/tests/test_instance_secret_and_checks.py); checks do not import the adapter
            "MEADOW_PAYMENT_GATEWAY": "provider_payments.adapter.Gateway",
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "env, missing",
    [
        ({"MEADOW_ENV": "production", "ALLOWED_HOSTS": "meadow.example"}, "SECRET_KEY"),
        ({"MEADOW_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(64)}, "ALLOWED_HOSTS"),
        ({"MEADOW_ENV": "production", "SECRET_KEY": "short", "ALLOWED_HOSTS": "x"}, "at least 50"),
        ({"DATABASE_URL": "mysql://nope"}, "DATABASE_URL"),
        ({"MEADOW_BEAT_INTERVALS": '{"no-such-job": 1}'}, "MEADOW_BEAT_INTERVALS"),
        ({"MEADOW_BEAT_INTERVALS": "[1, 2]"}, "MEADOW_BEAT_INTERVALS"),
        ({"MEADOW_BEAT_SCALE": "0"}, "MEADOW_BEAT_SCALE"),
    ],
)
def test_missing_or_bad_configuration_fails_fast_with_a_clear_message(tmp_path, env, missing):
    result = _meadow("check", env=env, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "configuration error" in result.stderr and missing in result.stderr
    assert "Traceback" not in result.stderr


def test_development_check_uses_the_embedded_default(tmp_path):
    result = _meadow("diffsettings", "--all", env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "django.db.backends.sqlite3" in result.stdout
    # one cache shared by the web, worker and beat processes: diskcache's SQLite files under the data directory
    assert "'BACKEND': 'diskcache.DjangoCache'" in result.stdout and "InMemoryChannelLayer" in result.stdout
    assert f"'LOCATION': '{tmp_path.resolve() / 'cache'}'" in result.stdout
    # the embedded default runs a real worker and beat (the Procfile) on a SQLite broker file of its own
    assert "CELERY_TASK_ALWAYS_EAGER = False" in result.stdout
    assert f"CELERY_BROKER_URL = 'sqlack+sqlite:///{tmp_path.resolve() / 'broker.sqlite3'}'" in result.stdout
    assert f"CELERY_BEAT_SCHEDULE_FILENAME = '{tmp_path.resolve() / 'celerybeat-schedule'}'" in result.stdout
    assert (
        "CELERY_WORKER_POOL = 'threads'" in result.stdout and "CELERY_WORKER_CONCURRENCY = 2" in result.stdout
    )
    assert (tmp_path / "meadow.sqlite3").parent.exists()


def test_tasks_can_still_run_inline_and_beat_intervals_can_be_shortened(tmp_path):
    result = _meadow(
        "shell",
        "-c",
        "from django.conf import settings as s; b = s.CELERY_BEAT_SCHEDULE; "
        "print(s.CELERY_TASK_ALWAYS_EAGER, b['orders-expire-unpaid']['schedule'], "
        "b['search-refresh-ranks']['schedule'], b['core-heartbeat']['schedule'])",
        env={
            "MEADOW_TASKS_EAGER": "true",
            "MEADOW_BEAT_SCALE": "0.01",
            "MEADOW_BEAT_INTERVALS": '{"orders-expire-unpaid": 2.5}',
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # the override wins; 300 s × 0.01 = 3 s; 60 s × 0.01 is raised to the 1 s floor
    assert result.stdout.strip().splitlines()[-1] == "True 2.5 3.0 1.0"


def test_scale_profile_is_switched_on_by_environment_variables_only(tmp_path):
    result = _meadow(
        "diffsettings",
        "--all",
        env={
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/meadow",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "django.db.backends.postgresql" in result.stdout
    assert "RedisCache" in result.stdout and "RedisChannelLayer" in result.stdout
    assert "CELERY_TASK_ALWAYS_EAGER = False" in result.stdout
    assert "CELERY_BROKER_URL = 'redis://127.0.0.1:6379/3'" in result.stdout


@pytest.mark.django_db
def test_the_suite_runs_on_the_selected_profile():
    """Guards .ci/run: MEADOW_TEST_POSTGRES/REDIS really switch the database and cache under test."""
    if os.environ.get("MEADOW_TEST_POSTGRES"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
        # the test database is in memory (journal "memory"); the on-disk default uses WAL (checked below)
        assert mode in {"memory", "wal"}
    backend = settings.CACHES["default"]["BACKEND"]
    assert ("Redis" in backend) == bool(os.environ.get("MEADOW_TEST_REDIS"))


def test_embedded_database_is_in_wal_mode(tmp_path):
    result = _meadow(
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode'); "
        "print(c.fetchone()[0])",
        env={},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "wal"


def test_postgres_connections_are_per_request_or_pooled_never_left_per_thread(tmp_path):
    """Under ASGI each request may run in a new thread: persistent per-thread connections would pile up until
    PostgreSQL refuses clients. The default is a connection per request; MEADOW_DB_POOL_MAX turns on Django's
    psycopg pool; a worker may keep its one connection with MEADOW_DB_CONN_MAX_AGE."""
    url = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"}
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d.get('OPTIONS', {}).get('pool'))"
    )
    default = _meadow("shell", "-v", "0", "-c", code, env=url, tmp_path=tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["0", "None"]
    pooled = _meadow(
        "shell", "-v", "0", "-c", code, env={**url, "MEADOW_DB_POOL_MAX": "8"}, tmp_path=tmp_path
    )
    assert pooled.stdout.strip() == "0 {'min_size': 2, 'max_size': 8, 'timeout': 10.0}", pooled.stderr
    worker = _meadow(
        "shell", "-v", "0", "-c", code, env={**url, "MEADOW_DB_CONN_MAX_AGE": "60"}, tmp_path=tmp_path
    )
    assert worker.stdout.split() == ["60", "None"]


@pytest.mark.skipif(not os.environ.get("MEADOW_TEST_POSTGRES"), reason="needs the PostgreSQL server")
def test_the_pool_really_serves_queries(tmp_path):
    code = (
        "from django.db import connection; from concurrent.futures import ThreadPoolExecutor\n"
        "def q(_):\n"
        "    from django.db import connection as c\n"
        "    with c.cursor() as cur: cur.execute('select 1'); r = cur.fetchone()[0]\n"
        "    c.close(); return r\n"
        "print(sum(ThreadPoolExecutor(8).map(q, range(40))), connection.pool.get_stats()['pool_max'])"
    )
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres", "MEADOW_DB_POOL_MAX": "3"}
    result = _meadow("shell", "-v", "0", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["40", "3"]  # 40 queries from 8 threads through at most 3 connections


def test_embedded_processes_share_one_cache(tmp_path):
    """What the web process writes to the cache (a lexicon stamp, a CF model pointer, a rate-limit count), the
    worker and beat processes read: each is a separate process on the embedded default."""
    write = "from django.core.cache import cache; cache.set('shared-probe', 'from-web', 60); cache.add('n', 0); cache.incr('n')"
    read = "from django.core.cache import cache; print(cache.get('shared-probe'), cache.get('n'))"
    first = _meadow("shell", "-v", "0", "-c", write, env={}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    second = _meadow("shell", "-v", "0", "-c", read, env={}, tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["from-web", "1"]

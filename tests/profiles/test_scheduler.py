"""The embedded default runs the whole platform: the Procfile's worker and beat (honcho, as `make run` starts
them) on the SQLite broker do the periodic work on schedule — a note climbs a pool, ended sanctions expire, an
unpaid order gives its stock back — with beat intervals shortened by MEADOW_BEAT_INTERVALS, and nothing is
called by hand. Ctrl-C (SIGINT to honcho) stops every process cleanly. Real subprocesses against a file-based
SQLite database and broker in a temporary data directory; runs in the normal suite."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAST_JOBS = {"enforcement-expire-sanctions": 1, "orders-expire-unpaid": 1, "distribution-evaluate-pools": 1}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "PYTEST_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "MEADOW_DATA_DIR": str(data_dir),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "MEADOW_WORKER_LOG_LEVEL": "WARNING",
            "MEADOW_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per module (migrating takes a while); each test copies it."""
    data_dir = tmp_path_factory.mktemp("meadow-migrated")
    subprocess.run(
        [str(BIN / "meadow"), "migrate", "--no-input", "-v0"],
        env=_env(data_dir, MEADOW_TASKS_EAGER="true"),
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    return data_dir / "meadow.sqlite3"


@pytest.fixture
def data_dir(tmp_path: Path, migrated_database: Path) -> Path:
    shutil.copy(migrated_database, tmp_path / "meadow.sqlite3")
    return tmp_path


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Honcho:
    """``honcho start`` on the project's Procfile, as `make run` runs it (meadow.core.procfile)."""

    def __init__(self, data_dir: Path, *processes: str, port: int, **env: str) -> None:
        self.log = data_dir / "honcho.log"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meadow.core.procfile",
                "start",
                "-f",
                "Procfile",
                "-p",
                str(port),
                *processes,
            ],
            cwd=ROOT,
            env=_env(data_dir, **env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"honcho exited ({self.proc.returncode}) before {what}:\n{self.output()}"
                )
            found = check()
            if found:
                return found
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-6000:]}")

    def interrupt(self, timeout: float = 30) -> tuple[int, set[int]]:
        """Ctrl-C: SIGINT to honcho; returns its exit code and the processes it had started."""
        family = _descendants(self.proc.pid)
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.close()
        return code, family

    def close(self) -> None:
        """Stop everything whatever happened (a failed test must not leave processes behind)."""
        if self.proc.poll() is None:
            family = _descendants(self.proc.pid)
            self.proc.kill()
            self.proc.wait(timeout=10)
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._out.close()


def _assert_clean_stop(honcho: Honcho, code: int, family: set[int]) -> None:
    output = honcho.output()
    assert code == 130, (
        f"honcho exited {code} after Ctrl-C:\n{output}"
    )  # 130: interrupted, as a shell reports
    assert "SIGKILL" not in output, f"a process had to be killed:\n{output}"
    assert "Traceback" not in output, output
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in family if _alive(pid)]
    assert not left, f"processes still running after Ctrl-C: {left}"


def _query(db: Path, sql: str, *params: Any) -> Any:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, params).fetchone()


def test_the_real_scheduler_does_the_periodic_work_and_ctrl_c_stops_it(data_dir: Path) -> None:
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.profiles.scheduler_world"],
        env=_env(data_dir, MEADOW_TASKS_EAGER="true"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    ids = json.loads(seeded.stdout.split("SEEDED ", 1)[1])
    db = data_dir / "meadow.sqlite3"

    def world() -> dict[str, Any]:
        return {
            "level": _query(db, "SELECT level FROM distribution_notepool WHERE note_id = ?", ids["note"])[0],
            "ban_expired": _query(db, "SELECT expired_at FROM enforcement_sanction WHERE id = ?", ids["ban"])[
                0
            ],
            "suspension_expired": _query(
                db, "SELECT expired_at FROM enforcement_sanction WHERE id = ?", ids["suspension"]
            )[0],
            "active": _query(db, "SELECT is_active FROM accounts_user WHERE id = ?", ids["suspended_user"])[
                0
            ],
            "stock": _query(db, "SELECT stock FROM store_sku WHERE id = ?", ids["sku"])[0],
            "order": _query(db, "SELECT status FROM orders_order WHERE id = ?", ids["order"])[0],
        }

    before = world()
    assert before == {
        "level": 1,
        "ban_expired": None,
        "suspension_expired": None,
        "active": 0,
        "stock": 7,
        "order": "pending_payment",
    }

    # every other job: a minute becomes 3 s
    schedule = {"MEADOW_BEAT_SCALE": "0.05", "MEADOW_BEAT_INTERVALS": json.dumps(FAST_JOBS)}
    honcho = Honcho(data_dir, "worker", "beat", port=8112, **schedule)
    try:
        after = honcho.wait_for(
            "the scheduler's work",
            lambda: (
                (
                    (w := world())["level"] >= 2
                    and w["ban_expired"]
                    and w["suspension_expired"]
                    and w["stock"] == 10
                    and w
                )
                or None
            ),
            timeout=120,
        )
        assert after["active"] == 1 and after["order"] == "cancelled"
        assert (
            _query(
                db,
                "SELECT outcome FROM distribution_pooltransition WHERE note_id = ? ORDER BY id DESC",
                ids["note"],
            )[0]
            == "promote"
        )
        # each job was recorded by the worker that ran it, as beat sent it
        for task in (
            "meadow.distribution.tasks.pools_evaluate_due",
            "meadow.enforcement.tasks.expire_sanctions",
            "meadow.orders.tasks.orders_expire_unpaid",
        ):
            runs, outcome, worker = _query(
                db, "SELECT runs, outcome, worker FROM core_jobrun WHERE task = ?", task
            )
            assert runs >= 1 and outcome in {"success", "running"} and worker
        # `meadow status` shows it: the jobs' last runs, the queue depth asked of the SQLite broker, the worker
        status = subprocess.run(
            [str(BIN / "meadow"), "status", "--json"],
            env=_env(data_dir, **schedule),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)
        jobs = {job["name"]: job for job in shown["jobs"]}
        assert (
            jobs["orders-expire-unpaid"]["runs"] >= 1 and jobs["orders-expire-unpaid"]["every_seconds"] == 1
        )
        assert jobs["distribution-cf-retrain"]["runs"] == 0  # 6 h × 0.05: not due yet
        assert shown["broker"].startswith("sqlack+sqlite:///") and isinstance(shown["queue"]["depth"], int)
        assert shown["processes"]["workers"] and shown["last_error"] is None
    except BaseException:
        honcho.close()
        raise
    _assert_clean_stop(honcho, *honcho.interrupt())


def _get(url: str) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_the_procfile_serves_pages_and_ctrl_c_stops_web_worker_and_beat(data_dir: Path) -> None:
    honcho = Honcho(data_dir, port=8113)  # every process of the Procfile, as `make run` starts them
    try:
        assert honcho.wait_for("/healthz", lambda: _get("http://127.0.0.1:8113/healthz"), timeout=90) == (
            200,
            {"status": "ok"},
        )
        code, body = _get("http://127.0.0.1:8113/readyz") or (0, {})
        assert code == 200 and body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}, body
        for name in ("web.1", "worker.1", "beat.1"):
            honcho.wait_for(f"{name} to start", lambda name=name: f"{name} started" in honcho.output(), 30)
        time.sleep(1)  # let the worker and beat finish starting up, as a person pressing Ctrl-C would
    except BaseException:
        honcho.close()
        raise
    _assert_clean_stop(honcho, *honcho.interrupt())

"""Private servers and Meadow processes for the fault checks. Nothing here touches the machine's shared
PostgreSQL or Redis: each check starts its own on a free port in a temporary folder, restarts *those*, and
stops them afterwards. PostgreSQL's ``initdb`` refuses to run as root, so the cluster belongs to the
``postgres`` account (``runuser``) when the checks run as root (a CI clone owned by root included)."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("MEADOW_CHAOS_PG_BIN", "/usr/local/bin"))
REDIS_SERVER = os.environ.get("MEADOW_CHAOS_REDIS_SERVER", "/usr/bin/redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, *, up: bool = True, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} in {timeout} s")


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.proc = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.data = folder / "pgdata"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/meadow"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            pwd.getpwnam("postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(folder, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as db:
            db.execute("CREATE DATABASE meadow")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


def meadow_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "PYTHONPATH": str(ROOT),
            "MEADOW_DATA_DIR": str(data_dir),
            "MEADOW_TASKS_EAGER": "false",
            "MEADOW_DEBUG": "false",
            "MEADOW_LOG_LEVEL": "WARNING",
            "MEADOW_LOG_FORMAT": "console",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    env.update(extra)
    return env


def run_meadow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "python"), *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Process:
    """A Meadow process (web or worker) in its own session, so a kill reaches its children too."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log, self.proc = args, env, log, None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL to the whole process group: what the OOM killer or a lost host does to a worker."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def web(env: dict[str, str], port: int, folder: Path) -> Process:
    return Process(
        [
            str(BIN / "uvicorn"),
            "meadow.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--workers",
            "1",
            "--no-access-log",
        ],
        env,
        folder / "web.log",
    )


def beat(env: dict[str, str], folder: Path) -> Process:
    return Process(
        [
            str(BIN / "python"),
            "-m",
            "celery",
            "-A",
            "meadow",
            "beat",
            "--loglevel=WARNING",
            "--schedule",
            str(folder / "celerybeat-schedule"),
        ],
        env,
        folder / "beat.log",
    )


def worker(
    env: dict[str, str], folder: Path, *extra: str, pool: str = "prefork", concurrency: int = 1
) -> Process:
    return Process(
        [
            str(BIN / "python"),
            "-m",
            "celery",
            "-A",
            "meadow",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
            *extra,
        ],
        env,
        folder / "worker.log",
    )


def request(port: int, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 20) -> tuple[int, dict, float, dict]:  # fmt: skip
    """One HTTP request on a new connection: (status, JSON body or {}, seconds, headers). Status 0: no answer."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        try:
            data = (
                json.loads(raw)
                if raw and response.getheader("Content-Type", "").startswith("application/json")
                else {}
            )
        except ValueError:
            data = {}
        return (
            response.status,
            data,
            time.monotonic() - started,
            {k.lower(): v for k, v in response.getheaders()},
        )
    except OSError:
        return 0, {}, time.monotonic() - started, {}
    finally:
        conn.close()


def temp_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"meadow-chaos-{prefix}-"))

"""Is this instance running? Every web, worker and beat process holds a *shared* lock on
``$MEADOW_DATA_DIR/instance.lock`` for its whole life (``instance_lock_hold``, called by ``meadow.asgi``,
``meadow.wsgi`` and the Celery worker and beat start-up hooks); ``meadow restore`` asks for the *exclusive* lock
and refuses while it cannot have it. The kernel drops a process's lock when it exits, however it exits (a crash,
``kill -9``), so there is never a stale pid file to clean up. It sees the processes of this host only: on a
multi-host deployment stop the other hosts' processes first (docs/operations.md)."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "instance.lock"
_held: dict[str, int] = {}  # lock path → descriptor kept open (and locked) for the life of the process


def lock_path(data_dir: Path | str | None = None) -> Path:
    if data_dir is None:
        from django.conf import settings

        data_dir = settings.DATA_DIR
    return Path(data_dir) / LOCK_NAME


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def instance_lock_hold(*, role: str, data_dir: Path | str | None = None) -> bool:
    """Mark this process as part of the running instance until it exits. Never blocks: while a restore holds
    the instance, the process starts anyway and says so in the log. Returns whether the lock is held."""
    path = lock_path(data_dir)
    if str(path) in _held:
        return True
    try:
        fd = _open(path)
    except OSError:
        log.warning("cannot open %s: `meadow restore` will not see this %s process", path, role)
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        log.warning("a `meadow restore` is running on this instance; this %s process starts anyway", role)
        return False
    _held[str(path)] = fd
    return True


def instance_lock_release(*, data_dir: Path | str | None = None) -> None:
    """Let go of this process's shared lock (tests; a process normally holds it until it exits)."""
    fd = _held.pop(str(lock_path(data_dir)), None)
    if fd is not None:
        os.close(fd)


@contextmanager
def instance_exclusive(data_dir: Path | str) -> Iterator[bool]:
    """Hold the instance exclusively for the block if no web, worker or beat process is running; yields whether
    it could (``False``: something runs)."""
    fd = _open(lock_path(data_dir))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)

"""The per-instance secret: random bytes created on first use in ``MEADOW_DATA_DIR/instance-secret`` (mode
0600), so a development or self-hosted instance signs things with a key nobody else has — never with the
development ``SECRET_KEY``, which is published in the source. Creation is atomic: the secret is written to a
private temporary file and hard-linked into place, which fails if the file exists, so processes starting together
all read the one that won."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from pathlib import Path

from django.conf import settings

FILENAME = "instance-secret"
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def _read(path: Path) -> bytes | None:
    try:
        value = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    return value or None


def instance_secret(*, directory: Path | str | None = None) -> bytes:
    """The instance's secret (created under ``directory``, default ``settings.DATA_DIR``, if missing)."""
    folder = Path(directory if directory is not None else settings.DATA_DIR)
    path = folder / FILENAME
    key = str(path)
    with _lock:
        if key in _cache:
            return _cache[key]
        value = _read(path)
        if value is None:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".instance-secret-", dir=folder)  # mode 0600
            try:
                os.write(fd, secrets.token_hex(32).encode())
                os.fsync(fd)
                os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)  # atomic, never replaces: the first process wins
            finally:
                os.unlink(tmp)
            value = _read(path)
            if value is None:  # pragma: no cover - somebody emptied it between link and read
                raise RuntimeError(f"{path} is empty; delete it and restart")
        _cache[key] = value
        return value


def derived_secret(purpose: str) -> bytes:
    """A key for one ``purpose`` derived from the instance secret (hex, as bytes)."""
    return hmac.new(instance_secret(), purpose.encode(), hashlib.sha256).hexdigest().encode()


def reset_cache() -> None:
    """Forget the secrets read in this process (tests)."""
    with _lock:
        _cache.clear()

"""Background work. ``enqueue`` queues a Celery task after the current transaction commits (inline on the
embedded default, on a worker through Redis at scale). Every task must be idempotent and safe to retry."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Task, shared_task
from django.db import transaction


def enqueue(task: Task, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))


@shared_task(name="meadow.core.tasks.ping")
def ping(token: str) -> dict[str, Any]:
    """Health check for the worker path: answers who ran it, so a test can tell a real worker from inline."""
    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}

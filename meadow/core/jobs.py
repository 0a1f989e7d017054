"""What the background processes are doing: each periodic task's last run (recorded by the worker through
Celery's task signals — operational bookkeeping, not business logic) and ``system_status``, which
``meadow status`` and the staff page show: processes, queue depth, last run of each job, last error."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)
_started: dict[str, float] = {}
_errors: dict[str, str] = {}
ERROR_MAX = 2000


def periodic_tasks() -> dict[str, str]:
    """Task name → beat entry name, for every periodic job."""
    return {entry["task"]: name for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _eager(task: Any) -> bool:
    request = getattr(task, "request", None)
    return bool(getattr(request, "is_eager", False))


def _recorded(task: Any) -> bool:
    return task is not None and not _eager(task)


@task_prerun.connect
def _on_prerun(sender: Any = None, task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if not _recorded(task) or task_id is None:
        return
    _started[task_id] = time.monotonic()
    if task.name in periodic_tasks():
        from meadow.core.models import JobRun

        try:
            JobRun.objects.bulk_create([JobRun(task=task.name, periodic=True)], ignore_conflicts=True)
            JobRun.objects.filter(task=task.name).update(
                started_at=timezone.now(), outcome=JobRun.Outcome.RUNNING, worker=worker_label()
            )
        except DatabaseError as exc:  # bookkeeping must never stop the task itself
            logger.warning("could not record the start of %s: %s", task.name, exc)


@task_failure.connect
def _on_failure(
    sender: Any = None, task_id: str | None = None, exception: BaseException | None = None, **kwargs: Any
) -> None:
    if task_id is not None and not _eager(sender):
        _errors[task_id] = f"{type(exception).__name__}: {exception}"[:ERROR_MAX]


@task_postrun.connect
def _on_postrun(
    sender: Any = None, task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    if not _recorded(task) or task_id is None:
        return
    began = _started.pop(task_id, None)
    error = _errors.pop(task_id, None)
    periodic = task.name in periodic_tasks()
    if not periodic and error is None:
        return
    from meadow.core.models import JobRun

    now = timezone.now()
    changes: dict[str, Any] = {
        "finished_at": now,
        "duration_ms": None if began is None else int((time.monotonic() - began) * 1000),
        "outcome": JobRun.Outcome.FAILURE if error is not None else JobRun.Outcome.SUCCESS,
        "runs": F("runs") + 1,
        "worker": worker_label(),
    }
    if error is not None:
        changes.update(failures=F("failures") + 1, last_error=error, last_error_at=now)
    try:
        JobRun.objects.bulk_create([JobRun(task=task.name, periodic=periodic)], ignore_conflicts=True)
        JobRun.objects.filter(task=task.name).update(**changes)
    except DatabaseError as exc:
        logger.warning("could not record the run of %s: %s", task.name, exc)
    finally:
        close_old_connections()


# --- reading ------------------------------------------------------------------------------------------------
def queue_depth() -> dict[str, Any]:
    """Messages waiting in the default queue, asked of the broker itself (Redis LLEN or the SQLite table)."""
    from meadow.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"queue": None, "depth": None, "error": ""}
    queue = app.conf.task_default_queue
    try:
        with app.connection_for_read(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            ok = conn.default_channel.queue_declare(queue=queue, passive=True)
            return {"queue": queue, "depth": int(ok.message_count), "error": ""}
    except Exception as exc:
        return {"queue": queue, "depth": None, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _ago(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else round((now - at).total_seconds(), 1)


def system_status(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``meadow status`` prints, as plain data."""
    from meadow.core.models import JobRun
    from meadow.core.spool import spool_depth

    now = now or timezone.now()
    rows = {row.task: row for row in JobRun.objects.all()}
    jobs = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        row = rows.get(entry["task"])
        jobs.append(
            {
                "name": name,
                "task": entry["task"],
                "every_seconds": float(entry["schedule"]),
                "last_run": row.finished_at or row.started_at if row else None,
                "seconds_ago": _ago(row.finished_at or row.started_at, now) if row else None,
                "duration_ms": row.duration_ms if row else None,
                "outcome": row.outcome if row else None,
                "runs": row.runs if row else 0,
                "failures": row.failures if row else 0,
                "last_error": row.last_error if row else "",
                "last_error_at": row.last_error_at if row else None,
                "worker": row.worker if row else "",
            }
        )
    # Workers: every process that finished a recorded task in the last few heartbeats.
    beat = settings.CELERY_BEAT_SCHEDULE.get("core-heartbeat", {}).get("schedule", 60.0)
    recent = now - timedelta(seconds=max(3 * float(beat), 60.0))
    workers: dict[str, datetime] = {}
    for row in rows.values():
        if row.worker and row.finished_at and row.finished_at >= recent:
            workers[row.worker] = max(workers.get(row.worker, row.finished_at), row.finished_at)
    heartbeat = rows.get("meadow.core.tasks.heartbeat")
    errors = [r for r in rows.values() if r.last_error_at is not None]
    last_error = max(errors, key=lambda r: r.last_error_at or now) if errors else None
    return {
        "now": now,
        "eager": bool(settings.CELERY_TASK_ALWAYS_EAGER),
        "broker": _redacted(str(settings.CELERY_BROKER_URL)),
        "processes": {
            "web": {"pid": os.getpid(), "host": socket.gethostname()},
            "workers": [
                {"worker": w, "seconds_ago": _ago(at, now)}
                for w, at in sorted(workers.items(), key=lambda kv: kv[1], reverse=True)
            ],
            # beat is alive when the heartbeat it sends was run recently
            "beat_alive": bool(heartbeat and heartbeat.finished_at and heartbeat.finished_at >= recent),
            "last_heartbeat_seconds_ago": _ago(heartbeat.finished_at, now) if heartbeat else None,
        },
        "queue": queue_depth(),
        "spool": spool_depth(now=now),
        "jobs": jobs,
        "last_error": None
        if last_error is None
        else {"task": last_error.task, "at": last_error.last_error_at, "error": last_error.last_error},
    }


def _redacted(url: str) -> str:
    """A broker URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url

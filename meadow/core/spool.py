"""At-least-once dispatch: a task that cannot be queued because the broker is down (Redis restarting, the SQLite
broker file locked or unwritable) is written to the database (core.SpooledTask) after the request's data has
committed, and handed to the broker again by ``spool_resend`` — every minute (beat: ``core-spool-resend``) and
when a worker starts — once the broker is back. Tasks are idempotent, so a resend that raced another one, or a
send whose answer was lost, is harmless. ``meadow status`` shows the spool's depth."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What a publish raises while the broker is down (``core.tasks.enqueue`` spools the task on these).
BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError)

log = logging.getLogger("meadow.spool")
ERROR_MAX = 2000


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX]


def spool_add(
    *, task: str, args: list[Any] | tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None, error: BaseException | None = None,
) -> int | None:  # fmt: skip
    """Keep a task that could not be sent; its id, or None when the database refused too (then it is logged)."""
    from meadow.core.models import SpooledTask

    try:
        row = SpooledTask.objects.create(
            task=task,
            args=list(args),
            kwargs=kwargs or {},
            options=options or {},
            attempts=1,
            last_error=_error(error) if error else "",
            last_attempt_at=timezone.now(),
        )
    except DatabaseError as exc:
        log.error(
            "task lost (broker and database unavailable): %s args=%s kwargs=%s: %s", task, args, kwargs, exc
        )
        return None
    log.warning("task spooled (broker unavailable), to be re-sent: %s id=%s: %s", task, row.pk, error)
    return row.pk


def spool_resend(*, limit: int = 500) -> dict[str, int]:
    """Send spooled tasks, oldest first; each one sent is deleted. Stops at the first send that fails (the broker
    is still down): that row's attempt count and last error are updated. Returns ``{"sent": n, "left": m}``."""
    from meadow.celery import app
    from meadow.core.models import SpooledTask

    sent = 0
    for pk in list(SpooledTask.objects.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            # one resender per row at a time (PostgreSQL; SQLite has a single writer anyway)
            row = SpooledTask.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:
                continue
            try:
                app.send_task(row.task, args=row.args, kwargs=row.kwargs, **row.options)
            except BROKER_ERRORS as exc:
                failed: tuple[int, BaseException] | None = (row.pk, exc)
            else:
                failed = None
                row.delete()
                sent += 1
        if failed is not None:
            SpooledTask.objects.filter(pk=failed[0]).update(
                attempts=row.attempts + 1, last_error=_error(failed[1]), last_attempt_at=timezone.now()
            )
            break
    if sent:
        log.warning("re-sent %d spooled task(s)", sent)
    return {"sent": sent, "left": SpooledTask.objects.count()}


def spool_depth(*, now: datetime | None = None) -> dict[str, Any]:
    """How many tasks wait in the spool, the oldest one's age and the last send error."""
    from meadow.core.models import SpooledTask

    now = now or timezone.now()
    try:
        rows = SpooledTask.objects.order_by("pk")
        depth = rows.count()
        oldest = rows.first()
        latest = SpooledTask.objects.order_by("-last_attempt_at").first()
    except DatabaseError as exc:
        return {"depth": None, "oldest_seconds": None, "last_error": "", "error": _error(exc)}
    return {
        "depth": depth,
        "oldest_seconds": round((now - oldest.created_at).total_seconds(), 1) if oldest else None,
        "last_error": latest.last_error if latest else "",
        "error": "",
    }

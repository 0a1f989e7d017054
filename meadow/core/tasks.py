"""Background work. ``enqueue`` queues a Celery task after the current transaction commits (inline on the
embedded default, on a worker through Redis at scale). Every task must be idempotent and safe to retry."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from celery import Task, shared_task
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from meadow.core.spool import BROKER_ERRORS as BROKER_ERRORS  # defined below us (core.spool), kept here too
from meadow.core.spool import spool_add

log = logging.getLogger("meadow.tasks")


BROKER_RETRY_AFTER = 5.0  # seconds a process spools at once after a failed publish, without trying the broker
_broker_down_until = 0.0


def enqueue(task: Task, **kwargs: Any) -> None:
    """Queue ``task`` once the current transaction commits. The data is committed by then, so a broker outage
    (Redis restarting) must not turn the request into a 500 that a client would retry: after Celery's publish
    retries (CELERY_TASK_PUBLISH_RETRY_POLICY) the task is written to the spool (core.SpooledTask) and sent again
    by ``spool_resend`` once the broker is back (meadow.core.spool) — at least once, never lost. After a failed
    publish the process spools for ``BROKER_RETRY_AFTER`` s without trying: each try costs a request about a
    second, and the web's sync views share one thread."""

    def publish() -> None:
        global _broker_down_until

        payload = json.loads(json.dumps(kwargs))
        if time.monotonic() < _broker_down_until:
            spool_add(
                task=task.name, kwargs=payload, error=RuntimeError("broker unavailable (recent failure)")
            )
            return
        try:
            task.apply_async(kwargs=kwargs)
        except BROKER_ERRORS as exc:
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER
            spool_add(task=task.name, kwargs=payload, error=exc)

    transaction.on_commit(publish)


def task_by_name(name: str) -> Task:
    """The task called ``name``, which is also where it is defined (``meadow.<app>.tasks.<function>``). An
    app's services and helpers queue their own app's tasks with it —
    ``enqueue(task_by_name("meadow.orders.tasks.refund_process"), refund_id=…)`` — because the app's ``tasks``
    module imports them (tasks → services, never back); an unknown name fails here, in the request."""
    found = import_string(name)
    if not isinstance(found, Task) or found.name != name:
        raise ImproperlyConfigured(f"{name} is not a task of that name")
    return found


@shared_task(name="meadow.core.tasks.spool_resend")
def spool_resend() -> dict[str, int]:
    """Periodic (beat, every minute) and at worker start: send the tasks spooled during a broker outage."""
    from meadow.core.spool import spool_resend as resend

    return resend()


@shared_task(name="meadow.core.tasks.ping")
def ping(token: str) -> dict[str, Any]:
    """Health check for the worker path: answers who ran it, so a test can tell a real worker from inline."""
    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}


@shared_task(name="meadow.core.tasks.heartbeat")
def heartbeat() -> dict[str, Any]:
    """Periodic (beat, every minute): proves beat → broker → worker works; ``meadow status`` reads its last run
    (meadow.core.jobs records it) to tell that beat and a worker are alive."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


@shared_task(name="meadow.core.tasks.broker_prune")
def broker_prune(older_than_hours: float = 24.0) -> int:
    """Periodic (beat): kombu's plain SQLAlchemy transport (``sqla+`` URLs, and rows it left before the
    embedded default became ack-based) keeps every delivered message (``visible = false``); delete those
    delivered more than a day ago so the broker file stays small. Leased rows of the ack-based transport
    (meadow.core.broker) are left alone: an ack deletes them, a dead worker's lease returns them to the queue.
    Nothing to do on Redis. Idempotent."""
    from django.conf import settings

    from meadow.core.broker import LEASED, OUR_OPTIONS

    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("sqla+", "sqlack+")):
        return 0
    import sqlalchemy as sa

    options = {k: v for k, v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if k not in OUR_OPTIONS}
    engine = sa.create_engine(url.split("+", 1)[1], **options)
    try:
        with engine.begin() as db:
            if not sa.inspect(db).has_table("kombu_message"):
                return 0
            # "timestamp" is set (local time, by kombu) when a message is delivered
            result = db.execute(
                sa.text(
                    'DELETE FROM kombu_message WHERE visible = :hidden AND version != :leased AND "timestamp" < :before'
                ),
                {
                    "hidden": False,
                    "leased": LEASED,
                    "before": datetime.now() - timedelta(hours=older_than_hours),
                },
            )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


@shared_task(name="meadow.core.tasks.outbox_drain")
def outbox_drain(source: str | None = None, topics: list[str] | None = None) -> dict[str, int]:
    """After a commit that recorded outbox events (``topics``: the consumers of what it recorded) or wrote a
    consumed log (``source``: that log's consumers), and periodically (beat: every consumer): hand each consumer
    its new events in order (``meadow.core.outbox``). Idempotent: each consumer's cursor moves with its effects."""
    from meadow.core.outbox import outbox_drain as drain

    return drain(source=source, topics=topics)

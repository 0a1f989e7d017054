"""Background work. ``enqueue`` queues a Celery task after the current transaction commits (inline on the
embedded default, on a worker through Redis at scale). Every task must be idempotent and safe to retry."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from celery import Task, shared_task
from django.db import transaction


def enqueue(task: Task, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))


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
    """Periodic (beat): kombu's SQLAlchemy transport keeps every delivered message (``visible = false``);
    delete those delivered more than a day ago so the embedded broker file stays small. Nothing to do on
    Redis. Idempotent."""
    from django.conf import settings

    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith("sqla+"):
        return 0
    import sqlalchemy as sa

    engine = sa.create_engine(url.removeprefix("sqla+"), **settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    try:
        with engine.begin() as db:
            if not sa.inspect(db).has_table("kombu_message"):
                return 0
            # "timestamp" is set (local time, by kombu) when a message is delivered
            result = db.execute(
                sa.text('DELETE FROM kombu_message WHERE visible = :hidden AND "timestamp" < :before'),
                {"hidden": False, "before": datetime.now() - timedelta(hours=older_than_hours)},
            )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


@shared_task(name="meadow.core.tasks.outbox_drain")
def outbox_drain(topics: list[str] | None = None) -> dict[str, int]:
    """After a commit that recorded outbox events (``topics``: the consumers of what it recorded), and
    periodically (beat, every consumer): hand the consumers their new events in order (``meadow.core.outbox``).
    Idempotent: each consumer's cursor moves with its effects."""
    from meadow.core.outbox import outbox_drain as drain

    return drain(topics=topics)

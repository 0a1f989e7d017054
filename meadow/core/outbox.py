"""The outbox: how an app tells the apps above it that something happened, without importing them.

The app that owns a fact records it with :func:`outbox_record` in the transaction that makes it true (a follow
became active). Apps above register a consumer for its topic in their ``AppConfig.ready``
(:func:`register_consumer`), explicitly — never a Django signal. After the commit the drain task
(``meadow.core.tasks.outbox_drain``; inline in the suite and with ``MEADOW_TASKS_EAGER``, so the effect is there
when the request ends) hands each consumer its new events **in id order**; beat runs it every minute too, to
pick up whatever a failed run left.

Guarantees:
- *Idempotent on redelivery*: a consumer's cursor moves in the same transaction as its handler's effects, so an
  event is handled once per consumer, however often the task is delivered.
- *A failing consumer loses nothing*: its transaction rolls back, its cursor stays before the failing event,
  the next run retries it; other consumers go on.
- *One drainer per consumer*: the cursor row is locked with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (a
  second drainer skips the consumer); on SQLite the cursor is claimed with a conditional UPDATE first, which
  takes the database's single write lock, and a drainer that finds the cursor moved skips.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.db import connection, transaction

from meadow.core.models import OutboxCursor, OutboxEvent

log = logging.getLogger("meadow.outbox")

BATCH = 200
DRAIN_TASK = "meadow.core.tasks.outbox_drain"


@dataclass(frozen=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handle: Callable[[OutboxEvent], Any]


_CONSUMERS: dict[str, Consumer] = {}


def register_consumer(name: str, *, topics: Iterable[str], handle: Callable[[OutboxEvent], Any]) -> None:
    """Register (or replace) the consumer ``name`` of ``topics``; ``handle(event)`` must only write through its
    app's services. Call it from the consuming app's ``AppConfig.ready``."""
    _CONSUMERS[name] = Consumer(name=name, topics=frozenset(topics), handle=handle)


def unregister_consumer(name: str) -> None:
    _CONSUMERS.pop(name, None)


def consumers() -> dict[str, Consumer]:
    return dict(_CONSUMERS)


def outbox_record(topic: str, **payload: Any) -> OutboxEvent:
    """Record a fact (in the caller's transaction) and have the consumers of its topic run after the commit.

    One drain pass per commit, whatever the number of records: the records of a transaction share one batch of
    topics; each registers a commit callback, and the first of them to run queues one drain of just the
    consumers of the batch's topics (the others find it queued). A savepoint rolled back drops the callbacks
    registered inside it (Django's bookkeeping); a topic whose record was rolled back only costs its consumers
    an empty look."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    batch = (
        next(
            (
                func.batch
                for _sids, func, _robust in transaction.get_connection().run_on_commit  # pending on this transaction
                if isinstance(func, _DrainAfterCommit) and not func.batch.queued
            ),
            None,
        )
        or _Batch(topics=set())
    )
    batch.topics.add(topic)
    transaction.on_commit(_DrainAfterCommit(batch))
    return event


@dataclass
class _Batch:
    """The topics one transaction recorded, and whether their drain is queued."""

    topics: set[str]
    queued: bool = False


@dataclass
class _DrainAfterCommit:
    """A commit callback: the first of a batch's callbacks queues one drain of the consumers of its topics.
    (Each record registers its own, so a test that runs only the callbacks registered inside a block still runs
    one for every record made there.)"""

    batch: _Batch

    def __call__(self) -> None:
        if self.batch.queued:
            return
        self.batch.queued = True
        # by name: meadow.core.tasks imports this module (the task's body is outbox_drain below)
        current_app.tasks[DRAIN_TASK].apply_async(kwargs={"topics": sorted(self.batch.topics)})


def _claim(consumer: Consumer) -> int | None:
    """Inside the consumer's transaction: its position, or ``None`` when another drainer holds it."""
    OutboxCursor.objects.get_or_create(consumer=consumer.name)
    if connection.vendor == "postgresql":
        row = (
            OutboxCursor.objects.select_for_update(skip_locked=True)
            .filter(consumer=consumer.name)
            .values_list("position", flat=True)
            .first()
        )
        return row
    position = OutboxCursor.objects.filter(consumer=consumer.name).values_list("position", flat=True).get()
    # The conditional UPDATE takes SQLite's write lock for this transaction; a drainer that read the same
    # position before us finds it moved on (0 rows) once we commit, and skips.
    if not OutboxCursor.objects.filter(consumer=consumer.name, position=position).update(position=position):
        return None
    return position


def _drain_one(consumer: Consumer, *, batch: int) -> int:
    """Handle up to ``batch`` new events of one consumer; how many were handled."""
    handled = 0
    with transaction.atomic():
        position = _claim(consumer)
        if position is None:
            return 0
        events = list(
            OutboxEvent.objects.filter(pk__gt=position, topic__in=consumer.topics).order_by("pk")[:batch]
        )
        if not events:
            return 0
        for event in events:
            try:
                with transaction.atomic():
                    consumer.handle(event)
            except Exception:
                log.exception("outbox consumer %s failed on event %s", consumer.name, event.pk)
                break
            position = event.pk
            handled += 1
        if handled:
            OutboxCursor.objects.filter(consumer=consumer.name).update(position=position)
    return handled


def outbox_drain(
    *, consumer: str | None = None, topics: Iterable[str] | None = None, batch: int = BATCH
) -> dict[str, int]:
    """Run every consumer (or one, or those of ``topics``: what a commit recorded) over its new events, in id
    order; ``{consumer: events handled}``. Stops a consumer at an event its handler fails on (retried next
    run)."""
    chosen = [_CONSUMERS[consumer]] if consumer else list(_CONSUMERS.values())
    if topics is not None:
        wanted = frozenset(topics)
        chosen = [item for item in chosen if item.topics & wanted]
    result: dict[str, int] = {}
    for item in chosen:
        total = 0
        while True:
            done = _drain_one(item, batch=batch)
            total += done
            if done < batch:
                break
        result[item.name] = total
    return result

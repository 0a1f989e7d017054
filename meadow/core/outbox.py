"""The outbox: how an app tells the apps above it that something happened, without importing them.

The app that owns a fact records it with :func:`outbox_record` in the transaction that makes it true (a follow
became active). Apps above register a consumer for its topic in their ``AppConfig.ready``
(:func:`register_consumer`), explicitly — never a Django signal. After the commit the drain task
(``meadow.core.tasks.outbox_drain``; inline in the suite and with ``MEADOW_TASKS_EAGER``, so the effect is there
when the request ends) hands each consumer its new events **in id order**; beat runs it every minute too, to
pick up whatever a failed run left.

A consumer may instead read a **log the owner already keeps** (:func:`register_log_consumer`): a table of facts
with an increasing primary key, such as the engagement app's ``EngagementEvent`` (every like, save, read…). The
owner then writes nothing more than it already does: it calls :func:`outbox_kick` with the log's model in the
transaction, which queues the drain after the commit (no query), and the consumer keeps a cursor over the
table just as over the outbox. Such a consumer's cursor row is created by a data migration of the consuming
app at the log's newest row, so a deploy does not replay the history.

Guarantees:
- *Idempotent on redelivery*: a consumer's cursor moves in the same transaction as its handler's effects, so an
  event is handled once per consumer, however often the task is delivered.
- *A failing consumer loses nothing*: its transaction rolls back, its cursor stays before the failing event,
  the next run retries it; other consumers go on.
- *A row committed late is not skipped*: ids are taken at INSERT, not at COMMIT (PostgreSQL), so a drain may
  see id 11 while id 10's transaction is still open. When the cursor moves past ids it did not see, the cursor
  row remembers them as *gaps*, each with the time it was first missed; every drain first re-reads the rows of
  its gaps and hands over those now there (in id order, once: the gap goes in the same transaction as the
  handler's effects), then reads on. A gap missing for ``MEADOW_OUTBOX_GAP_SECONDS`` (a rolled-back insert, a
  deleted log row) is forgotten; at most ``MAX_GAPS`` are kept. Nothing is added to the write side; a drain
  costs one query more while it has gaps. (SQLite serialises writers, so there a gap is never filled later.)
  Such a row is handled after newer ones: consumers must not rely on a strict order across transactions.
- *One drainer per consumer*: the cursor row is locked with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (a
  second drainer skips the consumer); on SQLite the cursor is claimed with a conditional UPDATE first, which
  takes the database's single write lock, and a drainer that finds the cursor moved skips.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, models, transaction

from meadow.core.models import OutboxCursor, OutboxEvent

log = logging.getLogger("meadow.outbox")

BATCH = 200
MAX_GAPS = 1000  # ids a cursor remembers as not yet visible (the newest kept); more are logged and dropped
DRAIN_TASK = "meadow.core.tasks.outbox_drain"
OUTBOX = "core.OutboxEvent"  # the source of the consumers of topics


@dataclass(frozen=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handle: Callable[[Any], Any]
    # A consumer of another app's own log: the rows to read (in pk order) and which of them to handle.
    log: models.QuerySet | None = None
    wants: Callable[[Any], bool] | None = None

    @property
    def source(self) -> str:
        return OUTBOX if self.log is None else log_source(self.log.model)


_CONSUMERS: dict[str, Consumer] = {}


def register_consumer(name: str, *, topics: Iterable[str], handle: Callable[[OutboxEvent], Any]) -> None:
    """Register (or replace) the consumer ``name`` of ``topics``; ``handle(event)`` must only write through its
    app's services. Call it from the consuming app's ``AppConfig.ready``."""
    _CONSUMERS[name] = Consumer(name=name, topics=frozenset(topics), handle=handle)


def register_log_consumer(
    name: str,
    *,
    log: models.QuerySet,
    handle: Callable[[Any], Any],
    wants: Callable[[Any], bool] | None = None,
) -> None:
    """Register (or replace) the consumer ``name`` of a lower app's own log ``log`` (a queryset of its fact
    table, read in primary-key order): ``handle(row)`` runs for each new row ``wants(row)`` accepts (all rows
    when ``wants`` is None), with the same guarantees as a consumer of topics. The owner calls
    :func:`outbox_kick` with the log's model when it writes a row the consumer should see soon."""
    _CONSUMERS[name] = Consumer(name=name, topics=frozenset(), handle=handle, log=log, wants=wants)


def log_source(model: type[models.Model]) -> str:
    return model._meta.label


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


def outbox_consumed(consumer: str, row_id: int) -> bool:
    """Inside the caller's transaction: whether ``consumer`` has handled row ``row_id`` of its log. A drain of
    that consumer in progress is waited for (PostgreSQL: the cursor row ``FOR SHARE``; SQLite: one writer at a
    time), so the answer holds until the caller commits — the owner of a log may then undo a row's effects
    itself if they were applied, or just delete the row if they were not (the consumer will never see it)."""
    table = OutboxCursor._meta.db_table
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT position, gaps FROM {table} WHERE consumer = %s{lock}", [consumer])
        found = cursor.fetchone()
    if found is None:
        return False
    position, gaps = found
    if isinstance(gaps, str):  # SQLite hands JSON back as text through a raw cursor
        import json

        gaps = json.loads(gaps or "{}")
    return row_id <= int(position) and str(row_id) not in (gaps or {})


def outbox_kick(log: type[models.Model]) -> None:
    """The owner of ``log`` wrote a row (in the caller's transaction): have that log's consumers run after the
    commit. No query (a drain that finds nothing new costs a few, on the worker)."""
    _drain_on_commit(log_source(log))


def _drain_on_commit(source: str) -> None:
    # by name: meadow.core.tasks imports this module (the task's body is outbox_drain below)
    transaction.on_commit(lambda: current_app.tasks[DRAIN_TASK].apply_async(kwargs={"source": source}))


def _now() -> float:
    return time.time()


def _claim(consumer: Consumer) -> tuple[int, dict[str, float]] | None:
    """Inside the consumer's transaction: its position and gaps, or ``None`` when another drainer holds it."""
    OutboxCursor.objects.get_or_create(consumer=consumer.name)
    if connection.vendor == "postgresql":
        return (
            OutboxCursor.objects.select_for_update(skip_locked=True)
            .filter(consumer=consumer.name)
            .values_list("position", "gaps")
            .first()
        )
    position, gaps = OutboxCursor.objects.filter(consumer=consumer.name).values_list("position", "gaps").get()
    # The conditional UPDATE takes SQLite's write lock for this transaction; a drainer that read the same
    # position before us finds it moved on (0 rows) once we commit, and skips.
    if not OutboxCursor.objects.filter(consumer=consumer.name, position=position).update(position=position):
        return None
    return position, gaps


def _deliver(consumer: Consumer, row: Any) -> bool | None:
    """Hand one row to the consumer in a savepoint: ``True`` handled, ``False`` not its business, ``None`` its
    handler failed (its effects rolled back)."""
    if consumer.log is None:
        if row.topic not in consumer.topics:
            return False
    elif consumer.wants is not None and not consumer.wants(row):
        return False
    try:
        with transaction.atomic():
            consumer.handle(row)
    except Exception:
        log.exception("outbox consumer %s failed on event %s", consumer.name, row.pk)
        return None
    return True


def _drain_one(consumer: Consumer, *, batch: int) -> tuple[int, int, bool]:
    """Read up to ``batch`` new rows of one consumer, after the rows of its gaps that have appeared since:
    ``(rows passed, rows handled, whether to go on)``."""
    handled = passed = 0
    with transaction.atomic():
        claimed = _claim(consumer)
        if claimed is None:
            return 0, 0, False
        position, stored = claimed
        # every row, not only the consumer's topics: an id is a gap only if no row of the table has it
        source = OutboxEvent.objects.all() if consumer.log is None else consumer.log
        now = _now()
        gaps = {int(pk): float(seen) for pk, seen in stored.items()}
        changed = failed = False
        if gaps:
            late = list(source.filter(pk__in=list(gaps)).order_by("pk"))
            visible = {row.pk for row in late}
            oldest = now - settings.MEADOW_OUTBOX_GAP_SECONDS
            for pk in [pk for pk, seen in gaps.items() if pk not in visible and seen < oldest]:
                del gaps[pk]  # a rolled-back insert or a deleted row: no transaction lives this long
                changed = True
            for row in late:  # committed since: handled now (after newer ones), once — the gap goes with it
                outcome = _deliver(consumer, row)
                if outcome is None:
                    failed = True
                    break
                handled += outcome
                del gaps[row.pk]
                changed = True
        events: list[Any] = []
        if not failed:
            events = list(source.filter(pk__gt=position).order_by("pk")[:batch])
        for event in events:
            outcome = _deliver(consumer, event)
            if outcome is None:
                failed = True
                break
            handled += outcome
            # Ids between the last position and this row were not visible: on PostgreSQL an id is taken at
            # INSERT, so a transaction still open may commit them later. Remembered only once the cursor
            # passes them, so that every gap is below the position and no row is read both ways.
            for pk in range(position + 1, event.pk)[-MAX_GAPS:]:
                gaps.setdefault(pk, now)
                changed = True
            position = event.pk
            passed += 1
        if len(gaps) > MAX_GAPS:
            log.warning("outbox consumer %s: %d gaps, forgetting the oldest", consumer.name, len(gaps))
            gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
        if passed or changed:
            OutboxCursor.objects.filter(consumer=consumer.name).update(
                position=position, gaps={str(pk): seen for pk, seen in sorted(gaps.items())}
            )
    return passed, handled, not failed and len(events) == batch


def outbox_drain(
    *,
    consumer: str | None = None,
    source: str | None = None,
    topics: Iterable[str] | None = None,
    batch: int = BATCH,
) -> dict[str, int]:
    """Run every consumer (or one; or those of one ``source``: ``core.OutboxEvent`` or a log's model label; or
    the outbox consumers of ``topics``: what a commit recorded) over its new events, in id order;
    ``{consumer: events handled}``. Stops a consumer at an event its handler fails on (retried next run)."""
    chosen = [_CONSUMERS[consumer]] if consumer else list(_CONSUMERS.values())
    if source is not None:
        chosen = [item for item in chosen if item.source == source]
    if topics is not None:
        wanted = frozenset(topics)
        chosen = [item for item in chosen if item.source == OUTBOX and item.topics & wanted]
    result: dict[str, int] = {}
    for item in chosen:
        total = 0
        more = True
        while more:
            _passed, handled, more = _drain_one(item, batch=batch)
            total += handled
        result[item.name] = total
    return result

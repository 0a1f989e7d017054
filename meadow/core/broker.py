"""The embedded default's broker: kombu's SQLAlchemy transport (messages are rows of a SQLite file) made
ack-based, so a worker killed in the middle of a task (SIGKILL, OOM, power loss) loses nothing.

kombu's own transport marks a message delivered (``visible = false``) the moment a worker takes it and never
looks at it again: acks are in-memory only, so the task a killed worker had in hand is gone. Here a taken
message is *leased* instead:

- taking one is a single ``UPDATE … WHERE id = (first visible) AND visible RETURNING`` — atomic on SQLite
  (one writer) and re-checked on PostgreSQL, so two workers never get the same message at once; the row is
  marked ``visible = false, version = LEASED`` and its ``timestamp`` is the lease's start;
- acking it (or rejecting it without requeue) deletes the row; rejecting with requeue, or a worker's normal
  stop (kombu gives unacked messages back on close), makes the row visible again — the same row, no copy;
- while a worker lives it renews the leases of the messages it holds (every ``visibility_timeout / 3`` s, from
  its polling loop — a task running for an hour, or a countdown/ETA message held until its time, stays
  leased); a lease not renewed for ``visibility_timeout`` s belonged to a dead worker, and every consumer
  (each ``restore_interval`` s, and at once when it starts) makes such rows visible again, like kombu's Redis
  transport restores its "unacked" set. After a SIGKILL the task therefore runs again within
  ``visibility_timeout + restore_interval`` s of the kill — or of the restart, if that is later.

Tasks are idempotent (meadow.core.tasks), so the one that was cut short may run twice but takes effect once.
Registered as the ``sqlack`` transport: ``CELERY_BROKER_URL=sqlack+sqlite:///path`` (settings' default).
Rows that kombu's plain transport delivered (``version`` ≠ LEASED) are never restored; ``broker_prune`` deletes
them."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from json import loads
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("meadow.broker")
SCHEME = "sqlack"
LEASED = 0  # the ``version`` of a leased row; kombu's ORM writes 1 on insert and 2+ on its own updates
DEFAULT_VISIBILITY_TIMEOUT = 30.0
OUR_OPTIONS = ("visibility_timeout", "restore_interval", "polling_interval")


def _now() -> datetime:
    return datetime.now()  # naive local time, as kombu writes the column


class Channel(kombu_sqla.Channel):
    """kombu's SQLAlchemy channel with leases, acks and restores (see the module docstring)."""

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        opts = connection.client.transport_options
        self.visibility_timeout = float(opts.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
        self.restore_interval = float(
            opts.get("restore_interval", max(1.0, min(10.0, self.visibility_timeout / 4)))
        )
        self._leases: dict[str, int] = {}  # delivery tag → row id, of the messages this channel holds
        self._leases_lock = threading.Lock()
        self._queue_ids: dict[str, int] = {}
        self._last_renew = time.monotonic()
        self._last_restore = 0.0  # the first poll restores at once: what a dead worker left behind
        super().__init__(connection, **kwargs)

    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        saved = conninfo.transport_options
        conninfo.transport_options = {k: v for k, v in saved.items() if k not in OUR_OPTIONS}
        try:
            return super()._engine_from_config()
        finally:
            conninfo.transport_options = saved

    @property
    def engine(self) -> Any:
        return self._open()[0]

    def _get_or_create(self, queue: str) -> Any:
        """kombu's get-or-create of a queue row, safe across processes: its lock is per process, so the worker
        and beat starting together both inserted the same queue and one died of ``UNIQUE constraint failed:
        kombu_queue.name``. The loser now reads the row the winner made."""
        try:
            return super()._get_or_create(queue)
        except IntegrityError:
            self.session.rollback()
            found = self.session.query(self.queue_cls).filter(self.queue_cls.name == queue).first()
            if found is None:
                raise
            return found

    def _queue_id(self, queue: str) -> int:
        if queue not in self._queue_ids:
            self._queue_ids[queue] = self._get_or_create(queue).id
        return self._queue_ids[queue]

    # --- taking, acking, giving back -------------------------------------------------------------------------
    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        queue_id = self._queue_id(queue)
        table = self.message_tablename
        with self.engine.begin() as db:
            row = db.execute(
                text(
                    f'UPDATE {table} SET visible = :hidden, version = :leased, "timestamp" = :now '
                    f"WHERE visible = :shown AND id = (SELECT id FROM {table} WHERE queue_id = :queue "
                    f"AND visible = :shown ORDER BY id LIMIT 1) RETURNING id, payload"
                ),
                {"hidden": False, "shown": True, "leased": LEASED, "now": _now(), "queue": queue_id},
            ).first()
        if row is None:
            raise Empty()
        payload = loads(bytes_to_str(row.payload))
        tag = payload.get("properties", {}).get("delivery_tag")
        if tag is not None:
            with self._leases_lock:
                self._leases[tag] = row.id
        return payload

    def _take_lease(self, delivery_tag: str) -> int | None:
        with self._leases_lock:
            return self._leases.pop(delivery_tag, None)

    def _delete_row(self, row_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(text(f"DELETE FROM {self.message_tablename} WHERE id = :id"), {"id": row_id})

    def _make_visible(self, row_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(
                text(
                    f"UPDATE {self.message_tablename} SET visible = :shown WHERE id = :id AND version = :leased"
                ),
                {"shown": True, "id": row_id, "leased": LEASED},
            )

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        row_id = self._take_lease(delivery_tag)
        if row_id is not None:
            self._delete_row(row_id)
        super().basic_ack(delivery_tag, multiple=multiple)

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:  # with requeue, QoS.reject calls _restore_at_beginning
            row_id = self._take_lease(delivery_tag)
            if row_id is not None:
                self._delete_row(row_id)
        super().basic_reject(delivery_tag, requeue=requeue)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:  # nobody will ack it: taken is done
            row_id = self._take_lease(message.delivery_tag)
            if row_id is not None:
                self._delete_row(row_id)
        return message

    def basic_consume(self, queue: str, no_ack: bool, callback: Any, consumer_tag: str, **kwargs: Any) -> Any:
        if not no_ack:
            return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

        def done_on_delivery(message: Any) -> Any:
            row_id = self._take_lease(message.delivery_tag)
            if row_id is not None:
                self._delete_row(row_id)
            return callback(message)

        return super().basic_consume(queue, no_ack, done_on_delivery, consumer_tag, **kwargs)

    def _restore(self, message: Any) -> None:
        """A message given back (a normal stop, a reject with requeue): its row becomes visible again."""
        row_id = self._take_lease(message.delivery_tag)
        if row_id is None:  # not one of ours (e.g. taken by plain kombu): put a copy, as kombu does
            super()._restore(message)
            return
        self._make_visible(row_id)

    # --- leases of a living worker, restores of a dead one's -----------------------------------------------
    def renew_leases(self) -> int:
        with self._leases_lock:
            ids = list(self._leases.values())
        if not ids:
            return 0
        marks = ", ".join(f":id{i}" for i in range(len(ids)))
        with self.engine.begin() as db:
            result = db.execute(
                text(
                    f'UPDATE {self.message_tablename} SET "timestamp" = :now '
                    f"WHERE version = :leased AND visible = :hidden AND id IN ({marks})"
                ),
                {
                    "now": _now(),
                    "leased": LEASED,
                    "hidden": False,
                    **{f"id{i}": v for i, v in enumerate(ids)},
                },
            )
        return int(result.rowcount or 0)

    def restore_expired(self) -> int:
        """Make visible again every leased message whose lease was not renewed for ``visibility_timeout``."""
        with self.engine.begin() as db:
            result = db.execute(
                text(
                    f"UPDATE {self.message_tablename} SET visible = :shown "
                    f'WHERE visible = :hidden AND version = :leased AND "timestamp" < :cutoff'
                ),
                {
                    "shown": True,
                    "hidden": False,
                    "leased": LEASED,
                    "cutoff": _now() - timedelta(seconds=self.visibility_timeout),
                },
            )
        restored = int(result.rowcount or 0)
        if restored:
            log.warning("broker: %d message(s) a stopped worker had taken are back in the queue", restored)
        return restored

    def maintain(self) -> None:
        """Called from the consumer's polling loop (even while its prefetch is full)."""
        now = time.monotonic()
        if now - self._last_renew >= self.visibility_timeout / 3:
            self._last_renew = now
            self.renew_leases()
        if now - self._last_restore >= self.restore_interval:
            self._last_restore = now
            self.restore_expired()

    def drain_events(self, timeout: float | None = None, callback: Any = None) -> Any:
        if self._consumers:
            self.maintain()
        return super().drain_events(timeout=timeout, callback=callback)


class Transport(kombu_sqla.Transport):
    Channel = Channel


def register() -> None:
    """Make ``sqlack+<SQLAlchemy URL>`` broker URLs resolve to this transport."""
    TRANSPORT_ALIASES.setdefault(SCHEME, "meadow.core.broker:Transport")

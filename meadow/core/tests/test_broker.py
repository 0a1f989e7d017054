"""The embedded default's ack-based broker (meadow.core.broker): a taken message stays leased until acked, an ack
deletes it, an unrenewed lease returns it to the queue, and two consumers never hold the same message."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timedelta

import pytest
from kombu import Connection, Queue
from sqlalchemy import text

from meadow.core import broker


@pytest.fixture
def url(tmp_path):
    return f"sqlack+sqlite:///{tmp_path / 'broker.sqlite3'}"


def connect(url: str, **options) -> Connection:
    return Connection(url, transport_options={"connect_args": {"timeout": 30}, **options})


def publish(conn: Connection, *bodies: object, queue: str = "q") -> None:
    producer = conn.Producer()
    for body in bodies:
        producer.publish(body, routing_key=queue, exchange="", declare=[], serializer="json")


def rows(channel) -> list[tuple[int, bool, int]]:
    with channel.engine.begin() as db:
        return [
            tuple(r) for r in db.execute(text("SELECT id, visible, version FROM kombu_message ORDER BY id"))
        ]


def visible(channel) -> int:
    return sum(1 for _, shown, _ in rows(channel) if shown)


def test_the_default_broker_url_uses_this_transport(settings):
    assert settings.CELERY_BROKER_URL.startswith("sqlack+sqlite:///") or settings.CELERY_TASK_ALWAYS_EAGER
    conn = Connection("sqlack+sqlite:///:memory:")
    assert conn.transport_cls == "sqlack" and isinstance(conn.transport, broker.Transport)


def test_a_fetched_message_is_invisible_until_acked_and_the_ack_deletes_it(url):
    with connect(url) as conn:
        publish(conn, {"n": 1}, {"n": 2})
        channel = conn.default_channel
        first = channel.basic_get("q")
        assert first.payload == {"n": 1}
        assert [(shown, version) for _, shown, version in rows(channel)] == [(0, broker.LEASED), (1, 1)]
        assert channel.basic_get("q").payload == {"n": 2}  # the next one, not the leased one again
        assert channel.basic_get("q") is None
        first.ack()
        assert len(rows(channel)) == 1  # the acked row is gone, the other is still leased
        assert channel.basic_get("q") is None


def test_an_unacked_message_is_restored_after_the_visibility_timeout(url):
    with connect(url, visibility_timeout=60) as taker, connect(url, visibility_timeout=60) as other:
        publish(taker, {"n": 1})
        message = taker.default_channel.basic_get("q")
        assert message is not None
        sweeper = other.default_channel
        assert sweeper.restore_expired() == 0  # the lease is fresh: nothing comes back
        assert sweeper.basic_get("q") is None
        # the taker dies without acking (nothing renews the lease): age it past the timeout
        with sweeper.engine.begin() as db:
            db.execute(
                text('UPDATE kombu_message SET "timestamp" = :t'),
                {"t": datetime.now() - timedelta(seconds=61)},
            )
        assert sweeper.restore_expired() == 1
        again = sweeper.basic_get("q")
        assert again is not None and again.payload == {"n": 1}
        assert again.delivery_tag == message.delivery_tag  # the same message, not a copy
        again.ack()
        assert rows(sweeper) == []


def test_a_living_consumer_renews_its_leases_so_a_long_task_is_not_restored(url):
    with connect(url, visibility_timeout=60) as conn:
        publish(conn, {"n": 1})
        channel = conn.default_channel
        assert channel.basic_get("q") is not None
        with channel.engine.begin() as db:
            db.execute(
                text('UPDATE kombu_message SET "timestamp" = :t'),
                {"t": datetime.now() - timedelta(seconds=61)},
            )
        assert channel.renew_leases() == 1
        assert channel.restore_expired() == 0
        assert visible(channel) == 0


def test_a_consumer_restores_expired_leases_from_its_polling_loop(url):
    with connect(url, visibility_timeout=0.3, restore_interval=0.1, polling_interval=0.05) as dead:
        publish(dead, {"n": 1})
        assert dead.default_channel.basic_get("q") is not None  # then "killed": never acked, never renewed
    got: list[object] = []

    def take(body, message):
        got.append(body)
        message.ack()

    with connect(url, visibility_timeout=0.3, restore_interval=0.1, polling_interval=0.05) as conn:
        with conn.Consumer(queues=[Queue("q", routing_key="q")], accept=["json"], callbacks=[take]):
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=0.5)
        assert got == [{"n": 1}]
        assert rows(conn.default_channel) == []


def test_a_message_given_back_at_a_normal_stop_or_rejected_with_requeue_is_the_same_row(url):
    with connect(url) as conn:
        publish(conn, {"n": 1})
        channel = conn.default_channel
        message = channel.basic_get("q")
        message.reject(requeue=True)
        assert [(shown, version) for _, shown, version in rows(channel)] == [(1, broker.LEASED)]
        message = channel.basic_get("q")
        channel.close()  # a warm shutdown: kombu gives unacked messages back
    with connect(url) as conn:
        assert len(rows(conn.default_channel)) == 1 and visible(conn.default_channel) == 1
        message = conn.default_channel.basic_get("q")
        message.reject(requeue=False)
        assert rows(conn.default_channel) == []


def test_two_consumers_never_get_the_same_message_at_once(url):
    total = 60
    with connect(url) as conn:
        publish(conn, *[{"n": i} for i in range(total)])
    seen: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def consume(k: int) -> None:
        try:
            with connect(url) as mine:
                channel = mine.default_channel
                start.wait(timeout=30)
                while True:
                    message = channel.basic_get("q")
                    if message is None:
                        return
                    seen[k].append(message.payload["n"])
                    time.sleep(0.002)  # "work": the other consumer takes messages meanwhile
                    message.ack()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    both = seen[0] + seen[1]
    assert sorted(both) == list(range(total)), "every message delivered exactly once"
    assert seen[0] and seen[1], "both consumers took part"


def test_broker_prune_leaves_leased_messages_alone(settings, tmp_path):
    from meadow.core.tasks import broker_prune

    url = f"sqlack+sqlite:///{tmp_path / 'broker.sqlite3'}"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}, "visibility_timeout": 30.0}
    with connect(url) as conn:
        publish(conn, {"n": 1}, {"n": 2})
        channel = conn.default_channel
        assert channel.basic_get("q") is not None
        with channel.engine.begin() as db:  # one row as kombu's plain transport leaves a delivered message
            db.execute(
                text(
                    "UPDATE kombu_message SET visible = 0, version = 2 WHERE id = (SELECT MAX(id) FROM kombu_message)"
                )
            )
            db.execute(
                text('UPDATE kombu_message SET "timestamp" = :t'), {"t": datetime.now() - timedelta(days=2)}
            )
        assert broker_prune() == 1
        assert [(shown, version) for _, shown, version in rows(channel)] == [(0, broker.LEASED)]


def test_two_processes_declaring_the_same_queue_at_once_both_get_it(url, monkeypatch):
    """The worker and beat start together and both create the queue row: kombu's lock is per process, so one
    insert lost with ``UNIQUE constraint failed: kombu_queue.name`` and killed the worker (a clean-clone CI run).
    Here the other process wins between this channel's look and its insert."""
    with connect(url) as first, connect(url) as second:
        made = first.default_channel._get_or_create("race")
        channel = second.default_channel
        query = type(channel.session).query
        calls = {"n": 0}

        class _Missing:  # this channel's two looks before inserting see no row (the other process's is racing)
            def filter(self, *args, **kwargs):
                return self

            def first(self):
                return None

        def racing_query(session, *args, **kwargs):
            calls["n"] += 1
            return _Missing() if calls["n"] <= 2 else query(session, *args, **kwargs)

        monkeypatch.setattr(type(channel.session), "query", racing_query)
        got = channel._get_or_create("race")
        assert got.id == made.id and calls["n"] == 3

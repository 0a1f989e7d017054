"""The outbox (meadow.core.outbox): consumers get the events of their topics in order, once each however often
the drain is delivered, a failing consumer loses nothing and holds no one else up, and only one drainer reads a
consumer at a time. The follow → interests/notification consumers are tested through the follow service."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from meadow.core import outbox
from meadow.core.models import OutboxCursor, OutboxEvent


@pytest.fixture
def registry():
    """Test consumers only, restored afterwards (the apps' own stay registered for other tests)."""
    saved = dict(outbox._CONSUMERS)
    outbox._CONSUMERS.clear()
    yield outbox
    outbox._CONSUMERS.clear()
    outbox._CONSUMERS.update(saved)


def _events(*numbers: int, topic: str = "test.fact") -> list[OutboxEvent]:
    return [OutboxEvent.objects.create(topic=topic, payload={"n": n}) for n in numbers]


@pytest.mark.django_db
def test_a_consumer_gets_its_topics_in_order_and_nothing_else(registry):
    seen: list[int] = []
    registry.register_consumer("t.order", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _events(1, 2)
    _events(99, topic="test.other")
    _events(3)
    assert registry.outbox_drain() == {"t.order": 3}
    assert seen == [1, 2, 3]


@pytest.mark.django_db
def test_redelivery_handles_nothing_twice(registry):
    seen: list[int] = []
    registry.register_consumer("t.once", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _events(1, 2)
    registry.outbox_drain()
    assert registry.outbox_drain() == {"t.once": 0}  # the same task delivered again
    _events(3)
    registry.outbox_drain()
    assert seen == [1, 2, 3]
    assert OutboxCursor.objects.get(consumer="t.once").position == OutboxEvent.objects.latest("pk").pk


@pytest.mark.django_db
def test_batches_continue_in_order(registry):
    seen: list[int] = []
    registry.register_consumer("t.batch", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _events(*range(7))
    assert registry.outbox_drain(batch=3) == {"t.batch": 7}
    assert seen == list(range(7))


@pytest.mark.django_db
def test_a_failing_consumer_loses_no_event_and_does_not_hold_up_the_others(registry):
    other: list[int] = []
    handled: list[int] = []
    broken = {"on": True}

    def flaky(event):
        OutboxEvent.objects.create(topic="test.effect", payload={"of": event.payload["n"]})  # an effect
        if event.payload["n"] == 2 and broken["on"]:
            raise RuntimeError("the consumer's database is away")
        handled.append(event.payload["n"])

    registry.register_consumer("t.flaky", topics=["test.fact"], handle=flaky)
    registry.register_consumer("t.other", topics=["test.fact"], handle=lambda e: other.append(e.payload["n"]))
    _events(1, 2, 3)
    assert registry.outbox_drain() == {"t.flaky": 1, "t.other": 3}
    assert handled == [1] and other == [1, 2, 3]
    # the failed event's effect was rolled back with it; the one before it stays
    assert [e.payload["of"] for e in OutboxEvent.objects.filter(topic="test.effect")] == [1]

    broken["on"] = False  # the next run (beat, or the next commit's drain) retries from the failed event
    assert registry.outbox_drain() == {"t.flaky": 2, "t.other": 0}
    assert handled == [1, 2, 3]


@pytest.mark.django_db
def test_recording_drains_after_the_commit(registry, django_capture_on_commit_callbacks):
    seen: list[int] = []
    registry.register_consumer("t.commit", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    with django_capture_on_commit_callbacks(execute=True):
        outbox.outbox_record("test.fact", n=5)
        assert seen == []  # not before the commit
    assert seen == [5]


@pytest.mark.django_db
def test_a_follow_teaches_interests_and_notifies_through_the_outbox(django_capture_on_commit_callbacks):
    from meadow.accounts.services import FOLLOW_ACTIVATED, FOLLOW_CREATED, follow_create
    from meadow.notifications.models import Notification
    from tests.factories import UserFactory

    follower, creator = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=follower, followee=creator)
    topics = list(OutboxEvent.objects.order_by("pk").values_list("topic", flat=True))
    assert topics == [FOLLOW_ACTIVATED, FOLLOW_CREATED]
    assert Notification.objects.filter(recipient=creator, kind="follow").count() == 1
    assert outbox.outbox_drain() == dict.fromkeys(outbox.consumers(), 0)  # redelivered: nothing again
    assert Notification.objects.filter(recipient=creator, kind="follow").count() == 1


# --- consumers of an owner's own log (engagement events, comment likes) ---------------------------------------------
@pytest.mark.django_db
def test_a_log_consumer_reads_the_owners_table_in_order_and_moves_past_what_it_does_not_want(registry):
    from meadow.engagement.models import EngagementEvent
    from meadow.notes.tests.factories import NoteFactory

    note = NoteFactory()
    seen: list[str] = []
    registry.register_log_consumer(
        "t.log",
        log=EngagementEvent.objects.all(),
        wants=lambda e: e.kind != "impression",
        handle=lambda e: seen.append(e.kind),
    )
    for kind in ("like", "impression", "save", "impression", "impression"):
        EngagementEvent.objects.create(note=note, kind=kind)
    assert registry.outbox_drain(batch=2) == {"t.log": 2}
    assert seen == ["like", "save"]
    # the cursor is past the trailing impressions too: the next run does not read them again
    assert OutboxCursor.objects.get(consumer="t.log").position == EngagementEvent.objects.latest("pk").pk
    assert registry.outbox_drain() == {"t.log": 0}


@pytest.mark.django_db
def test_a_kick_costs_no_query_and_drains_only_that_logs_consumers(
    registry, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from meadow.engagement.models import CommentLike, EngagementEvent
    from meadow.notes.tests.factories import NoteFactory

    note = NoteFactory()
    seen: list[str] = []
    registry.register_log_consumer(
        "t.events", log=EngagementEvent.objects.all(), handle=lambda e: seen.append("e")
    )
    registry.register_log_consumer(
        "t.likes", log=CommentLike.objects.all(), handle=lambda e: seen.append("c")
    )
    registry.register_consumer("t.topics", topics=["test.fact"], handle=lambda e: seen.append("t"))
    _events(1)
    with django_capture_on_commit_callbacks(execute=True):
        EngagementEvent.objects.create(note=note, kind="like")
        with django_assert_num_queries(0):
            outbox.outbox_kick(EngagementEvent)
        assert seen == []  # not before the commit
    assert seen == ["e"]  # the comment likes' and the topics' consumers were not run


@pytest.mark.django_db
def test_a_like_a_save_and_a_comment_reach_interests_and_notifications_through_the_event_log(
    django_capture_on_commit_callbacks,
):
    from meadow.engagement import services as engagement
    from meadow.engagement.models import EngagementEvent
    from meadow.notes.tests.factories import NoteFactory
    from meadow.notifications.models import Notification
    from tests.factories import UserFactory

    reader, author = UserFactory(), UserFactory()
    UserFactory(handle="friend.kl")
    note = NoteFactory(author=author)
    with django_capture_on_commit_callbacks(execute=True):
        engagement.note_like(user=reader, note=note)
        engagement.note_save(user=reader, note=note)
        comment = engagement.comment_create(author=reader, note=note, body="so good @friend.kl")
        engagement.comment_like(user=author, comment=comment)
    kinds = set(Notification.objects.values_list("recipient__handle", "kind"))
    assert kinds == {
        (author.handle, "like"),
        (author.handle, "save"),
        (author.handle, "comment"),
        ("friend.kl", "mention"),
        (reader.handle, "comment_like"),
    }
    # interest learning read the same log to its end (what it learned: distribution's test_feeds)
    newest = EngagementEvent.objects.latest("pk").pk
    assert OutboxCursor.objects.get(consumer="distribution.interests_engagement").position == newest
    before = Notification.objects.count()
    assert outbox.outbox_drain() == dict.fromkeys(outbox.consumers(), 0)  # redelivered: nothing again
    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_a_deploy_starts_the_log_cursors_at_the_newest_row():
    """The data migrations that add the log consumers start them at the newest row: history is not replayed."""
    import importlib

    from django.apps import apps

    from meadow.engagement.models import EngagementEvent
    from meadow.notes.tests.factories import NoteFactory

    note = NoteFactory()
    newest = [EngagementEvent.objects.create(note=note, kind="like") for _ in range(3)][-1]
    OutboxCursor.objects.all().delete()
    for module in (
        "meadow.distribution.migrations.0002_engagement_log_cursor",
        "meadow.notifications.migrations.0002_engagement_log_cursors",
    ):
        importlib.import_module(module).start_at_newest(apps, None)
    positions = dict(OutboxCursor.objects.values_list("consumer", "position"))
    assert positions == {
        "distribution.interests_engagement": newest.pk,
        "notifications.engagement": newest.pk,
        "notifications.comment_likes": 0,
    }
    assert outbox.outbox_drain(source="engagement.EngagementEvent") == {
        "distribution.interests_engagement": 0,
        "notifications.engagement": 0,
    }


@pytest.mark.django_db
def test_on_sqlite_a_drainer_that_finds_the_cursor_moved_skips(registry, monkeypatch):
    """The single-drainer claim on SQLite: another drainer moved the cursor between our read and our claim
    (its commit came first), so our conditional UPDATE matches nothing and we handle nothing."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite claim; PostgreSQL's SKIP LOCKED is driven by two threads below")
    seen: list[int] = []
    registry.register_consumer("t.claim", topics=["test.fact"], handle=lambda e: seen.append(e.pk))
    events = _events(1, 2)
    OutboxCursor.objects.create(consumer="t.claim", position=0)
    real_filter = OutboxCursor.objects.filter
    calls = {"n": 0}

    def racing_filter(*args, **kwargs):
        if "position" in kwargs and calls["n"] == 0:  # the claim: the other drainer committed just before it
            calls["n"] += 1
            OutboxCursor.objects.update(position=events[-1].pk)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(OutboxCursor.objects, "filter", racing_filter)
    assert registry.outbox_drain() == {"t.claim": 0}
    assert seen == [] and calls["n"] == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL profile only: MEADOW_TEST_POSTGRES")
@pytest.mark.django_db(transaction=True)
def test_one_drainer_at_a_time_on_postgresql(registry):
    """Two drainers at once: each event is handled exactly once (the second skips the locked cursor)."""
    seen: list[int] = []
    lock = threading.Lock()
    inside = threading.Event()
    release = threading.Event()

    def slow(event):
        with lock:
            seen.append(event.pk)
        inside.set()
        release.wait(5)

    registry.register_consumer("t.single", topics=["test.fact"], handle=slow)
    _events(1, 2, 3)
    results: list[dict[str, int]] = []

    def run():
        try:
            results.append(registry.outbox_drain())
        finally:
            connections.close_all()

    first = threading.Thread(target=run)
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=run)  # starts while the first holds the consumer
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert sorted(seen) == sorted(OutboxEvent.objects.values_list("pk", flat=True))
    assert len(seen) == 3
    assert sorted(r["t.single"] for r in results)[-1] == 3
    with transaction.atomic():
        assert OutboxCursor.objects.get(consumer="t.single").position == max(seen)


# --- gaps: an id taken by a transaction that commits after a drain read past it ------------------------------------
def _start_before(name: str, row) -> None:
    """Start the cursor just before ``row``: on PostgreSQL the sequences run on across tests, and the ids of
    earlier tests' rows would otherwise be remembered as gaps too."""
    OutboxCursor.objects.create(consumer=name, position=row.pk - 1)


def _missing(pk: int) -> None:
    """Leave the id ``pk`` unused, as an insert still in flight (or rolled back) would: the next row gets a
    higher one. The id is taken by a row that is then deleted."""
    OutboxEvent.objects.filter(pk=pk).delete()


@pytest.mark.django_db
def test_a_gap_is_remembered_and_its_row_handled_once_when_it_appears(registry):
    seen: list[int] = []
    registry.register_consumer("t.gap", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _first, late, last = _events(1, 2, 3)
    _start_before("t.gap", _first)
    late_payload = late.payload
    _missing(late.pk)  # not visible yet to the drain
    assert registry.outbox_drain() == {"t.gap": 2}
    cursor = OutboxCursor.objects.get(consumer="t.gap")
    assert cursor.position == last.pk and list(cursor.gaps) == [str(late.pk)]

    OutboxEvent.objects.create(pk=late.pk, topic="test.fact", payload=late_payload)  # its transaction commits
    assert registry.outbox_drain() == {"t.gap": 1}
    assert seen == [1, 3, 2]
    assert OutboxCursor.objects.get(consumer="t.gap").gaps == {}
    assert registry.outbox_drain() == {"t.gap": 0}  # redelivered: nothing twice
    assert seen == [1, 3, 2]


@pytest.mark.django_db
def test_a_gap_of_another_topic_is_forgotten_when_it_appears_without_being_handled(registry):
    seen: list[int] = []
    registry.register_consumer("t.topic", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _first, other, _last = _events(1, 2, 3)
    _start_before("t.topic", _first)
    _missing(other.pk)
    registry.outbox_drain()
    OutboxEvent.objects.create(pk=other.pk, topic="test.other", payload={"n": 2})
    assert registry.outbox_drain() == {"t.topic": 0}
    assert seen == [1, 3]
    assert OutboxCursor.objects.get(consumer="t.topic").gaps == {}


@pytest.mark.django_db
def test_a_gap_is_forgotten_after_the_bound_and_its_row_is_then_not_handled(registry, settings, monkeypatch):
    settings.MEADOW_OUTBOX_GAP_SECONDS = 600
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(outbox, "_now", lambda: clock["now"])
    seen: list[int] = []
    registry.register_consumer("t.expiry", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _first, gone, _last = _events(1, 2, 3)
    _start_before("t.expiry", _first)
    _missing(gone.pk)
    registry.outbox_drain()
    assert OutboxCursor.objects.get(consumer="t.expiry").gaps == {str(gone.pk): 1_000_000.0}

    clock["now"] += 599  # within the bound: still looked for (and its first-seen time is kept)
    _events(4)
    registry.outbox_drain()
    assert OutboxCursor.objects.get(consumer="t.expiry").gaps == {str(gone.pk): 1_000_000.0}

    clock["now"] += 2  # past it: a rolled-back insert, forgotten even with nothing new to read
    assert registry.outbox_drain() == {"t.expiry": 0}
    assert OutboxCursor.objects.get(consumer="t.expiry").gaps == {}
    OutboxEvent.objects.create(pk=gone.pk, topic="test.fact", payload={"n": 2})
    assert registry.outbox_drain() == {"t.expiry": 0}
    assert seen == [1, 3, 4]


@pytest.mark.django_db
def test_a_failing_handler_keeps_the_gap_and_retries_it_before_reading_on(registry, settings, monkeypatch):
    settings.MEADOW_OUTBOX_GAP_SECONDS = 600
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(outbox, "_now", lambda: clock["now"])
    seen: list[int] = []
    broken = {"on": True}

    def flaky(event):
        if event.payload["n"] == 2 and broken["on"]:
            raise RuntimeError("away")
        seen.append(event.payload["n"])

    registry.register_consumer("t.retry", topics=["test.fact"], handle=flaky)
    _first, late, _last = _events(1, 2, 3)
    _start_before("t.retry", _first)
    _missing(late.pk)
    registry.outbox_drain()
    OutboxEvent.objects.create(pk=late.pk, topic="test.fact", payload={"n": 2})
    _events(4)
    clock["now"] += 3600  # visible rows are never forgotten, however long their handler fails
    assert registry.outbox_drain() == {"t.retry": 0}
    assert list(OutboxCursor.objects.get(consumer="t.retry").gaps) == [str(late.pk)]
    assert seen == [1, 3]  # 4 waits behind the failing row
    broken["on"] = False
    assert registry.outbox_drain() == {"t.retry": 2}
    assert seen == [1, 3, 2, 4]
    assert OutboxCursor.objects.get(consumer="t.retry").gaps == {}


@pytest.mark.django_db
def test_gaps_across_batches_and_in_a_log_are_found(registry):
    from meadow.engagement.models import EngagementEvent
    from meadow.notes.tests.factories import NoteFactory

    note = NoteFactory()
    seen: list[int] = []
    registry.register_log_consumer(
        "t.log.gaps", log=EngagementEvent.objects.all(), handle=lambda e: seen.append(e.pk)
    )
    rows = [EngagementEvent.objects.create(note=note, kind="like") for _ in range(6)]
    _start_before("t.log.gaps", rows[0])
    kept = {row.pk: row for row in rows}
    for row in (rows[1], rows[3]):  # one in the first batch of 2 rows read, one between batches
        EngagementEvent.objects.filter(pk=row.pk).delete()
    assert registry.outbox_drain(batch=2) == {"t.log.gaps": 4}
    gaps = OutboxCursor.objects.get(consumer="t.log.gaps").gaps
    assert sorted(gaps) == sorted([str(rows[1].pk), str(rows[3].pk)])
    for row in (rows[3], rows[1]):
        kept[row.pk].save(force_insert=True)
    assert registry.outbox_drain(batch=2) == {"t.log.gaps": 2}
    assert seen == [rows[0].pk, rows[2].pk, rows[4].pk, rows[5].pk, rows[1].pk, rows[3].pk]


@pytest.mark.django_db
def test_only_the_newest_gaps_are_kept(registry, monkeypatch):
    monkeypatch.setattr(outbox, "MAX_GAPS", 3)
    registry.register_consumer("t.many", topics=["test.fact"], handle=lambda e: None)
    rows = _events(*range(8))
    for row in rows[1:7]:
        _missing(row.pk)
    registry.outbox_drain()
    assert sorted(int(pk) for pk in OutboxCursor.objects.get(consumer="t.many").gaps) == [
        r.pk for r in rows[4:7]
    ]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL profile only: MEADOW_TEST_POSTGRES")
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_after_a_drain_read_past_its_id_is_handled_once_on_postgresql(registry):
    """A inserts (id 10), B inserts (id 11) and commits, a drain reads 11; A commits; the next drain hands over
    A's event exactly once. Two real connections: A's transaction runs in a thread of its own."""
    seen: list[int] = []
    registry.register_consumer("t.late", topics=["test.fact"], handle=lambda e: seen.append(e.payload["n"]))
    _start_before("t.late", _events(0, topic="test.before")[0])
    inserted = threading.Event()
    commit = threading.Event()
    errors: list[BaseException] = []

    def writer_a():
        try:
            with transaction.atomic():
                OutboxEvent.objects.create(topic="test.fact", payload={"n": 1})
                inserted.set()
                assert commit.wait(10)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            inserted.set()
        finally:
            connections.close_all()

    a = threading.Thread(target=writer_a)
    a.start()
    assert inserted.wait(10)
    b = OutboxEvent.objects.create(topic="test.fact", payload={"n": 2})  # B: autocommit, a higher id
    assert registry.outbox_drain() == {"t.late": 1}
    assert seen == [2]
    assert OutboxCursor.objects.get(consumer="t.late").position == b.pk
    commit.set()
    a.join(10)
    assert not errors and not a.is_alive()
    assert registry.outbox_drain() == {"t.late": 1}
    assert seen == [2, 1]
    assert registry.outbox_drain() == {"t.late": 0}
    assert seen == [2, 1]
    assert OutboxCursor.objects.get(consumer="t.late").gaps == {}

"""A like is what people do most: the request writes one row and moves one counter; the event, the note's
score and the author's total follow from the like row after the commit (the likes log's consumer), exactly
once, and an unlike undoes only what was recorded."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from meadow.core.outbox import outbox_drain
from meadow.engagement import services
from meadow.engagement.models import EngagementEvent, Like, NoteStats
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_a_like_request_writes_one_row_and_one_counter_within_a_budget(
    api_for, django_assert_max_num_queries
):
    user, note = UserFactory(), NoteFactory()
    api = api_for(user)
    api.get("/api/v1/me")  # the token's last use is stamped (at most once a minute)
    with CaptureQueriesContext(connection) as ctx:
        r = api.post(f"/api/v1/notes/{note.pk}/like?source=discover")
    assert r.status_code == 200, r.content
    assert r.json()["liked"] is True and r.json()["counts"]["likes"] == 1
    writes = _writes(ctx)
    assert len(writes) == 2, writes
    assert "engagement_like" in writes[0] and "ON CONFLICT" in writes[0].upper()
    assert "notes_note" in writes[1] and "like_count" in writes[1]
    # Before: 22 statements (the note's whole shape, two savepoints, the event, stats and the author's
    # total). Now: the token, the note with the reader's liked/saved, held, block, the insert and the update
    # (and, inside the test's transaction, the savepoint and its release that are BEGIN/COMMIT when served).
    other = NoteFactory()
    with django_assert_max_num_queries(8):
        r = api.post(f"/api/v1/notes/{other.pk}/like")
    assert r.status_code == 200
    with CaptureQueriesContext(connection) as ctx:  # liking again: the insert finds the like, nothing moves
        assert api.post(f"/api/v1/notes/{note.pk}/like").json()["counts"]["likes"] == 1
    assert [("engagement_like" in sql, "like_count" in sql) for sql in _writes(ctx)] == [(True, False)]


def test_the_event_score_and_author_total_follow_after_the_commit(
    api_for, django_capture_on_commit_callbacks
):
    user, note = UserFactory(), NoteFactory()
    with django_capture_on_commit_callbacks(execute=True):
        api_for(user).post(f"/api/v1/notes/{note.pk}/like?source=following")
    event = EngagementEvent.objects.get(note=note, kind="like")
    assert (event.user_id, event.source, event.weight) == (user.pk, "following", 1.0)
    assert NoteStats.objects.get(note=note).signal_score == 1
    note.author.refresh_from_db()
    assert note.author.likes_saves_received_count == 1
    outbox_drain(consumer=LIKES_CONSUMER)  # redelivery records nothing twice
    assert EngagementEvent.objects.filter(note=note).count() == 1


def test_an_unlike_undoes_only_what_was_recorded():
    note = NoteFactory()
    early, late = UserFactory(), UserFactory()
    services.note_like(user=early, note=note)
    outbox_drain(consumer=LIKES_CONSUMER)  # early's like was recorded
    services.note_like(user=late, note=note)  # late's not yet
    assert services.note_unlike(user=early, note=note) and services.note_unlike(user=late, note=note)
    outbox_drain(consumer=LIKES_CONSUMER)
    note.refresh_from_db()
    note.author.refresh_from_db()
    kinds = sorted(EngagementEvent.objects.filter(note=note).values_list("kind", flat=True))
    assert kinds == ["like", "unlike"]  # early's pair; late's like left no trace
    assert note.like_count == 0 == Like.objects.filter(note=note).count()
    assert note.author.likes_saves_received_count == 0
    score = EngagementEvent.objects.filter(note=note).aggregate(s=Sum("weight"))["s"]
    assert NoteStats.objects.get(note=note).signal_score == 0 == score

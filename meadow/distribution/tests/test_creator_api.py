"""The creator centre's API: who may read (anonymous 401, another user 404, the owner and staff 200 — and a
refused read changes nothing), the shapes, ``days`` validation, and query counts that do not grow with the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meadow.core.outbox import outbox_drain
from meadow.engagement import services as engagement
from meadow.engagement.models import EngagementEvent, NoteStats
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(user):
    note = NoteFactory(author=user, title="Nasi lemak 椰浆饭")
    reader = UserFactory()
    engagement.impressions_record(viewer=reader, note_ids=[note.pk], source="discover")
    engagement.note_read(viewer=reader, note=note, source="discover")
    engagement.note_like(user=reader, note=note, source="discover")
    outbox_drain(consumer=LIKES_CONSUMER)  # a like's event follows its commit
    return note


def _state(note) -> tuple:
    stats = NoteStats.objects.get(note=note)
    return EngagementEvent.objects.count(), stats.impression_count, stats.read_count, stats.signal_score


def _count_queries(client, url: str) -> int:
    client.get(url)  # warm up: a token's first use of the minute is recorded once, whatever the page
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


# --- authorization matrices --------------------------------------------------------------------------------------
def test_note_stats_authorization_matrix(anon, api_for, user, other_user, staff_user, note):
    url = f"/api/v1/creator/notes/{note.pk}/stats"
    before = _state(note)
    r = anon.get(url)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = api_for(other_user).get(url)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert _state(note) == before  # a refused read records nothing (no impression, no read)
    for caller in (user, staff_user):
        r = api_for(caller).get(url)
        assert r.status_code == 200, r.content
        assert r.json()["note"]["id"] == note.pk and r.json()["totals"]["likes"] == 1
    assert api_for(user).get("/api/v1/creator/notes/999999/stats").status_code == 404


def test_account_stats_authorization_matrix(anon, api_for, user, other_user, staff_user, note):
    assert anon.get("/api/v1/creator/stats").status_code == 401
    mine = api_for(user).get("/api/v1/creator/stats")
    assert mine.status_code == 200 and mine.json()["account"]["handle"] == user.handle
    assert mine.json()["totals"]["impressions"] == 1
    # another user cannot name the account: 404, and their own numbers are not someone else's
    r = api_for(other_user).get(f"/api/v1/creator/stats?account={user.handle}")
    assert r.status_code == 404
    theirs = api_for(other_user).get("/api/v1/creator/stats").json()
    assert theirs["account"]["handle"] == other_user.handle and theirs["totals"]["impressions"] == 0
    staff = api_for(staff_user).get(f"/api/v1/creator/stats?account={user.handle}")
    assert staff.status_code == 200 and staff.json()["totals"]["likes"] == 1


def test_notes_list_authorization_matrix(anon, api_for, user, other_user, staff_user, note):
    assert anon.get("/api/v1/creator/notes").status_code == 401
    assert api_for(other_user).get(f"/api/v1/creator/notes?account={user.handle}").status_code == 404
    assert api_for(other_user).get("/api/v1/creator/notes").json()["items"] == []
    for caller, query in ((user, ""), (staff_user, f"?account={user.handle}")):
        r = api_for(caller).get(f"/api/v1/creator/notes{query}")
        assert r.status_code == 200
        assert [(i["note"]["id"], i["likes"], i["reads"]) for i in r.json()["items"]] == [(note.pk, 1, 1)]


def test_session_caller_reads_too(client, user, note):
    client.force_login(user)
    assert client.get(f"/api/v1/creator/notes/{note.pk}/stats?days=7").status_code == 200


# --- shapes and validation ---------------------------------------------------------------------------------------
def test_note_stats_shape(api_for, user, note):
    body = api_for(user).get(f"/api/v1/creator/notes/{note.pk}/stats?days=7").json()
    assert body["period"]["days"] == 7 and len(body["daily"]) == 7
    assert body["daily"][-1]["date"] == timezone.now().date().isoformat()
    assert body["daily"][-1]["impressions"] == 1 and body["daily"][-1]["reads"] == 1
    assert body["totals"]["signal_score"] == 1 and body["totals"]["score_per_impression"] == 1
    assert body["totals"]["ctr"] == 1 and body["all_time"]["likes"] == 1
    discover = next(s for s in body["sources"] if s["source"] == "discover")
    assert discover == {**discover, "impressions": 1, "reads": 1, "interactions": 1, "label": "Discover"}
    assert body["pool"] == {"level": None, "status": "none", "history": []}


def test_note_stats_carry_the_pool_history(api_for, user, note):
    from meadow.distribution.tests.test_creator_stats import _climb

    _climb(note, stop=True)
    pool = api_for(user).get(f"/api/v1/creator/notes/{note.pk}/stats").json()["pool"]
    assert (pool["level"], pool["status"]) == (2, "stopped")
    assert [(s["from_level"], s["to_level"], s["outcome"]) for s in pool["history"]] == [
        (None, 1, "enter"),
        (1, 2, "promote"),
        (2, 2, "stop"),
    ]
    listed = api_for(user).get("/api/v1/creator/notes").json()["items"][0]
    assert (listed["pool_level"], listed["pool_status"]) == (2, "stopped")


@pytest.mark.parametrize("days", ["8", "abc", "-30"])
def test_a_bad_period_is_a_400(api_for, user, note, days):
    r = api_for(user).get(f"/api/v1/creator/notes/{note.pk}/stats?days={days}")
    assert r.status_code == 400 and r.json()["error"]["field"] == "days"
    assert api_for(user).get(f"/api/v1/creator/stats?days={days}").status_code == 400


def test_a_bad_cursor_is_a_400(api_for, user, note):
    r = api_for(user).get("/api/v1/creator/notes?cursor=!!nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"


# --- query budgets -----------------------------------------------------------------------------------------------
def _spread_events(note, *, days: int, per_day: int) -> None:
    now = timezone.now()
    rows = []
    for d in range(days):
        for i in range(per_day):
            kind = ("impression", "read", "like", "save", "comment")[i % 5]
            source = ("discover", "following", "search", "share", "profile")[(i + d) % 5]
            rows.append(
                EngagementEvent(
                    note=note, kind=kind, source=source, weight=1.0, created_at=now - timedelta(days=d)
                )
            )
    EngagementEvent.objects.bulk_create(rows)


def test_note_stats_queries_do_not_grow_with_days_or_events(api_for, user):
    quiet, busy = NoteFactory(author=user), NoteFactory(author=user)
    _spread_events(busy, days=90, per_day=12)
    api = api_for(user)
    small = _count_queries(api, f"/api/v1/creator/notes/{quiet.pk}/stats?days=7")
    large = _count_queries(api, f"/api/v1/creator/notes/{busy.pk}/stats?days=90")
    assert small == large
    # token, the note with its stats, its images, one aggregate, pool level, pool history, what is not counted
    assert large == 7


def test_account_stats_queries_do_not_grow_with_notes(api_for, user, other_user):
    NoteFactory(author=other_user)
    for _ in range(6):
        _spread_events(NoteFactory(author=user), days=30, per_day=5)
    for follower in [UserFactory() for _ in range(4)]:
        from meadow.accounts.models import Follow

        Follow.objects.create(follower=follower, followee=user)
    small = _count_queries(api_for(other_user), "/api/v1/creator/stats?days=7")
    large = _count_queries(api_for(user), "/api/v1/creator/stats?days=90")
    assert small == large == 4  # token, the events by day, the follows by day, the published-note count


def test_notes_list_queries_do_not_grow_with_page_size(api_for, user):
    for _ in range(12):
        _spread_events(NoteFactory(author=user), days=2, per_day=3)
    api = api_for(user)
    two = _count_queries(api, "/api/v1/creator/notes?limit=2")
    twelve = _count_queries(api, "/api/v1/creator/notes?limit=12")
    assert two == twelve == 3  # token, the notes with stats and pool joined, their images

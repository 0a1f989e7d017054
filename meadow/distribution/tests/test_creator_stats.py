"""The creator centre's numbers: periods, daily aggregation (undo events subtract, other notes and older events
stay out), traffic sources, signal score = sum of weights, follower growth, the notes list — against events
written by the real engagement services and against events placed on chosen days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from meadow.accounts.models import Follow
from meadow.core.errors import ValidationFailed
from meadow.core.outbox import outbox_drain
from meadow.distribution import creator
from meadow.engagement import services as engagement
from meadow.engagement.models import EngagementEvent
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def _event(note, kind, *, days_ago=0, source="direct", weight=0.0, user=None):
    return EngagementEvent.objects.create(
        note=note,
        kind=kind,
        source=source,
        weight=weight,
        user=user,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def _day(stats, days_ago):
    wanted = timezone.now().astimezone(UTC).date() - timedelta(days=days_ago)
    return next(row for row in stats["daily"] if row["date"] == wanted)


# --- periods ------------------------------------------------------------------------------------------------------
def test_period_is_the_last_n_utc_days_today_included():
    period = creator.period_for("7", now=NOW)
    assert (period.days, period.start, period.end) == (7, date(2026, 3, 4), date(2026, 3, 10))
    assert period.since == datetime(2026, 3, 4, tzinfo=UTC)
    assert len(period.dates()) == 7 and period.dates()[-1] == date(2026, 3, 10)
    assert creator.period_for(None, now=NOW).days == 30
    assert creator.period_for(90, now=NOW).start == date(2025, 12, 11)


@pytest.mark.parametrize("bad", ["8", "abc", 0, -7, "30.5", 365])
def test_a_period_other_than_7_30_90_is_refused(bad):
    with pytest.raises(ValidationFailed) as caught:
        creator.period_for(bad)
    assert caught.value.code == "bad_period" and caught.value.field == "days"


# --- a note -------------------------------------------------------------------------------------------------------
def test_note_numbers_follow_the_real_engagement_services(user):
    author = UserFactory()
    note = NoteFactory(author=author)
    readers = [UserFactory() for _ in range(4)]
    engagement.impressions_record(viewer=readers[0], note_ids=[note.pk], source="discover")
    engagement.impressions_record(viewer=readers[1], note_ids=[note.pk], source="discover")
    engagement.impressions_record(viewer=readers[2], note_ids=[note.pk], source="following")
    engagement.impressions_record(viewer=readers[3], note_ids=[note.pk], source="search")
    engagement.note_read(viewer=readers[0], note=note, source="discover")
    engagement.note_read(viewer=readers[1], note=note, source="discover")
    engagement.note_read(viewer=readers[2], note=note, source="following")
    engagement.note_like(user=readers[0], note=note, source="discover")
    engagement.note_like(user=readers[1], note=note, source="discover")
    outbox_drain(consumer=LIKES_CONSUMER)  # a like's event follows its commit
    engagement.note_unlike(user=readers[1], note=note, source="discover")  # net one like
    engagement.note_save(user=readers[0], note=note, source="discover")
    engagement.comment_create(
        author=readers[2], note=note, body="好吃! Going this weekend", source="following"
    )
    engagement.note_share(user=readers[0], note=note, source="discover")
    engagement.note_follow_author(user=readers[2], note=note, source="following")
    engagement.note_not_interested(user=readers[3], note=note, source="search")

    note = creator.creator_note_get(viewer=author, note_id=note.pk)
    stats = creator.creator_note_stats(note=note, period=creator.period_for(7))
    totals = stats["totals"]
    assert {k: totals[k] for k in creator.METRICS} == {
        "impressions": 4,
        "reads": 3,
        "likes": 1,
        "saves": 1,
        "comments": 1,
        "shares": 1,
        "completions": 0,
        "follows": 1,
        "not_interested": 1,
    }
    # like 1 + like 1 - unlike 1 + save 1 + comment 4 + share 1 + follow 8 - not interested 4 = 11
    assert totals["signal_score"] == pytest.approx(11.0)
    assert totals["score_per_impression"] == pytest.approx(11 / 4)
    assert totals["ctr"] == pytest.approx(0.75)
    assert totals["interaction_rate"] == pytest.approx(4 / 4)
    # the running totals kept with the events agree with the period's aggregation
    assert {k: stats["all_time"][k] for k in creator.METRICS} == {k: totals[k] for k in creator.METRICS}
    assert stats["all_time"]["signal_score"] == pytest.approx(11.0)
    # everything happened today
    assert _day(stats, 0)["impressions"] == 4 and _day(stats, 1)["impressions"] == 0
    sources = {s["source"]: s for s in stats["sources"]}
    assert (sources["discover"]["impressions"], sources["discover"]["reads"]) == (2, 2)
    assert sources["discover"]["interactions"] == 3  # like, save, share (the withdrawn like cancels)
    assert (sources["following"]["reads"], sources["following"]["interactions"]) == (1, 1)
    assert sources["following"]["signal_score"] == pytest.approx(12.0)  # comment 4 + follow 8
    assert sources["search"]["signal_score"] == pytest.approx(-4.0)
    assert sources["discover"]["share_of_reads"] == pytest.approx(2 / 3)
    assert set(sources) == {"discover", "following", "search", "share", "profile", "topic", "direct"}


def test_note_days_are_filled_and_only_this_notes_recent_events_count():
    note = NoteFactory()
    other = NoteFactory(author=note.author)
    _event(note, "impression", days_ago=0)
    _event(note, "impression", days_ago=2)
    _event(note, "impression", days_ago=2)
    _event(note, "read", days_ago=2, source="profile")
    _event(note, "like", days_ago=6, weight=1)
    _event(note, "unlike", days_ago=5, weight=-1)
    _event(note, "completion", days_ago=3, weight=2)
    _event(note, "like", days_ago=7, weight=1)  # before the 7-day period
    _event(other, "impression", days_ago=0)  # another note
    stats = creator.creator_note_stats(note=note, period=creator.period_for(7))
    assert len(stats["daily"]) == 7
    assert [row["impressions"] for row in stats["daily"]] == [0, 0, 0, 0, 2, 0, 1]
    assert _day(stats, 6)["likes"] == 1 and _day(stats, 5)["likes"] == -1
    assert _day(stats, 3)["completions"] == 1 and _day(stats, 3)["signal_score"] == 2
    assert _day(stats, 2)["ctr"] == pytest.approx(0.5) and _day(stats, 1)["ctr"] is None
    assert stats["totals"]["likes"] == 0 and stats["totals"]["signal_score"] == pytest.approx(2)
    # the 30-day period sees the older like too
    assert creator.creator_note_stats(note=note, period=creator.period_for(30))["totals"]["likes"] == 1


def test_without_impressions_the_ratios_are_empty_not_zero_division():
    note = NoteFactory()
    _event(note, "like", weight=1)
    totals = creator.creator_note_stats(note=note, period=creator.period_for(7))["totals"]
    assert totals["score_per_impression"] is None and totals["ctr"] is None
    assert creator.creator_note_stats(note=note, period=creator.period_for(7))["all_time"]["impressions"] == 0


def _climb(note, *, stop: bool = False) -> None:
    """A note that entered pool 1 and was promoted to pool 2 (and, with ``stop``, stopped there)."""
    from meadow.distribution.models import NotePool, PoolTransition

    NotePool.objects.create(note=note, level=2, status="stopped" if stop else "active")
    PoolTransition.objects.create(note=note, from_level=None, to_level=1, outcome="enter")
    PoolTransition.objects.create(
        note=note,
        from_level=1,
        to_level=2,
        outcome="promote",
        impressions=300,
        score_per_impression=0.4,
        ctr=0.12,
    )
    if stop:
        PoolTransition.objects.create(
            note=note, from_level=2, to_level=2, outcome="stop", impressions=3000, score_per_impression=0.05
        )


def test_pool_level_status_and_history():
    fresh, climbing, stopped = NoteFactory(), NoteFactory(), NoteFactory()
    _climb(climbing)
    _climb(stopped, stop=True)
    assert creator.note_pool(note_id=fresh.pk) == {"level": None, "status": "none", "history": []}
    pool = creator.note_pool(note_id=climbing.pk)
    assert (pool["level"], pool["status"]) == (2, "active")
    assert [step["outcome"] for step in pool["history"]] == ["enter", "promote"]
    assert pool["history"][1]["ctr"] == pytest.approx(0.12)
    assert creator.note_pool(note_id=stopped.pk)["status"] == "stopped"


# --- an account ---------------------------------------------------------------------------------------------------
def test_account_sums_every_note_and_tracks_follower_growth():
    author = UserFactory()
    first, second = NoteFactory(author=author), NoteFactory(author=author)
    stranger_note = NoteFactory()
    _event(first, "impression", days_ago=1)
    _event(second, "impression", days_ago=1)
    _event(second, "read", days_ago=1, source="search")
    _event(second, "save", days_ago=0, weight=1)
    _event(stranger_note, "impression", days_ago=1)
    followers = [UserFactory() for _ in range(5)]
    for days_ago, follower in zip([0, 0, 3, 10, 40], followers, strict=True):
        Follow.objects.create(
            follower=follower, followee=author, created_at=timezone.now() - timedelta(days=days_ago)
        )
    Follow.objects.create(follower=UserFactory(), followee=author, status=Follow.Status.PENDING)
    author.followers_count = 5
    author.save(update_fields=["followers_count"])

    stats = creator.creator_account_stats(account=author, period=creator.period_for(7))
    assert stats["totals"]["impressions"] == 2 and stats["totals"]["reads"] == 1
    assert stats["totals"]["saves"] == 1 and stats["totals"]["signal_score"] == pytest.approx(1)
    assert _day(stats, 1)["impressions"] == 2
    assert stats["published_notes"] == 2
    assert stats["followers"] == {"total": 5, "new_in_period": 3}
    assert [row["new_followers"] for row in stats["daily"]] == [0, 0, 0, 1, 0, 0, 2]
    assert [row["followers"] for row in stats["daily"]] == [2, 2, 2, 3, 3, 3, 5]
    sources = {s["source"]: s for s in stats["sources"]}
    assert sources["search"]["reads"] == 1
    header, rows = creator.stats_rows(stats["daily"], account=True)
    assert header[0] == "date" and header[-2:] == ["new_followers", "followers"]
    assert len(rows) == 7 and rows[-1][header.index("new_followers")] == 2
    assert rows[-1][header.index("ctr")] == ""  # no impressions today: no ratio


def test_notes_list_has_running_totals_newest_first_without_drafts_or_deleted():
    author = UserFactory()
    old = NoteFactory(author=author)
    new = NoteFactory(author=author)
    NoteFactory(author=author, status=Note.Status.DRAFT, published_at=None)
    NoteFactory(author=author, status=Note.Status.REMOVED, deleted_at=timezone.now())
    engagement.impressions_record(viewer=None, note_ids=[old.pk, new.pk])
    engagement.note_like(user=UserFactory(), note=old)
    outbox_drain(consumer=LIKES_CONSUMER)  # a like's event follows its commit
    _climb(old)
    page = creator.creator_notes(account=author)
    assert [row["note"].pk for row in page["items"]] == [new.pk, old.pk]
    assert [(r["pool_level"], r["pool_status"]) for r in page["items"]] == [(None, "none"), (2, "active")]
    assert page["items"][1]["likes"] == 1 and page["items"][1]["impressions"] == 1
    assert page["items"][1]["score_per_impression"] == pytest.approx(1.0)
    assert page["next_cursor"] is None
    first = creator.creator_notes(account=author, limit=1)
    assert [r["note"].pk for r in first["items"]] == [new.pk] and first["next_cursor"]
    rest = creator.creator_notes(account=author, limit=1, cursor=first["next_cursor"])
    assert [r["note"].pk for r in rest["items"]] == [old.pk]


# --- who may read ---------------------------------------------------------------------------------------------------
def test_only_the_author_and_staff_get_a_note(user, other_user, staff_user):
    from django.http import Http404

    note = NoteFactory(author=user)
    assert creator.creator_note_get(viewer=user, note_id=note.pk) == note
    assert creator.creator_note_get(viewer=staff_user, note_id=note.pk) == note
    for viewer in (other_user, None):
        with pytest.raises(Http404):
            creator.creator_note_get(viewer=viewer, note_id=note.pk)
    Note.objects.filter(pk=note.pk).update(status=Note.Status.REMOVED, deleted_at=timezone.now())
    with pytest.raises(Http404):
        creator.creator_note_get(viewer=user, note_id=note.pk)


def test_only_staff_may_name_another_account(user, other_user, staff_user):
    from django.http import Http404

    assert creator.creator_account_get(viewer=user, handle=None) == user
    assert creator.creator_account_get(viewer=user, handle=f"@{user.handle}") == user
    assert creator.creator_account_get(viewer=staff_user, handle=user.handle) == user
    for viewer, handle in ((other_user, user.handle), (staff_user, "nobody_here"), (None, None)):
        with pytest.raises(Http404):
            creator.creator_account_get(viewer=viewer, handle=handle)


# --- own views are not reach (issue #23, finding 8) ---------------------------------------------------------------
def test_the_authors_own_impressions_and_reads_are_not_reach():
    author = UserFactory()
    note = NoteFactory(author=author)
    reader = UserFactory()
    engagement.impressions_record(viewer=reader, note_ids=[note.pk], source="discover")
    engagement.note_read(viewer=reader, note=note, source="discover")
    # the author scrolls past their own card twice and opens their note twice
    assert engagement.impressions_record(viewer=author, note_ids=[note.pk], source="discover") == 0
    engagement.impressions_record(viewer=author, note_ids=[note.pk], source="profile")
    engagement.note_read(viewer=author, note=note, source="direct")
    engagement.note_read(viewer=author, note=note, source="profile")
    # an own view recorded before the fix stays out of the numbers as well
    _event(note, "read", user=author)
    note.refresh_from_db()
    stats = creator.creator_note_stats(note=note, period=creator.period_for(7), with_pool=False)
    assert (stats["totals"]["impressions"], stats["totals"]["reads"]) == (1, 1)
    assert stats["totals"]["ctr"] == 1.0
    assert (stats["all_time"]["impressions"], stats["all_time"]["reads"]) == (1, 1)
    account = creator.creator_account_stats(account=author, period=creator.period_for(7))
    assert (account["totals"]["impressions"], account["totals"]["reads"]) == (1, 1)

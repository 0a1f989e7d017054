"""Following, precomputed (distribution/following.py): fan-out on write into active readers' feeds only, rebuilt
on return, capped with older pages read from the notes, and every privacy rule acting on the very next page
(filtered on read) — then cleaned up by a task. Runs against the profile's store: the tables on SQLite, Redis
sorted sets with MEADOW_TEST_REDIS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from meadow.accounts.models import Follow
from meadow.accounts.services import block_create, follow_create, follow_delete
from meadow.distribution import following
from meadow.distribution.models import FollowingFeed
from meadow.enforcement.models import Sanction
from meadow.notes.models import Note
from meadow.notes.services import note_delete, note_publish
from meadow.notes.tests.factories import NoteFactory, image_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _ids(page):
    return [item["id"] for item in page["items"]]


def _following(client, **params):
    r = client.get("/api/v1/feed/following", params)
    assert r.status_code == 200, r.content
    return r.json()


def _stored(reader) -> list[int]:
    return [n for n, _a in following.feed_store().ids(reader.pk, before=None, n=10_000)]


def _publish(author, captured, **kwargs) -> Note:
    with captured(execute=True):
        return note_publish(
            author=author,
            title="Kopi",
            images=[SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")],
            **kwargs,
        )


def _go_inactive(reader) -> None:
    """The reader last read Following longer ago than MEADOW_FOLLOWING_ACTIVE_DAYS."""
    store = following.feed_store()
    if isinstance(store, following.RedisStore):
        store._client().delete(store._key(reader.pk))  # the key expired
    else:
        FollowingFeed.objects.filter(pk=reader.pk).update(active_at=timezone.now() - timedelta(days=30))


def test_a_published_note_is_pushed_to_active_followers_only(
    api_for, user, django_capture_on_commit_callbacks
):
    author, idle, away = UserFactory(), UserFactory(), UserFactory()
    for reader in (user, idle, away):
        Follow.objects.create(follower=reader, followee=author)
    old = NoteFactory(author=author)
    assert _ids(_following(api_for(user))) == [old.pk]  # the first request builds the feed
    assert _ids(_following(api_for(away))) == [old.pk]
    _go_inactive(away)
    assert following.feed_store().active([user.pk, idle.pk, away.pk]) == [user.pk]

    note = _publish(author, django_capture_on_commit_callbacks)
    assert _stored(user) == [note.pk, old.pk]  # fanned out by the task, not computed on the request
    assert following.feed_store().active([idle.pk, away.pk]) == []  # no feed kept for them
    # They get it rebuilt on return, with the note.
    assert _ids(_following(api_for(idle))) == [note.pk, old.pk]
    assert _ids(_following(api_for(away))) == [note.pk, old.pk]


def test_a_private_note_is_not_pushed_and_an_edit_to_private_takes_it_out(
    api_for, user, django_capture_on_commit_callbacks
):
    author = UserFactory()
    Follow.objects.create(follower=user, followee=author)
    _following(api_for(user))
    _publish(author, django_capture_on_commit_callbacks, visibility=Note.Visibility.PRIVATE)
    fans = _publish(author, django_capture_on_commit_callbacks, visibility=Note.Visibility.FOLLOWERS)
    assert _stored(user) == [fans.pk]
    assert _ids(_following(api_for(user))) == [fans.pk]  # followers-only notes are for followers
    Note.objects.filter(pk=fans.pk).update(visibility=Note.Visibility.PRIVATE)
    assert _ids(_following(api_for(user))) == []  # filtered on read at once
    following.following_fan_out(note_id=fans.pk)  # what the edit's event runs
    assert _stored(user) == []


def test_limits_blocks_unfollows_and_deletions_act_on_the_next_page(
    api_for, user, django_capture_on_commit_callbacks
):
    a, b, c, d = (UserFactory() for _ in range(4))
    for author in (a, b, c, d):
        follow_create(follower=user, followee=author)
    limited, blocked, unfollowed, deleted = (NoteFactory(author=x) for x in (a, b, c, d))
    kept = NoteFactory(author=a)
    client = api_for(user)
    assert set(_ids(_following(client))) == {limited.pk, blocked.pk, unfollowed.pk, deleted.pk, kept.pk}

    Sanction.objects.create(account=a, kind=Sanction.Kind.VISIBILITY_LIMIT, note=limited)
    with django_capture_on_commit_callbacks(execute=True):
        block_create(blocker=b, blocked=user)  # blocked by the author: both ways
        follow_delete(follower=user, followee=c)
        note_delete(note=deleted, user=d)
    assert _ids(_following(client)) == [kept.pk]
    assert deleted.pk not in _stored(user)  # the deletion's task took it out of the feeds


def test_following_someone_merges_their_notes_into_a_live_feed(
    api_for, user, django_capture_on_commit_callbacks
):
    first, later = UserFactory(), UserFactory()
    Follow.objects.create(follower=user, followee=first)
    mine = NoteFactory(author=first)
    theirs = [NoteFactory(author=later) for _ in range(2)]
    assert _ids(_following(api_for(user))) == [mine.pk]
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=user, followee=later)
    assert _ids(_following(api_for(user))) == sorted([mine.pk, *(n.pk for n in theirs)], reverse=True)


def test_the_feed_is_capped_and_older_pages_come_from_the_notes(
    api_for, user, settings, django_capture_on_commit_callbacks
):
    settings.MEADOW_FOLLOWING_CAP = 5
    author = UserFactory()
    Follow.objects.create(follower=user, followee=author)
    notes = [NoteFactory(author=author) for _ in range(8)]
    client = api_for(user)
    seen, cursor = [], None
    while True:
        page = _following(client, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += _ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [n.pk for n in reversed(notes)]  # all of them, newest first, none twice
    assert len(_stored(user)) == 5
    newest = _publish(author, django_capture_on_commit_callbacks)
    assert _stored(user) == [newest.pk, *(n.pk for n in reversed(notes[-4:]))]  # still at the cap
    assert _ids(_following(client, limit=6)) == [newest.pk, *(n.pk for n in reversed(notes[-5:]))]


def test_a_page_is_filled_past_notes_the_filter_drops(api_for, user):
    author = UserFactory()
    Follow.objects.create(follower=user, followee=author)
    notes = [NoteFactory(author=author) for _ in range(20)]
    client = api_for(user)
    _following(client)
    Note.objects.filter(pk__in=[n.pk for n in notes[-15:]]).update(visibility=Note.Visibility.PRIVATE)
    page = _following(client, limit=3)
    assert _ids(page) == [n.pk for n in reversed(notes[2:5])]
    rest = _following(client, limit=3, cursor=page["next_cursor"])
    assert _ids(rest) == [notes[1].pk, notes[0].pk] and rest["next_cursor"] is None


def test_the_home_page_reads_the_same_feed(client, user, django_capture_on_commit_callbacks):
    author = UserFactory()
    Follow.objects.create(follower=user, followee=author)
    note = NoteFactory(author=author)
    client.force_login(user)
    assert f'data-note-id="{note.pk}"' in client.get("/?tab=following").content.decode()
    hidden = _publish(author, django_capture_on_commit_callbacks)
    Sanction.objects.create(account=author, kind=Sanction.Kind.VISIBILITY_LIMIT, note=hidden)
    assert hidden.pk in _stored(user)
    html = client.get("/?tab=following").content.decode()
    assert f'data-note-id="{note.pk}"' in html and f'data-note-id="{hidden.pk}"' not in html


def test_the_following_request_costs_a_fixed_number_of_queries(
    api_for, user, django_assert_max_num_queries, django_assert_num_queries
):
    """The request reads ids from the store and one live query for the cards: the count does not grow with
    the page size, and stays within the budget."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    authors = [UserFactory() for _ in range(5)]
    for author in authors:
        Follow.objects.create(follower=user, followee=author)
    for i in range(30):
        NoteFactory(author=authors[i % 5])
    client = api_for(user)
    _following(client, limit=20)  # builds the feed and warms the cards
    _following(client, limit=5)
    counts = []
    for size in (5, 20):
        with CaptureQueriesContext(connection) as ctx:
            assert len(_following(client, limit=size)["items"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    # auth (token, user), the feed's state and its ids (tables only; Redis: none), the live cards
    budget = 5 if isinstance(following.feed_store(), following.TableStore) else 3
    with django_assert_max_num_queries(budget):
        _following(client, limit=20)

"""Grid selectors: visibility in lists, blocks, and query budgets that do not grow with the page size."""

from __future__ import annotations

import random

import pytest

from meadow.accounts.models import Block, Follow
from meadow.notes import selectors
from meadow.notes.models import Hashtag, Note, NoteCategory
from meadow.notes.tests.factories import NoteFactory
from meadow.web.demo_notes import seed_notes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _decorate(note, tag):
    note.hashtags.add(tag)
    NoteCategory.objects.create(note=note, category_id=1)


@pytest.mark.parametrize("size", [2, 12])
def test_grid_query_budget_is_flat(size, api_for, django_assert_max_num_queries, user):
    tag = Hashtag.objects.create(name="kl", display_name="KL")
    mentioned = UserFactory()
    for _ in range(size):
        note = NoteFactory(author=UserFactory())
        _decorate(note, tag)
        note.mention_links.create(user=mentioned)
    with django_assert_max_num_queries(7):  # notes, images, hashtags, categories, mentions (+ auth)
        page = selectors.notes_latest_public(viewer=user, cursor=None, limit=50)
        assert len(page["items"]) == size
        [(list(n.images.all()), list(n.hashtag_links.all()), n.author.handle) for n in page["items"]]
    with django_assert_max_num_queries(8):
        assert len(selectors.notes_for_hashtag(viewer=user, hashtag=tag)["items"]) == size
    # Through the API as well (token lookup + the page).
    api = api_for(user)
    with django_assert_max_num_queries(10):
        r = api.get("/api/v1/notes?limit=50")
    assert r.status_code == 200 and len(r.json()["items"]) == size


def test_note_detail_query_budget(django_assert_max_num_queries, user):
    note = NoteFactory()
    with django_assert_max_num_queries(8):
        selectors.note_get_for_viewer(viewer=user, note_id=note.pk)


def test_latest_excludes_hidden_and_blocked(user):
    visible = NoteFactory()
    NoteFactory(visibility=Note.Visibility.FOLLOWERS)
    NoteFactory(visibility=Note.Visibility.PRIVATE)
    NoteFactory(status=Note.Status.DRAFT, published_at=None)
    NoteFactory(author=UserFactory(is_private=True))
    NoteFactory(media_state=Note.MediaState.PROCESSING)
    blocked_me = NoteFactory()
    Block.objects.create(blocker=blocked_me.author, blocked=user)
    i_blocked = NoteFactory()
    Block.objects.create(blocker=user, blocked=i_blocked.author)
    assert [n.pk for n in selectors.notes_latest_public(viewer=user)["items"]] == [visible.pk]
    assert {n.pk for n in selectors.notes_latest_public(viewer=None)["items"]} == {
        visible.pk, blocked_me.pk, i_blocked.pk
    }  # fmt: skip


def test_hashtag_grid_respects_follows(user, other_user):
    tag = Hashtag.objects.create(name="t", display_name="t")
    followers_only = NoteFactory(author=other_user, visibility=Note.Visibility.FOLLOWERS)
    public = NoteFactory(author=other_user)
    mine_private = NoteFactory(author=user, visibility=Note.Visibility.PRIVATE)
    for note in (followers_only, public, mine_private):
        note.hashtags.add(tag)
    ids = lambda viewer: [n.pk for n in selectors.notes_for_hashtag(viewer=viewer, hashtag=tag)["items"]]  # noqa: E731
    assert ids(None) == [public.pk]
    assert ids(user) == [mine_private.pk, public.pk]
    Follow.objects.create(follower=user, followee=other_user)
    assert ids(user) == [mine_private.pk, public.pk, followers_only.pk]


def test_profile_grid_and_drafts(user, other_user):
    published = NoteFactory(author=user)
    draft = NoteFactory(author=user, status=Note.Status.DRAFT, published_at=None)
    assert [n.pk for n in selectors.notes_for_profile(viewer=other_user, author=user)["items"]] == [
        published.pk
    ]
    assert [n.pk for n in selectors.notes_drafts(author=user)["items"]] == [draft.pk]
    Block.objects.create(blocker=other_user, blocked=user)
    assert selectors.notes_for_profile(viewer=other_user, author=user)["items"] == []


def test_seed_notes(media_root):
    authors = [UserFactory() for _ in range(3)]
    seen = []
    made = seed_notes(authors=authors, count=60, rng=random.Random(7), progress=seen.append)
    assert made == 60 == Note.objects.count() and seen[-1] == 60
    assert Note.objects.filter(images__isnull=True).count() == 0
    assert NoteCategory.objects.values("note").distinct().count() >= 50
    assert Hashtag.objects.filter(use_count__gt=0).count() > 10
    assert sum(1 for n in Note.objects.all() if any("\u4e00" <= ch <= "\u9fff" for ch in n.title)) > 5
    page = selectors.notes_latest_public(viewer=None, limit=5)
    assert len(page["items"]) == 5 and page["items"][0].images.all()[0].thumb.name.startswith("notes/")
    # every counted comment is a real one, so a note page never says "3 comments" above an empty section
    from django.db.models import Count

    from meadow.engagement.models import Comment

    counted = Note.objects.annotate(rows=Count("comments")).values_list("comment_count", "rows")
    assert all(count == rows for count, rows in counted) and Comment.objects.exists()


def test_purge_keeps_files_shared_with_live_notes(media_root, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    from meadow.notes.services import note_delete

    author = UserFactory()
    seed_notes(authors=[author], count=6, rng=random.Random(1))
    note = Note.objects.first()
    image = note.images.first()
    shared = Note.objects.exclude(pk=note.pk).filter(images__thumb=image.thumb.name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        note_delete(note=note, user=author)
    assert default_storage.exists(image.thumb.name) is shared

"""Discover's cards from the shared card cache and the cached candidate lists: the card is exactly the note
shape, the reader's own state and the counts are live, an edit shows at once, and nothing the enforcement and
block selectors hide is ever shown from a cache — a note limited, held, removed, deleted or made private, an
author banned, blocked or gone private after its card and its candidate lists were cached."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from meadow.accounts.models import Block
from meadow.distribution import services
from meadow.enforcement.models import ReviewItem, Sanction
from meadow.notes import services as note_services
from meadow.notes.models import InterestCategory, Note, NoteCategory
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FEED_FIELDS = ("impression_token", "reasons", "pool_level", "distance_km")


def _note(author=None, **kwargs) -> Note:
    note = NoteFactory(author=author or UserFactory(), **kwargs)
    NoteCategory.objects.create(note=note, category=InterestCategory.objects.get(slug="food"), score=1.0)
    return note


def _discover(client, **params) -> dict:
    r = client.get("/api/v1/feed/discover", params)
    assert r.status_code == 200, r.content
    return r.json()


def _ids(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


@pytest.fixture
def food_reader(user):
    services.interests_pick(user=user, slugs=["food"])
    return user


def test_a_card_is_the_note_shape_whether_cached_or_not(api_for, food_reader):
    notes = [_note(location_name="Ipoh") for _ in range(3)]
    client = api_for(food_reader)
    fresh = _discover(client, limit=20)  # the cards are made and cached
    cached = _discover(client, limit=20)  # a new session: the same cards, from the cache
    assert _ids(fresh) == _ids(cached) and set(_ids(fresh)) == {n.pk for n in notes}
    from meadow.distribution.api import FeedPage  # (after meadow.api, which registers the router)

    FeedPage.model_validate(fresh)  # the documented contract, though the page skips pydantic on the way out
    for page in (fresh, cached):
        for card in page["items"]:
            shape = client.get(f"/api/v1/notes/{card['id']}").json()
            assert {k: v for k, v in card.items() if k not in FEED_FIELDS} == shape
            assert card["distance_km"] is None and card["impression_token"] and card["reasons"]


def test_counts_and_the_readers_own_state_are_live_and_personal(api_for, food_reader, other_user):
    note = _note()
    reader, other = api_for(food_reader), api_for(other_user)
    services.interests_pick(user=other_user, slugs=["food"])
    assert _discover(reader, limit=5)["items"][0]["viewer"] == {"liked": False, "saved": False}
    assert reader.post(f"/api/v1/notes/{note.pk}/like").status_code in (200, 201)
    mine = _discover(reader, limit=5)["items"][0]
    theirs = _discover(other, limit=5)["items"][0]
    assert mine["viewer"]["liked"] is True and mine["counts"]["likes"] == 1
    assert theirs["viewer"]["liked"] is False and theirs["counts"]["likes"] == 1


def test_an_edit_or_a_renamed_author_shows_at_once(api_for, food_reader):
    note = _note()
    client = api_for(food_reader)
    assert _discover(client, limit=5)["items"][0]["title"] == note.title
    note_services.note_update(note=note, editor=note.author, title="Nasi lemak, again")
    note.author.display_name = "Mak Cik Kiah"
    note.author.save()
    card = _discover(client, limit=5)["items"][0]
    assert card["title"] == "Nasi lemak, again"
    assert card["author"]["display_name"] == "Mak Cik Kiah"


def test_an_edited_notes_topics_reach_the_ranker_and_the_reasons_at_once(api_for, food_reader):
    from meadow.distribution.models import InterestProfile

    InterestProfile.objects.filter(pk=food_reader.pk).update(weights={"#laksa": 5.0})
    note = _note()
    client = api_for(food_reader)
    reasons = _discover(client, limit=5)["items"][0]["reasons"]
    assert {"kind": "interest", "detail": "#laksa"} not in reasons
    note_services.note_update(note=note, editor=note.author, body="Penang #laksa at dawn")
    reasons = _discover(client, limit=5)["items"][0]["reasons"]  # a new session: cached candidate lists
    assert {"kind": "interest", "detail": "#laksa"} in reasons


def _hide_limited(note, reader):
    Sanction.objects.create(account=note.author, kind=Sanction.Kind.VISIBILITY_LIMIT, note=note)


def _hide_limited_account(note, reader):
    Sanction.objects.create(account=note.author, kind=Sanction.Kind.VISIBILITY_LIMIT)


def _hide_held(note, reader):
    ReviewItem.objects.create(
        kind=ReviewItem.Kind.HELD, target_type=ContentType.objects.get_for_model(Note), target_id=note.pk
    )


def _hide_removed(note, reader):  # how enforcement takes a note down: a bare UPDATE of its status
    Note.objects.filter(pk=note.pk).update(status=Note.Status.REMOVED)


def _hide_deleted(note, reader):
    note_services.note_delete(note=note, user=note.author)


def _hide_private(note, reader):
    Note.objects.filter(pk=note.pk).update(visibility=Note.Visibility.PRIVATE)


def _hide_banned(note, reader):
    type(note.author).objects.filter(pk=note.author_id).update(is_active=False)


def _hide_private_account(note, reader):
    type(note.author).objects.filter(pk=note.author_id).update(is_private=True)


def _hide_blocked_by_reader(note, reader):
    Block.objects.create(blocker=reader, blocked=note.author)


def _hide_reader_blocked(note, reader):
    Block.objects.create(blocker=note.author, blocked=reader)


def _hide_not_interested(note, reader):
    from meadow.engagement.models import NotInterested

    NotInterested.objects.create(user=reader, note=note, author=note.author)


HIDE = [
    _hide_limited,
    _hide_limited_account,
    _hide_held,
    _hide_removed,
    _hide_deleted,
    _hide_private,
    _hide_banned,
    _hide_private_account,
    _hide_blocked_by_reader,
    _hide_reader_blocked,
    _hide_not_interested,
]


@pytest.mark.parametrize("hide", HIDE, ids=[h.__name__[6:] for h in HIDE])
def test_a_cache_never_shows_what_may_no_longer_be_shown(api_for, food_reader, hide):
    notes = [_note() for _ in range(6)]
    client = api_for(food_reader)
    first = _discover(client, limit=3)  # a session: its ranked list, and the candidate lists, are cached
    assert set(_ids(_discover(client, limit=20))) == {n.pk for n in notes}  # every card is cached too
    target = next(n for n in notes if n.pk not in _ids(first))  # on the session's next page
    hide(target, food_reader)
    rest = _discover(client, cursor=first["next_cursor"], limit=20)  # the same session, from the cache
    assert target.pk not in _ids(rest) and len(_ids(rest)) == 2
    again = _discover(client, limit=20)  # a new session: cached candidate lists and cards
    assert target.pk not in _ids(again) and len(_ids(again)) == 5


def test_the_card_cache_is_per_host(api_for, food_reader):
    _note()
    client = api_for(food_reader)
    here = _discover(client, limit=5)["items"][0]["images"][0]["url"]
    there = client.get("/api/v1/feed/discover", {"limit": 5}, HTTP_HOST="localhost").json()
    assert here.startswith("http://testserver/")
    assert there["items"][0]["images"][0]["url"] == here.replace("//testserver/", "//localhost/")

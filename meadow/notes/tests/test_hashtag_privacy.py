"""Topics of followers-only and only-me notes stay private: counts, topic pages, the topic endpoint, hashtag search,
suggestions while typing and the 5-3-2 help come only from notes any feed may show anyone (published, ready,
public, public active author, not limited or held: ``selectors.notes_public``)."""

from __future__ import annotations

import pytest

from meadow.accounts.models import Follow
from meadow.enforcement.models import Sanction
from meadow.notes.models import Hashtag, Note
from meadow.notes.services import hashtags_recount
from meadow.notes.tasks import hashtags_recount as hashtags_recount_task
from meadow.notes.tests.factories import NoteFactory, jpeg
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def publish(client, *, body: str, visibility: str = "public") -> int:
    r = client.post("/api/v1/notes", {"body": body, "images": [jpeg()], "visibility": visibility})
    assert r.status_code == 201, r.content
    return r.json()["id"]


@pytest.fixture
def tagged(api_for, user, media_root):
    """``user`` publishes one public note with #kopitiam, and #kopitiam plus #secretdiary on a followers-only and
    an only-me note: #secretdiary is on no note everyone may see."""
    client = api_for(user)
    public = publish(client, body="#kopitiam breakfast")
    followers = publish(client, body="#kopitiam #secretdiary for friends", visibility="followers")
    private = publish(client, body="#kopitiam #secretdiary just me", visibility="private")
    return {"client": client, "public": public, "followers": followers, "private": private}


def test_counts_only_notes_everyone_may_see(tagged, anon):
    assert dict(Hashtag.objects.values_list("name", "use_count")) == {"kopitiam": 1, "secretdiary": 0}
    topic = anon.get("/api/v1/hashtags/kopitiam").json()
    assert topic["count"] == 1 and [n["id"] for n in topic["notes"]["items"]] == [tagged["public"]]


def test_a_topic_used_only_privately_does_not_exist_for_others(tagged, anon, api_for, other_user, user):
    for client in (anon, api_for(other_user)):
        assert client.get("/api/v1/hashtags/secretdiary").status_code == 404
        assert client.get("/topics/secretdiary/").status_code == 404
    # a follower sees the followers-only note under its topic, as on the Following tab; the count stays public
    Follow.objects.create(follower=other_user, followee=user)
    topic = api_for(other_user).get("/api/v1/hashtags/secretdiary").json()
    assert topic["count"] == 0 and [n["id"] for n in topic["notes"]["items"]] == [tagged["followers"]]
    own = tagged["client"].get("/api/v1/hashtags/secretdiary").json()  # the author sees their own
    assert {n["id"] for n in own["notes"]["items"]} == {tagged["followers"], tagged["private"]}


def test_topic_page_shows_the_public_count(tagged, client):
    page = client.get("/topics/kopitiam/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 note" in text and "3 notes" not in text


def test_search_and_suggestions_do_not_list_private_topics(tagged, anon):
    found = anon.get("/api/v1/search", {"q": "secretdiary", "type": "hashtags"}).json()
    assert found["items"] == []
    assert anon.get("/api/v1/search/suggest", {"q": "secret"}).json()["hashtags"] == []
    kopi = anon.get("/api/v1/search", {"q": "kopitiam", "type": "hashtags"}).json()["items"]
    assert [(h["name"], h["count"]) for h in kopi] == [("kopitiam", 1)]
    help_ = anon.get("/api/v1/hashtags/suggest", {"text": "kopitiam kopitiam breakfast", "title": "kopitiam"})
    assert help_.status_code == 200
    assert "secretdiary" not in {t.lower() for part in help_.json().values() for t in part}


def test_visibility_edit_delete_and_moderation_keep_counts_right(tagged, anon, user, moderator):
    client = tagged["client"]
    r = client.patch(
        f"/api/v1/notes/{tagged['private']}", {"visibility": "public"}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    assert dict(Hashtag.objects.values_list("name", "use_count")) == {"kopitiam": 2, "secretdiary": 1}
    assert anon.get("/api/v1/hashtags/secretdiary").status_code == 200
    r = client.patch(
        f"/api/v1/notes/{tagged['public']}", {"visibility": "followers"}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    assert Hashtag.objects.get(name="kopitiam").use_count == 1
    assert client.delete(f"/api/v1/notes/{tagged['private']}").status_code == 204
    assert dict(Hashtag.objects.values_list("name", "use_count")) == {"kopitiam": 0, "secretdiary": 0}
    assert anon.get("/api/v1/hashtags/kopitiam").status_code == 404


def test_the_periodic_recount_follows_accounts_and_limits(tagged, anon, user):
    """What changes without a note event — an account turning private, a limit (限流) — is caught by the
    periodic recount (beat, MEADOW_HASHTAG_RECOUNT_SECONDS)."""
    other = UserFactory()
    limited = NoteFactory(author=other)
    limited.hashtags.add(Hashtag.objects.get(name="kopitiam"))
    assert hashtags_recount_task() == 1  # kopitiam: 1 → 2
    assert Hashtag.objects.get(name="kopitiam").use_count == 2
    Sanction.objects.create(account=other, note=limited, kind=Sanction.Kind.VISIBILITY_LIMIT)
    type(user).objects.filter(pk=user.pk).update(is_private=True)
    assert hashtags_recount_task() == 1
    assert Hashtag.objects.get(name="kopitiam").use_count == 0
    assert anon.get("/api/v1/hashtags/kopitiam").status_code == 404
    assert hashtags_recount() == 0  # idempotent


def test_recount_is_exact_for_many_notes_and_states(db):
    tag = Hashtag.objects.create(name="pasar", display_name="pasar", use_count=99)
    states = [
        {},
        {},
        {"visibility": Note.Visibility.FOLLOWERS},
        {"visibility": Note.Visibility.PRIVATE},
        {"status": Note.Status.REMOVED},
        {"status": Note.Status.DRAFT},
        {"media_state": Note.MediaState.PROCESSING},
        {"author": UserFactory(is_active=False)},
    ]
    for state in states:
        NoteFactory(**state).hashtags.add(tag)
    hashtags_recount(hashtag_ids=[tag.pk])
    tag.refresh_from_db()
    assert tag.use_count == 2


@pytest.mark.parametrize("notes", [2, 12])
def test_topic_endpoint_query_budget_does_not_grow_with_the_page(
    notes, anon, django_assert_max_num_queries, db
):
    tag = Hashtag.objects.create(name="budget", display_name="budget")
    for _ in range(notes):
        NoteFactory().hashtags.add(tag)
    hashtags_recount(hashtag_ids=[tag.pk])
    with django_assert_max_num_queries(7):  # topic, categories, the page: notes + relations (not per note)
        r = anon.get("/api/v1/hashtags/budget")
    assert r.status_code == 200 and r.json()["count"] == notes
    with django_assert_max_num_queries(7):
        page = anon.get("/topics/budget/")
    assert page.status_code == 200 and f"{notes} notes" in page.content.decode()
    with django_assert_max_num_queries(4):
        assert anon.get("/api/v1/search/suggest", {"q": "budg"}).json()["hashtags"][0]["count"] == notes

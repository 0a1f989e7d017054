"""Every door to an event tells the person once: follows from a profile, accepted requests, a note page;
a draft's @mentions when it is published; comments are moderated like notes."""

from __future__ import annotations

import pytest

from meadow.accounts.services import follow_create, follow_request_decide
from meadow.engagement.models import Comment
from meadow.notes.models import Note
from meadow.notes.services import note_update
from meadow.notes.tests.factories import NoteFactory
from meadow.notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_follow_from_a_profile_notifies_once(django_capture_on_commit_callbacks):
    follower, creator = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=follower, followee=creator)
        follow_create(follower=follower, followee=creator)  # idempotent: no second notice
    notes = Notification.objects.filter(recipient=creator, kind="follow")
    assert notes.count() == 1 and notes.get().actor == follower


def test_an_accepted_follow_request_notifies_but_a_pending_one_does_not(django_capture_on_commit_callbacks):
    follower, private = UserFactory(), UserFactory(is_private=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert follow_create(follower=follower, followee=private) == "requested"
    assert not Notification.objects.filter(recipient=private, kind="follow").exists()
    with django_capture_on_commit_callbacks(execute=True):
        follow_request_decide(user=private, requester=follower, accept=True)
    assert Notification.objects.filter(recipient=private, kind="follow", actor=follower).count() == 1


def test_a_follow_from_a_note_page_notifies_once(api_for, django_capture_on_commit_callbacks):
    reader, creator = UserFactory(), UserFactory()
    note = NoteFactory(author=creator)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_for(reader).post(f"/api/v1/notes/{note.pk}/follow").status_code == 200
    assert Notification.objects.filter(recipient=creator, kind="follow").count() == 1


def test_a_drafts_mentions_hear_of_it_when_it_is_published(django_capture_on_commit_callbacks):
    author, friend = UserFactory(), UserFactory(handle="friend.kl")
    draft = NoteFactory(author=author, status=Note.Status.DRAFT, published_at=None, body="with @friend.kl")
    from meadow.notes.models import NoteMention

    NoteMention.objects.create(note=draft, user=friend)
    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=draft, editor=author, publish=True)
    assert Notification.objects.filter(recipient=friend, kind="mention").count() == 1


def test_a_comment_with_a_redirect_is_refused_with_its_findings(api_for):
    note = NoteFactory()
    response = api_for(UserFactory()).post(
        f"/api/v1/notes/{note.pk}/comments",
        {"body": "想要的加我薇信 lily1998"},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "moderation_blocked"
    assert any(hit["category"] == "redirect" for hit in body["moderation"]["hits"])
    assert not Comment.objects.filter(note=note).exists()
    note.refresh_from_db()
    assert note.comment_count == 0

"""The notes app tells the apps above it what happened through the outbox (meadow.notes.events): search,
distribution, notifications and moderation consume it after the commit, and a redelivered event does nothing
twice."""

from __future__ import annotations

import pytest

from meadow.core import outbox
from meadow.core.models import OutboxEvent
from meadow.distribution.models import NotePool
from meadow.notes.events import NOTE_CREATED, NOTE_DELETED, NOTE_UPDATED
from meadow.notes.models import Note
from meadow.notes.services import note_delete, note_publish, note_update
from meadow.notes.tests.factories import jpeg
from meadow.notifications.models import Notification
from meadow.search.models import NoteSearchDoc
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _events() -> list[tuple[str, dict]]:
    return list(OutboxEvent.objects.order_by("pk").values_list("topic", "payload"))


def test_a_note_lifecycle_is_recorded_and_consumed_once(media_root, django_capture_on_commit_callbacks):
    author, friend = UserFactory(), UserFactory(handle="friend.kl")
    with django_capture_on_commit_callbacks(execute=True):
        draft = note_publish(author=author, title="Draft", body="hi @friend.kl", images=[jpeg()], draft=True)
    assert _events() == [(NOTE_CREATED, {"note_id": draft.pk, "published": False})]
    assert NoteSearchDoc.objects.filter(note_id=draft.pk).count() == 0  # a draft is not searchable
    assert not NotePool.objects.filter(note_id=draft.pk).exists()
    assert not Notification.objects.filter(recipient=friend, kind="mention").exists()

    with django_capture_on_commit_callbacks(execute=True):
        note_update(note=draft, editor=author, publish=True)
    assert _events()[-1] == (
        NOTE_UPDATED,
        {"note_id": draft.pk, "went_public": True, "published": True, "text_changed": False},
    )
    assert NoteSearchDoc.objects.filter(note_id=draft.pk).count() == 1
    assert NotePool.objects.filter(note_id=draft.pk).exists()  # pool 1
    assert Notification.objects.filter(recipient=friend, kind="mention").count() == 1

    # Redelivery (beat's run, a retried task) handles nothing again.
    assert outbox.outbox_drain() == dict.fromkeys(outbox.consumers(), 0)
    assert Notification.objects.filter(recipient=friend, kind="mention").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        note_delete(note=Note.objects.get(pk=draft.pk), user=author)
    assert _events()[-1] == (NOTE_DELETED, {"note_id": draft.pk})
    assert NoteSearchDoc.objects.filter(note_id=draft.pk).count() == 0

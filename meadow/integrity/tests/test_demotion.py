"""A note promoted to the next traffic pool on engagement the scan later holds (fake engagement) is judged
again when it is held: demoted when the level it was promoted from no longer qualifies without the held signals,
kept (with its base numbers net of them) when it still does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meadow.accounts.models import User
from meadow.core.outbox import outbox_drain
from meadow.distribution import services as pools
from meadow.distribution.conf import pool_sizes
from meadow.distribution.models import NotePool, PoolTransition
from meadow.distribution.selectors import note_pool_history, note_pool_level
from meadow.engagement import services as engagement
from meadow.engagement.services import LIKES_CONSUMER
from meadow.integrity import services
from meadow.integrity.models import Case
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers():
    return [UserFactory() for _ in range(50)]  # the ladder scales to the readers: pool 1 wants 3 impressions


def _engage(note: Note, people: list[User]) -> None:
    for person in people:
        engagement.impressions_record(viewer=person, note_ids=[note.pk], source="discover")
        pools.pools_record_impressions(note_ids=[note.pk])
        engagement.note_read(viewer=person, note=note, source="discover")
        engagement.note_like(user=person, note=note, source="discover")
    outbox_drain(consumer=LIKES_CONSUMER)  # a like's event and score follow its commit (the likes consumer)


def _hold(people: list[User]) -> None:
    cases = [Case.objects.create(account=p, score=9.0, signals=[]) for p in people]
    services._hold(cases=cases, now=timezone.now() + timedelta(seconds=1))  # the scan's hold step


def test_a_note_promoted_on_held_signals_is_demoted(readers):
    assert pool_sizes()[0][0] == 3
    note = NoteFactory()
    pools.pool_enter(note_id=note.pk)
    ring = readers[:3]
    _engage(note, ring)
    assert pools.pools_evaluate_due() == {"promote": 1}
    assert note_pool_level(note_id=note.pk) == 2
    _hold(ring)
    pool = NotePool.objects.get(pk=note.pk)
    assert pool.level == 1 and pool.status == NotePool.Status.ACTIVE
    history = note_pool_history(note_id=note.pk)
    assert [(h["outcome"], h["from_level"], h["to_level"]) for h in history] == [
        ("enter", None, 1),
        ("promote", 1, 2),
        ("demote", 2, 1),
    ]
    assert history[-1]["ctr"] == 0 and history[-1]["interaction_rate"] == 0  # what it had, net of the held
    # it starts pool 1 afresh: it needs new impressions (of real readers) to be promoted again
    assert pool.due_impressions == pool.impressions + pool_sizes()[0][0]
    assert pool.base_score == pytest.approx(0.0) and pool.base_interactions == 0


def test_a_note_that_still_qualifies_keeps_its_level(readers):
    note = NoteFactory()
    pools.pool_enter(note_id=note.pk)
    _engage(note, readers[:3])
    fake = readers[3]
    engagement.note_like(user=fake, note=note, source="discover")  # one bought like, no read
    outbox_drain(consumer=LIKES_CONSUMER)
    assert pools.pools_evaluate_due() == {"promote": 1}
    before = NotePool.objects.get(pk=note.pk)
    _hold([fake])
    pool = NotePool.objects.get(pk=note.pk)
    assert pool.level == 2
    assert not PoolTransition.objects.filter(note=note, outcome="demote").exists()
    # the held like leaves the level's base as it left the note's counts: the level's gain is unchanged
    assert pool.base_interactions == before.base_interactions - 1
    assert pool.base_score < before.base_score


def test_holding_a_note_never_promoted_changes_no_pool(readers):
    note = NoteFactory()
    pools.pool_enter(note_id=note.pk)
    _engage(note, readers[:1])
    _hold(readers[:1])
    pool = NotePool.objects.get(pk=note.pk)
    assert pool.level == 1 and pool.base_score == 0
    assert [h["outcome"] for h in note_pool_history(note_id=note.pk)] == ["enter"]

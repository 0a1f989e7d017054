"""Traffic pools on a simulated population of 50 readers: a strong note climbs several levels, a weak one
stops, a limited one never enters, a banned author's note is removed; the history is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meadow.accounts.models import User
from meadow.core.outbox import outbox_drain
from meadow.distribution import selectors, services
from meadow.distribution.conf import pool_sizes
from meadow.distribution.models import NotePool, PoolTransition
from meadow.enforcement.models import Sanction
from meadow.engagement import services as engagement
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

READERS = 50


@pytest.fixture
def readers():
    return [UserFactory() for _ in range(READERS)]


def _show(
    note: Note, readers: list[User], count: int, *, start: int, read_every: int, like_every: int
) -> int:
    """``count`` readers see the card; every ``read_every``-th opens it, every ``like_every``-th likes it."""
    for i in range(start, start + count):
        reader = readers[i % len(readers)]
        engagement.impressions_record(viewer=reader, note_ids=[note.pk], source="discover")
        services.pools_record_impressions(note_ids=[note.pk])
        if read_every and i % read_every == 0:
            engagement.note_read(viewer=reader, note=note, source="discover")
        if like_every and i % like_every == 0:
            engagement.note_like(user=reader, note=note, source="discover")
            outbox_drain(consumer=LIKES_CONSUMER)  # a like's event follows its commit
    return start + count


def _simulate(
    note: Note, readers: list[User], *, read_every: int, like_every: int, rounds: int = 8
) -> list[str]:
    services.pool_enter(note_id=note.pk)
    outcomes, start = [], 0
    for _ in range(rounds):
        pool = NotePool.objects.get(pk=note.pk)
        if pool.status != NotePool.Status.ACTIVE:
            break
        minimum = pool_sizes()[pool.level - 1][0]
        start = _show(note, readers, minimum, start=start, read_every=read_every, like_every=like_every)
        assert NotePool.objects.get(pk=note.pk).next_evaluation_at <= timezone.now()  # due by impressions
        counts = services.pools_evaluate_due()
        outcomes.extend(counts)
    return outcomes


def test_the_ladder_is_scaled_to_fifty_readers(readers):
    assert [low for low, _ in pool_sizes()] == [3, 5, 7, 11, 18, 25]


def test_a_strong_note_climbs_several_levels(readers):
    note = NoteFactory()
    outcomes = _simulate(note, readers, read_every=2, like_every=3)
    assert outcomes.count("promote") >= 3
    assert selectors.note_pool_level(note_id=note.pk) >= 4
    history = selectors.note_pool_history(note_id=note.pk)
    assert (
        history[0]["outcome"] == "enter" and history[0]["to_level"] == 1 and history[0]["from_level"] is None
    )
    promoted = [h for h in history if h["outcome"] == "promote"]
    assert [h["to_level"] for h in promoted] == list(range(2, 2 + len(promoted)))
    first = promoted[0]
    assert first["impressions"] == 3 and first["ctr"] >= 0.08 and first["interaction_rate"] >= 0.05
    assert first["completion_rate"] is None and first["score_per_impression"] > 0
    assert history == sorted(history, key=lambda h: h["at"])


def test_a_weak_note_stops_in_the_first_pool(readers):
    note = NoteFactory()
    outcomes = _simulate(note, readers, read_every=0, like_every=0)
    assert outcomes == ["stop"]
    pool = NotePool.objects.get(pk=note.pk)
    assert pool.status == NotePool.Status.STOPPED and pool.level == 1
    assert [h["outcome"] for h in selectors.note_pool_history(note_id=note.pk)] == ["enter", "stop"]


def test_a_limited_note_never_enters(readers):
    note = NoteFactory()
    Sanction.objects.create(account=note.author, kind=Sanction.Kind.VISIBILITY_LIMIT, note=note)
    services.pool_enter(note_id=note.pk)
    assert selectors.note_pool_level(note_id=note.pk) is None
    assert NotePool.objects.get(pk=note.pk).status == NotePool.Status.EXCLUDED
    assert [h["outcome"] for h in selectors.note_pool_history(note_id=note.pk)] == ["exclude"]
    _show(note, readers, 5, start=0, read_every=1, like_every=1)
    assert services.pools_evaluate_due() == {}


def test_private_notes_and_drafts_are_not_distributed(readers):
    for note in (NoteFactory(visibility=Note.Visibility.FOLLOWERS), NoteFactory(status=Note.Status.DRAFT)):
        assert services.pool_enter(note_id=note.pk) is None
        assert not NotePool.objects.filter(pk=note.pk).exists()


def test_a_banned_authors_note_and_a_limited_one_are_removed_at_the_next_evaluation(readers):
    banned, limited = NoteFactory(), NoteFactory()
    for note in (banned, limited):
        services.pool_enter(note_id=note.pk)
    User.objects.filter(pk=banned.author_id).update(is_active=False)  # suspended
    Sanction.objects.create(account=limited.author, kind=Sanction.Kind.VISIBILITY_LIMIT)  # the whole account
    later = timezone.now() + timedelta(hours=7)
    assert services.pools_evaluate_due(now=later) == {"exclude": 2}
    for note in (banned, limited):
        assert NotePool.objects.get(pk=note.pk).status == NotePool.Status.EXCLUDED
        assert selectors.note_pool_history(note_id=note.pk)[-1]["outcome"] == "exclude"


def test_publish_is_idempotent_and_evaluation_waits_for_the_window(readers):
    note = NoteFactory()
    services.pool_enter(note_id=note.pk)
    services.pool_enter(note_id=note.pk)
    assert PoolTransition.objects.filter(note=note).count() == 1
    assert services.pools_evaluate_due() == {}  # neither impressions nor the window yet
    later = timezone.now() + timedelta(hours=7)
    assert services.pools_evaluate_due(now=later) == {"hold": 1}  # no data yet: another window
    assert NotePool.objects.get(pk=note.pk).holds == 1


def test_publishing_through_the_service_enters_pool_one(user, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from meadow.notes.services import note_publish
    from meadow.notes.tests.factories import image_bytes

    with django_capture_on_commit_callbacks(execute=True):
        note = note_publish(
            author=user,
            title="Nasi lemak",
            body="Best #nasilemak in KL",
            images=[SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")],
        )
    assert selectors.note_pool_level(note_id=note.pk) == 1


def test_evaluating_a_batch_costs_a_constant_number_of_queries(readers, django_assert_num_queries):
    notes = [NoteFactory() for _ in range(6)]
    for note in notes:
        services.pool_enter(note_id=note.pk)
    later = timezone.now() + timedelta(hours=7)
    services.pools_evaluate_due(now=later, limit=2)  # warm the active-readers cache
    # select due, distributable, snapshots, lock; one UPDATE per note; one INSERT of history; savepoints
    with django_assert_num_queries(4 + 4 + 1 + 2):
        services.pools_evaluate_due(now=later, limit=4)

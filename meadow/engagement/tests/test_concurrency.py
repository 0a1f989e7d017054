"""Counters match events exactly under concurrency: 50 threads like, unlike and save the same note at once
(PostgreSQL, real transactions); on SQLite a sequential version checks the same invariant."""

from __future__ import annotations

import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from meadow.accounts.models import User
from meadow.core.outbox import outbox_drain
from meadow.engagement import services
from meadow.engagement.models import EngagementEvent, Like, NoteStats, Save
from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

THREADS = 50


def _script(seed: int) -> list[str]:
    """A random, repeated mix of actions for one person (idempotent repeats included)."""
    rng = random.Random(seed)
    return [rng.choice(["like", "like", "unlike", "save", "save", "unsave"]) for _ in range(6)]


def _act(user: User, note: Note, actions: list[str]) -> None:
    for action in actions:
        if action == "like":
            services.note_like(user=user, note=note, source="discover")
        elif action == "unlike":
            services.note_unlike(user=user, note=note)
        elif action == "save":
            services.note_save(user=user, note=note)
        else:
            services.note_unsave(user=user, note=note)


def _assert_invariant(note: Note) -> None:
    # A like's event, score and author total are recorded after its commit by the likes log's consumer (the
    # beat drains it every minute): exact once it has run, whatever the unlikes did in between.
    outbox_drain()
    note.refresh_from_db()
    author = User.objects.get(pk=note.author_id)
    likes = Like.objects.filter(note=note).count()
    saves = Save.objects.filter(note=note).count()
    events = EngagementEvent.objects.filter(note=note).aggregate(
        like=Count("id", filter=Q(kind="like")),
        unlike=Count("id", filter=Q(kind="unlike")),
        save=Count("id", filter=Q(kind="save")),
        unsave=Count("id", filter=Q(kind="unsave")),
        score=Sum("weight"),
    )
    assert note.like_count == likes == events["like"] - events["unlike"]
    assert note.save_count == saves == events["save"] - events["unsave"]
    assert author.likes_saves_received_count == likes + saves
    stats = NoteStats.objects.get(note=note)
    assert stats.signal_score == (events["score"] or 0) == likes + saves  # weights 1 and 1


@pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_POSTGRES"), reason="needs PostgreSQL (MEADOW_TEST_POSTGRES)"
)
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_like_unlike_and_save_at_once():
    note = NoteFactory()
    users = [UserFactory() for _ in range(THREADS)]
    scripts = [_script(i) for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            _act(users[i], note, scripts[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))
    assert not errors, errors
    _assert_invariant(note)
    # Every thread's final state is what its own script left (actions are per person, so order within it holds).
    for user, script in zip(users, scripts, strict=True):
        liked = next((a for a in reversed(script) if a in ("like", "unlike")), "unlike") == "like"
        saved = next((a for a in reversed(script) if a in ("save", "unsave")), "unsave") == "save"
        assert Like.objects.filter(user=user, note=note).exists() is liked
        assert Save.objects.filter(user=user, note=note).exists() is saved


@pytest.mark.django_db
def test_sequential_mix_keeps_the_same_invariant():
    note = NoteFactory()
    users = [UserFactory() for _ in range(12)]
    plans = [(u, _script(i)) for i, u in enumerate(users)]
    # interleave everybody's actions, one step at a time, twice (repeats must be no-ops)
    for step in range(6):
        for user, script in plans:
            _act(user, note, [script[step]])
    for user, script in plans:
        _act(user, note, script)
    _assert_invariant(note)

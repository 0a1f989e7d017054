"""``meadow demo`` bulk-creates its notes without the publish service: every seeded public note must enter
traffic pool 1 (as ``pool_enter`` would), or Discover's pools and their evaluation have nothing to work on."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from meadow.distribution.models import NotePool, PoolTransition
from meadow.notes.models import Note

pytestmark = pytest.mark.django_db


def test_demo_notes_enter_the_first_pool_and_the_rate_is_reported(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    out = io.StringIO()
    call_command("demo", users=12, notes=40, no_progress=True, no_search_index=True, stdout=out)
    public = set(
        Note.objects.filter(status=Note.Status.PUBLISHED, visibility=Note.Visibility.PUBLIC).values_list(
            "pk", flat=True
        )
    )
    pools = {p.note_id: p for p in NotePool.objects.all()}
    assert public and public <= set(pools)
    followers_only = set(
        Note.objects.filter(visibility=Note.Visibility.FOLLOWERS).values_list("pk", flat=True)
    )
    assert not followers_only & set(pools)
    note = Note.objects.get(pk=min(public))
    pool = pools[note.pk]
    assert pool.status == NotePool.Status.ACTIVE and pool.level == 1 and pool.entered_at == note.published_at
    assert PoolTransition.objects.filter(note_id=note.pk, outcome="enter", to_level=1).count() == 1
    assert "notes/s" in out.getvalue()


def test_seed_notes_reports_progress_per_batch_so_the_bar_ends_at_the_count(settings, tmp_path, monkeypatch):
    """The bar advances by what each call reports: reporting the running total overshot (10 + 20 + 25 = 55)."""
    import random

    from meadow.web import demo_notes as notes_demo
    from tests.factories import UserFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(notes_demo, "BATCH", 10)
    calls: list[int] = []
    done = notes_demo.seed_notes(
        authors=[UserFactory() for _ in range(3)], count=25, rng=random.Random(1), progress=calls.append
    )
    assert done == 25 and calls == [10, 10, 5] and sum(calls) == Note.objects.count() == 25

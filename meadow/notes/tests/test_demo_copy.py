"""``meadow demo`` on PostgreSQL writes its notes with COPY (``meadow.core.bulk``) and adds their pools and search
documents in the same pass: the rows must be exactly what the ``bulk_create`` path writes for the same seed,
consistent (comment rows = comment counts, a pool for every public note, a search document equal to what
``note_doc_build`` makes), and searchable."""

from __future__ import annotations

import io
import os
import random

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from meadow.accounts.models import Follow, User
from meadow.core.bulk import BulkTable, ids_reserve
from meadow.distribution.models import NotePool, PoolTransition
from meadow.engagement.models import Comment
from meadow.notes.models import Note, NoteCategory, NoteHashtag, NoteImage
from meadow.search.models import NoteSearchDoc
from meadow.search.selectors import search_filters, search_run
from meadow.search.services import _with_tags, note_doc_build
from meadow.web import demo_notes as notes_demo

needs_postgres = pytest.mark.skipif(
    not os.environ.get("MEADOW_TEST_POSTGRES"), reason="COPY: PostgreSQL profile only (MEADOW_TEST_POSTGRES)"
)


def _content(note_ids: list[int]) -> list[tuple]:
    """Everything the seeder decides about these notes, without ids (so two runs compare)."""
    out = []
    for note in Note.objects.filter(pk__in=note_ids).order_by("pk"):
        out.append(
            (
                note.author_id, note.kind, note.title, note.body, note.content_type, note.visibility,
                note.status, note.media_state, note.created_at, note.published_at, note.like_count,
                note.save_count, note.comment_count, note.share_count,
                list(NoteImage.objects.filter(note=note).order_by("position").values_list(  # files are new
                    "position", "width", "height", "thumb_width", "thumb_height", "color", "blurhash")),
                list(NoteHashtag.objects.filter(note=note).order_by("position").values_list(
                    "hashtag_id", "position")),
                sorted(Comment.objects.filter(note=note).values_list(
                    "author_id", "body", "created_at", "parent_id", "is_pinned", "like_count")),
                sorted(NoteCategory.objects.filter(note=note).values_list("category_id", "score")),
            )
        )  # fmt: skip
    return out


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_copy_writes_what_bulk_create_writes(settings, tmp_path, monkeypatch):
    assert connection.vendor == "postgresql"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from tests.factories import UserFactory

    authors = [UserFactory() for _ in range(4)]
    moment = timezone.now()
    monkeypatch.setattr(notes_demo.timezone, "now", lambda: moment)  # both runs date their notes alike
    monkeypatch.setattr(notes_demo, "BATCH", 7)  # several batches, the last one short
    seen: list[list[notes_demo.SeededNote]] = []
    assert notes_demo.seed_notes(authors=authors, count=30, rng=random.Random(5), on_batch=seen.append) == 30
    copied = [n.id for batch in seen for n in batch]
    assert [len(b) for b in seen] == [7, 7, 7, 7, 2]

    monkeypatch.setattr(notes_demo, "_write_copy", notes_demo._write_orm)
    seen.clear()
    notes_demo.seed_notes(authors=authors, count=30, rng=random.Random(5), on_batch=seen.append)
    created = [n.id for batch in seen for n in batch]
    assert not set(copied) & set(created)
    assert _content(copied) == _content(created)
    assert Comment.objects.filter(note_id__in=copied).count() == sum(
        Note.objects.filter(pk__in=copied).values_list("comment_count", flat=True)
    )
    # the ids the hook saw are the notes' ids, with what it needs to know about them
    first = Note.objects.get(pk=copied[0])
    assert seen[0][0].title == Note.objects.get(pk=created[0]).title == first.title


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_demo_on_postgresql_is_consistent_pooled_and_searchable(settings, tmp_path):
    assert connection.vendor == "postgresql"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    out = io.StringIO()
    call_command("demo", users=15, notes=50, no_progress=True, stdout=out)
    assert "notes/s" in out.getvalue()
    notes = list(_with_tags(Note.objects.order_by("pk")))
    assert len(notes) == 50
    # every note has its images, topics and categories; comment rows match the counters
    assert not Note.objects.filter(images__isnull=True).exists()
    assert NoteHashtag.objects.count() >= 50 and NoteCategory.objects.exists()
    assert Comment.objects.count() == sum(n.comment_count for n in notes)
    # people and follows went through COPY as well: counters derived from the rows
    assert User.objects.count() == 15 and Follow.objects.exists()
    for user in User.objects.all():
        assert user.followers_count == Follow.objects.filter(followee=user).count()
    # pool 1 for the public notes only, entered when published, one transition each
    public = {n.pk for n in notes if n.visibility == Note.Visibility.PUBLIC}
    pools = {p.note_id: p for p in NotePool.objects.all()}
    assert set(pools) == public and public
    sample = next(n for n in notes if n.pk in public)
    pool = pools[sample.pk]
    assert (pool.status, pool.level, pool.entered_at) == (NotePool.Status.ACTIVE, 1, sample.published_at)
    assert pool.due_impressions > 0 and pool.next_evaluation_at > pool.entered_at
    assert PoolTransition.objects.filter(outcome="enter", to_level=1).count() == len(public)
    # each search document is what indexing the note one by one writes
    docs = {d.note_id: d for d in NoteSearchDoc.objects.all()}
    assert set(docs) == {n.pk for n in notes}
    for note in notes:
        want, have = note_doc_build(note=note), docs[note.pk]
        assert (have.title, have.tags, have.body) == (want.title, want.tags, want.body)
        assert have.published_ts == pytest.approx(want.published_ts)
        assert have.static_rank == pytest.approx(want.static_rank)
    with connection.cursor() as cursor:  # PostgreSQL's generated tsvector followed the COPY
        cursor.execute("SELECT count(*) FROM search_notedoc WHERE tsv IS NULL OR tsv = ''::tsvector")
        assert cursor.fetchone()[0] == 0
    word = max(sample.title.split(), key=len)
    found = search_run(q=word, filters=search_filters(), viewer=None)
    assert sample.pk in {n.pk for n in found.items}


@pytest.mark.django_db
def test_bulk_table_defaults_the_rest_and_refuses_what_it_cannot_fill():
    table = BulkTable(NotePool, ["note_id", "entered_at"])
    assert table.columns[:2] == ["note_id", "entered_at"]
    assert "status" in table.columns and "evaluated_at" in table.columns
    defaults = dict(zip(table.columns[2:], table.tail, strict=True))
    assert defaults["status"] == "active" and defaults["level"] == 1 and defaults["evaluated_at"] is None
    with pytest.raises(ValueError, match="no column"):
        BulkTable(NotePool, ["note_id", "nonsense"])
    with pytest.raises(ValueError, match="body has no default"):
        BulkTable(Comment, ["note_id", "author_id"])  # a comment's body must be given in every row


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_ids_reserve_hands_out_fresh_ids():
    ids = ids_reserve(Note, 5)
    assert len(set(ids)) == 5 and ids == sorted(ids)
    assert ids_reserve(Note, 0) == []
    assert min(ids_reserve(Note, 2)) > max(ids)

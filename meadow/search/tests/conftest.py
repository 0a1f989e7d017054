"""Fixtures for the search tests: notes indexed the way the service layer indexes them, and a moderation engine
kept across tests (the root fixture clears the cache, which would otherwise make every test rebuild it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from meadow.notes.models import Hashtag, NoteHashtag
from meadow.notes.tests.factories import NoteFactory
from meadow.search.services import search_index_note


@pytest.fixture(autouse=True)
def _keep_moderation_engine():
    from meadow.moderation import services as moderation

    if moderation._current["stamp"] is not None:
        cache.set(moderation.STAMP_KEY, moderation._current["stamp"], timeout=None)
    yield


def make_note(*, title="", body="", tags=(), likes=0, saves=0, comments=0, age_days=1.0, index=True, **kw):
    """A published public note (fileless image) with hashtags, counters and an age, indexed unless told."""
    published = timezone.now() - timedelta(days=age_days)
    note = NoteFactory(
        title=title,
        body=body,
        like_count=likes,
        save_count=saves,
        comment_count=comments,
        published_at=kw.pop("published_at", published),
        created_at=published,
        **kw,
    )
    for position, tag in enumerate(tags):
        hashtag, _ = Hashtag.objects.get_or_create(name=tag.lower(), defaults={"display_name": tag})
        Hashtag.objects.filter(pk=hashtag.pk).update(use_count=hashtag.use_count + 1)
        NoteHashtag.objects.create(note=note, hashtag=hashtag, position=position)
    if index:
        search_index_note(note_id=note.pk)
    return note


@pytest.fixture
def note_maker(db):
    return make_note

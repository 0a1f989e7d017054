"""Search through the RUM index on PostgreSQL (``RumBackend``: matches read from the index in static-rank order,
chunk by chunk) gives exactly what ranking every match gives, as the GIN path does; ``meadow check`` warns when
``MEADOW_SEARCH_RUM`` is on and PostgreSQL has no RUM index; ``meadow search_rum`` creates it. The RUM path is
opt-in (off by default: slower than the GIN bands at a million notes, bench/RESULTS.md)."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from meadow.search import backends
from meadow.search.backends import search_backend
from meadow.search.checks import check_rum
from meadow.search.models import NoteSearchDoc
from meadow.search.tests.conftest import make_note
from meadow.search.tests.test_search import _brute_force, _corpus, ids
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rum_offered() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        return cursor.fetchone() is not None


@pytest.fixture
def rum(settings):
    """PostgreSQL with the RUM index (made here as `meadow search_rum` makes it; gone with the test's transaction)
    and the setting on."""
    if connection.vendor != "postgresql":
        pytest.skip("RUM is a PostgreSQL index; the embedded default searches with FTS5 (test_search.py)")
    if not _rum_offered():
        pytest.skip(
            "this PostgreSQL server does not offer rum (Debian: postgresql-15-rum; .ci/run installs it)"
        )
    from meadow.search.rum import rum_create

    rum_create()
    settings.MEADOW_SEARCH_RUM = True
    backends._rum_indexes.clear()
    yield
    backends._rum_indexes.clear()


def test_rum_is_off_by_default(settings):
    # Off unless asked for: measured slower than the GIN path at a million notes (bench/RESULTS.md); no warning.
    settings.MEADOW_SEARCH_RUM = False
    backends._rum_indexes.clear()
    assert search_backend().engine in ("fts5", "gin")
    assert check_rum() == []


@pytest.fixture
def chunked(rum, settings, monkeypatch):
    """Thin chunks (one match per wanted result, doubling) and a pool of just the best k, so that searches on a
    small corpus need several chunks and the safety filters bite; records each search's chunks."""
    settings.MEADOW_SEARCH_EXHAUSTIVE_MATCHES = 0
    monkeypatch.setattr(backends, "BAND_MATCHES_PER_RESULT", 1)
    monkeypatch.setattr(backends, "BAND_GROWTH", 2)
    monkeypatch.setattr(backends, "POOL_FACTOR", 1)
    monkeypatch.setattr(backends, "POOL_EXTRA", 0)
    tried: list[list] = []
    original_top, original_chunk = backends.RumBackend._top, backends.RumBackend.ranked_chunk

    def top(self, query, k, **kw):
        tried.append([])
        return original_top(self, query, k, **kw)

    def chunk(self, query, allowed, *, ceiling, chunk, **kw):
        tried[-1].append((ceiling, chunk))
        return original_chunk(self, query, allowed, ceiling=ceiling, chunk=chunk, **kw)

    monkeypatch.setattr(backends.RumBackend, "_top", top)
    monkeypatch.setattr(backends.RumBackend, "ranked_chunk", chunk)
    return tried


def test_postgres_with_rum_searches_through_it(rum):
    assert search_backend().engine == "rum"
    note = make_note(title="Laksa Penang", body="kuah pekat")
    assert ids("laksa") == [note.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL enable_seqscan = off"
        )  # a handful of rows: a plan as at scale, not a seq scan
        cursor.execute(
            "EXPLAIN SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', 'laksa') "
            "ORDER BY static_rank <=> 1e5::float8 LIMIT 10"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert backends.RUM_INDEX in plan  # the ordered scan is the index's own, not a sort of every match


def test_rum_can_be_turned_off(rum, settings):
    settings.MEADOW_SEARCH_RUM = False
    assert search_backend().engine == "gin"


QUERIES = ["laksa", "satay", "kopi", "nasi", "mee teh", "durian laksa"]


def test_chunks_are_exact_against_brute_force(chunked):
    _corpus(random.Random(11), 150)
    stopped_early = widened = 0
    for q in QUERIES:
        expected = _brute_force(q)
        assert expected, q
        for limit in (1, 5, 20):
            chunked.clear()
            got = ids(q, limit=limit)
            assert got == expected[:limit], (q, limit)
            widened += len(chunked[0]) > 1
            stopped_early += chunked[0][-1][1] is not None  # the last chunk was bounded: not every match read
    assert stopped_early and widened


def test_pages_across_chunks_are_exact_and_complete(chunked):
    _corpus(random.Random(5), 120)
    viewer = UserFactory()
    for q in ("satay", "nasi"):
        expected = _brute_force(q, viewer=viewer)
        seen: list[int] = []
        cursor = None
        for _ in range(40):
            from meadow.search.selectors import search_run

            result = search_run(q=q, viewer=viewer, cursor=cursor, limit=4)
            seen.extend(n.pk for n in result.items)
            cursor = result.next_cursor
            if cursor is None:
                break
        assert seen == expected


def test_ties_on_static_rank_are_never_split(chunked):
    # Twelve notes share one static rank: a chunk that ends among them leaves all of them to the next one, and a
    # chunk of nothing but them ranks everything below at once.
    made = [make_note(title="kopi" if i % 3 else "kopi kopi", body="teh" * (i % 4)) for i in range(12)]
    NoteSearchDoc.objects.filter(note__in=made).update(static_rank=200.0)
    higher = make_note(title="kopi pagi", likes=50)
    NoteSearchDoc.objects.filter(note=higher).update(static_rank=201.0)
    expected = _brute_force("kopi")
    assert len(expected) == 13
    for limit in (1, 3, 13, 20):
        assert ids("kopi", limit=limit) == expected[:limit], limit


def test_compound_fallback_ranks_below_exact_matches_on_rum(chunked):
    rng = random.Random(23)
    exact = set()
    for i in range(40):
        word = "咖啡厅" if i % 4 == 0 else "咖啡"
        note = make_note(
            title=f"探店{word}", likes=int(rng.paretovariate(1.2)) - 1, age_days=rng.uniform(0, 365)
        )
        if word == "咖啡厅":
            exact.add(note.pk)
    expected = _brute_force("咖啡厅")
    got = ids("咖啡厅", limit=20)
    assert got == expected[:20]
    assert set(got[: len(exact)]) == exact


def test_rum_and_gin_agree_with_filters(rum, settings):
    _corpus(random.Random(3), 100)
    settings.MEADOW_SEARCH_EXHAUSTIVE_MATCHES = 0
    for filters in ({}, {"kind": "image"}, {"time_range": "month"}, {"sort": "likes"}):
        settings.MEADOW_SEARCH_RUM = True
        backends._rum_indexes.clear()
        got = ids("laksa", limit=30, **filters)
        settings.MEADOW_SEARCH_RUM = False
        assert got == ids("laksa", limit=30, **filters), filters


def _drop_rum_index():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {backends.RUM_INDEX}")  # undone with the test's transaction
    backends._rum_indexes.clear()


def test_check_warns_without_the_rum_index_and_the_command_makes_it(rum):
    assert check_rum() == []
    _drop_rum_index()
    warnings = check_rum()
    assert [w.id for w in warnings] == ["meadow.W002"]
    assert "meadow search_rum" in warnings[0].hint
    assert search_backend().engine == "gin"
    call_command("search_rum")
    assert check_rum() == []
    assert search_backend().engine == "rum"
    note = make_note(title="Cendol Melaka")
    assert ids("cendol") == [note.pk]


def test_without_the_rum_index_search_answers_through_gin(rum):
    _drop_rum_index()
    note = make_note(title="Cendol Melaka")
    assert search_backend().engine == "gin"
    assert ids("cendol") == [note.pk]


def test_check_and_command_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite side of the RUM check")
    assert check_rum() == []
    with pytest.raises(CommandError, match="FTS5"):
        call_command("search_rum")

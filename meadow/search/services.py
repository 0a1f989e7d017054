"""Every write about search: the index of notes (kept in sync from ``meadow.notes.services`` through the tasks
in ``meadow.search.tasks``), the refresh of static ranks after engagement, the rebuild behind ``meadow reindex``,
the search log and recent searches."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from meadow.accounts.models import User
from meadow.core.bulk import BulkTable
from meadow.notes.models import Note, NoteHashtag
from meadow.search.analysis import ParsedQuery, add_words, index_text
from meadow.search.backends import search_backend, static_rank, static_rank_sql
from meadow.search.models import QUERY_MAX, NoteSearchDoc, RankRefresh, RecentSearch, SearchLog

RECENT_MAX = 20
LOG_KEEP_DAYS = 8
RANK_EVENT_KINDS = ("like", "unlike", "save", "unsave", "comment", "uncomment")  # what moves engagement
RANK_EVENT_OVERLAP = 1000  # events re-read each refresh: ids are allocated before their transaction commits


@dataclass(frozen=True)
class NoteDoc:
    note_id: int
    title: str
    tags: str
    body: str
    published_ts: float
    static_rank: float = 0.0


def note_doc_build(*, note: Note) -> NoteDoc:
    """The segmented document of a note (uses prefetched ``hashtag_links`` when present)."""
    topics = [(link.hashtag.name, link.hashtag.display_name) for link in note.hashtag_links.all()]
    return _note_doc(
        note_id=note.pk,
        title=note.title,
        body=note.body,
        tags=_tags_text(topics, note.location_name),
        published=note.published_at or note.created_at,
        likes=note.like_count,
        saves=note.save_count,
        comments=note.comment_count,
        segment=index_text,
    )


def _tags_text(topics: Iterable[tuple[str, str]], location_name: str) -> str:
    """The tags field: each topic's name and spelling, and the location; the topics become jieba words first
    (so a note's own topics stay one term when its text is segmented after)."""
    names = [n for pair in topics for n in pair]
    add_words(names)
    return " ".join(dict.fromkeys(index_text(n) for n in [*names, location_name] if n))


def _note_doc(
    *,
    note_id: int,
    title: str,
    body: str,
    tags: str,
    published: datetime,
    likes: int,
    saves: int,
    comments: int,
    segment: Callable[[str], str],
) -> NoteDoc:
    ts = published.timestamp()
    return NoteDoc(
        note_id=note_id,
        title=segment(title),
        tags=tags,
        body=segment(body),
        published_ts=ts,
        static_rank=static_rank(likes=likes, saves=saves, comments=comments, published_ts=ts),
    )


class NoteDocCache:
    """Builds documents as ``note_doc_build`` does, for a bulk import whose titles, bodies and topic sets repeat
    (``meadow demo``): each distinct text is segmented once (jieba costs ~0.1 ms a field)."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._tags: dict[tuple[tuple[str, str], ...], str] = {}

    def topics_learn(self, topics: Iterable[tuple[str, str]]) -> None:
        """Teach jieba a batch's topics before any of its texts is segmented: a title segmented before another
        note's topic became a word would differ from the one ``note_doc_build`` writes afterwards."""
        added = add_words([n for pair in topics for n in pair])
        if added:
            self._texts.clear()  # segmented with fewer words: segment again

    def _segment(self, text: str) -> str:
        out = self._texts.get(text)
        if out is None:
            out = self._texts[text] = index_text(text)
        return out

    def build(
        self,
        *,
        note_id: int,
        title: str,
        body: str,
        topics: tuple[tuple[str, str], ...],
        published: datetime,
        likes: int,
        saves: int,
        comments: int,
    ) -> NoteDoc:
        """``topics``: (name, display name) of the note's hashtags, in order. No location (imports have none)."""
        tags = self._tags.get(topics)
        if tags is None:
            tags = self._tags[topics] = _tags_text(topics, "")
        return _note_doc(
            note_id=note_id,
            title=title,
            body=body,
            tags=tags,
            published=published,
            likes=likes,
            saves=saves,
            comments=comments,
            segment=self._segment,
        )


def search_index_new(*, docs: Sequence[NoteDoc]) -> int:
    """Add the documents of notes that have none yet (a bulk import), in the caller's transaction: PostgreSQL
    COPY (its generated ``tsv`` column and GIN index follow), else ``bulk_create`` (SQLite's FTS5 triggers
    follow). ``search_index_note`` and ``search_reindex`` remain the way to (re)index existing notes. Returns
    the number of documents written."""
    if not docs:
        return 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        table = BulkTable(
            NoteSearchDoc, ["note_id", "title", "tags", "body", "published_ts", "static_rank", "indexed_at"]
        )
        return table.copy(
            (d.note_id, d.title, d.tags, d.body, d.published_ts, d.static_rank, now) for d in docs
        )
    NoteSearchDoc.objects.bulk_create(
        [
            NoteSearchDoc(
                note_id=d.note_id,
                title=d.title,
                tags=d.tags,
                body=d.body,
                published_ts=d.published_ts,
                static_rank=d.static_rank,
                indexed_at=now,
            )
            for d in docs
        ],
        batch_size=1000,
    )
    return len(docs)


def _with_tags(qs):
    return qs.prefetch_related(
        Prefetch("hashtag_links", queryset=NoteHashtag.objects.select_related("hashtag").order_by("position"))
    )


def search_index_note(*, note_id: int) -> bool:
    """Index a note as it is now (idempotent): published notes get a document, anything else loses it. What a
    reader may see is decided again at query time, so a note that turns private or an author who is banned
    disappears from results at once. Returns whether the note is indexed."""
    note = _with_tags(Note.objects.filter(pk=note_id)).first()
    if note is None or note.status != Note.Status.PUBLISHED:
        search_remove_note(note_id=note_id)
        return False
    search_backend().index(doc=note_doc_build(note=note))
    return True


def search_remove_note(*, note_id: int) -> None:
    """Drop a note from the index (idempotent)."""
    search_backend().remove(note_id=note_id)


def search_rank_refresh(*, note_ids: Iterable[int] | None = None) -> int:
    """Bring static ranks (``NoteSearchDoc.static_rank``) up to date with the notes' engagement counters, in one
    set-based UPDATE: for ``note_ids`` if given, else for the notes with a like, save or comment (or its undoing)
    since the last refresh — found through ``engagement.EngagementEvent`` by id, never by scanning the index (a
    beat task, ``search-refresh-ranks``, every five minutes; the like itself does no search work). Between two
    refreshes a note ranks with its engagement as of the previous one. Returns the number of documents whose rank
    changed."""
    expr = static_rank_sql("n", "search_notedoc.published_ts")
    update = (
        f"UPDATE search_notedoc SET static_rank = (SELECT {expr} FROM notes_note n "
        "WHERE n.id = search_notedoc.note_id) WHERE note_id IN ({ids}) AND static_rank <> "
        f"(SELECT {expr} FROM notes_note n WHERE n.id = search_notedoc.note_id)"
    )
    if note_ids is not None:
        wanted = sorted({int(i) for i in note_ids})
        if not wanted:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(update.format(ids=", ".join(["%s"] * len(wanted))), wanted)
            return cursor.rowcount
    try:
        event = apps.get_model("engagement", "EngagementEvent")
    except LookupError:  # pragma: no cover - engagement is installed with search
        return 0
    with transaction.atomic():
        state, _ = RankRefresh.objects.select_for_update().get_or_create(pk=1)
        upto = event.objects.aggregate(top=Max("id"))["top"] or 0
        after = max(0, state.last_event_id - RANK_EVENT_OVERLAP)
        if upto <= after:
            return 0
        changed = event.objects.filter(id__gt=after, id__lte=upto, kind__in=RANK_EVENT_KINDS).values(
            "note_id"
        )
        sub_sql, sub_params = changed.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(update.format(ids=sub_sql), list(sub_params))
            count = cursor.rowcount
        state.last_event_id = upto
        state.refreshed_at = timezone.now()
        state.save(update_fields=["last_event_id", "refreshed_at"])
    return count


def search_reindex(
    *, batch_size: int = 500, progress: Callable[[int], None] | None = None, after: int = 0
) -> int:
    """Rebuild the whole index in batches of ``batch_size`` notes (id order), dropping documents of notes no
    longer published. Each batch is one transaction. ``after``: only notes with a greater id (what a bulk
    import such as ``meadow demo`` just added). Returns the number of notes indexed."""
    NoteSearchDoc.objects.exclude(note__status=Note.Status.PUBLISHED).delete()
    backend = search_backend()
    last, indexed = after, 0
    while True:
        batch = list(
            _with_tags(Note.objects.filter(pk__gt=last, status=Note.Status.PUBLISHED).order_by("pk"))[
                :batch_size
            ]
        )
        if not batch:
            return indexed
        with transaction.atomic():
            for note in batch:
                backend.index(doc=note_doc_build(note=note))
        last = batch[-1].pk
        indexed += len(batch)
        if progress is not None:
            progress(len(batch))


def searcher_key(*, user: User | None, address: str = "") -> str:
    """Who searched, for counting distinct searchers: the account, or a hash of the address for anonymous
    readers (never the address itself)."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u:{user.pk}"
    return "a:" + hashlib.sha256(f"meadow-search:{address}".encode()).hexdigest()[:32]


def search_record(*, query: ParsedQuery, user: User | None, searcher: str) -> None:
    """Log a search (trending, popular suggestions) and keep it in the account's recent searches (the last 20).
    Sensitive queries are not recorded — the caller checks."""
    text = query.text[:QUERY_MAX]
    if not text:
        return
    now = timezone.now()
    SearchLog.objects.create(query=text, searcher=searcher[:64], created_at=now)
    if user is not None and getattr(user, "is_authenticated", False):
        RecentSearch.objects.update_or_create(user=user, query=text, defaults={"searched_at": now})
        stale = list(
            RecentSearch.objects.filter(user=user)
            .order_by("-searched_at", "-id")
            .values_list("id", flat=True)[RECENT_MAX : RECENT_MAX + 50]
        )
        if stale:
            RecentSearch.objects.filter(pk__in=stale).delete()


def recent_searches_clear(*, user: User, queries: Iterable[str] | None = None) -> int:
    """Forget the account's recent searches (all, or the ones given). Returns how many were removed."""
    qs = RecentSearch.objects.filter(user=user)
    if queries is not None:
        qs = qs.filter(query__in=list(queries))
    deleted, _ = qs.delete()
    return deleted


def search_log_purge(*, days: int = LOG_KEEP_DAYS) -> int:
    """Delete search-log rows older than ``days`` (trending looks at hours, suggestions at a week)."""
    deleted, _ = SearchLog.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted

"""Following, read rather than computed: a per-reader feed filled on write (fan-out), read by id on request.

The design is the one Mastodon (``FeedManager``, ``FanOutOnWriteService``) and Pixelfed use for home feeds:

- **The store** keeps, for each *active* reader, the ids of the newest ``MEADOW_FOLLOWING_CAP`` (800) notes of
  the accounts they follow, newest first. One interface, two backends: a Redis sorted set per reader at scale
  (``REDIS_URL`` set; member ``"<note>:<author>"``, score = note id, plus a marker member saying whether older
  notes were cut off), two tables on the embedded default (``FollowingFeed``, ``FollowingFeedEntry``).
- **Fan-out on write**: when a note goes out (or is edited while published) the notes app's outbox event makes
  the task ``following_fan_out`` push the note into the feeds of the author's followers who read Following in
  the last ``MEADOW_FOLLOWING_ACTIVE_DAYS`` days — only those: the others have no live feed (the Redis key
  expired; the table's ``active_at`` is old). A follow being activated merges the followee's newest notes into
  the follower's feed (``following_merge``).
- **Rebuilt on return**: a reader without a live feed gets it rebuilt on their first request, from the notes of
  the accounts they follow (one bounded query, the one Following used to run on every request).
- **Live on read**: a page reads ~``limit + 11`` ids from the store and passes them through the Following
  visibility filter (``notes.selectors.notes_following_visible``: followed now, visible to the reader, not
  limited or held, no block either way, not "not interested") in the same query that reads the cards. So an
  unfollow, a block, a limit, a removal, a deletion or a note made private acts on the very next page; the task
  ``following_retract`` then removes a deleted or no-longer-visible note from the feeds, and the entries of an
  unfollowed author simply fail the filter until they age out.
- Past the stored ids, a feed that was cut at the cap reads older pages from the notes themselves (as before).
- A Redis outage is not fatal: the page falls back to the query Following used before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from meadow.accounts.models import Follow, User
from meadow.core.cache import OUTAGE_ERRORS
from meadow.core.pagination import clamp_limit, decode_cursor, encode_cursor

T = TypeVar("T")
SLACK = 10  # ids read beyond the page: what the live filter may drop without a second read
CHUNKS = 4  # reads of the store per page at most (a page whose notes were nearly all filtered ends short)
TOUCH_SECONDS = 3600  # the table backend records a reader's activity at most once an hour


def active_since():
    return timezone.now() - timedelta(days=settings.MEADOW_FOLLOWING_ACTIVE_DAYS)


class FeedStore(Protocol):
    def open(self, reader_id: int) -> bool | None:
        """The reader's live feed: ``None`` when there is none (never built, or not read for the active
        days: rebuild it), else whether older notes were cut off at the cap. Marks the reader active."""

    def ids(self, reader_id: int, *, before: int | None, n: int) -> list[tuple[int, int]]:
        """Up to ``n`` entries ``(note_id, author_id)`` of the feed below ``before``, newest first."""

    def replace(self, reader_id: int, entries: Sequence[tuple[int, int]], *, truncated: bool) -> None:
        """The reader's feed is now ``entries`` ``(note_id, author_id)``, and the reader is active."""

    def active(self, reader_ids: Sequence[int]) -> list[int]:
        """Those of ``reader_ids`` who have a live feed."""

    def push(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        """Add ``entries`` to the live feeds of ``reader_ids`` (idempotent), keeping each at the cap."""

    def remove(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        """Take ``entries`` out of the feeds of ``reader_ids``."""


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class TableStore:
    """The embedded default's store: ``FollowingFeed`` (the reader's activity) and ``FollowingFeedEntry``."""

    def open(self, reader_id: int) -> bool | None:
        from meadow.distribution.models import FollowingFeed

        state = FollowingFeed.objects.filter(pk=reader_id).values_list("active_at", "truncated").first()
        if state is None or state[0] < active_since():
            return None
        now = timezone.now()
        if state[0] < now - timedelta(seconds=TOUCH_SECONDS):
            FollowingFeed.objects.filter(pk=reader_id).update(active_at=now)
        return bool(state[1])

    def ids(self, reader_id: int, *, before: int | None, n: int) -> list[tuple[int, int]]:
        from meadow.distribution.models import FollowingFeedEntry

        qs = FollowingFeedEntry.objects.filter(reader_id=reader_id)
        if before is not None:
            qs = qs.filter(note_id__lt=before)
        return list(qs.order_by("-note_id").values_list("note_id", "author_id")[:n])

    def replace(self, reader_id: int, entries: Sequence[tuple[int, int]], *, truncated: bool) -> None:
        from meadow.distribution.models import FollowingFeed, FollowingFeedEntry

        with transaction.atomic():
            FollowingFeedEntry.objects.filter(reader_id=reader_id).delete()
            FollowingFeedEntry.objects.bulk_create(
                [FollowingFeedEntry(reader_id=reader_id, note_id=n, author_id=a) for n, a in entries]
            )
            FollowingFeed.objects.update_or_create(
                pk=reader_id, defaults={"active_at": timezone.now(), "truncated": truncated}
            )

    def active(self, reader_ids: Sequence[int]) -> list[int]:
        from meadow.distribution.models import FollowingFeed

        since = active_since()
        found: list[int] = []
        for part in _chunks(list(reader_ids)):
            found += FollowingFeed.objects.filter(pk__in=part, active_at__gte=since).values_list(
                "pk", flat=True
            )
        return found

    def push(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        from django.db.models import Count

        from meadow.distribution.models import FollowingFeed, FollowingFeedEntry

        cap = settings.MEADOW_FOLLOWING_CAP
        for part in _chunks(list(reader_ids)):
            FollowingFeedEntry.objects.bulk_create(
                [FollowingFeedEntry(reader_id=r, note_id=n, author_id=a) for r in part for n, a in entries],
                ignore_conflicts=True,
            )
            # Trim only the feeds over the cap (one aggregate per chunk; rarely any).
            over = (
                FollowingFeedEntry.objects.filter(reader_id__in=part)
                .values("reader_id")
                .annotate(n=Count("id"))
                .filter(n__gt=cap)
                .values_list("reader_id", flat=True)
            )
            for reader_id in list(over):
                keep = FollowingFeedEntry.objects.filter(reader_id=reader_id).order_by("-note_id")
                floor = keep.values_list("note_id", flat=True)[cap - 1 : cap].first()
                if floor is not None:
                    keep.filter(note_id__lt=floor).delete()
                    FollowingFeed.objects.filter(pk=reader_id).update(truncated=True)

    def remove(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        from meadow.distribution.models import FollowingFeedEntry

        # By note, whoever holds it (the index on note_id): a reader who unfollowed since holds it too.
        FollowingFeedEntry.objects.filter(note_id__in=[n for n, _a in entries]).delete()


# Add entries to the keys that exist (a live feed) and cut each at the cap; the marker member "s" sits lowest
# (score 0: nothing cut off yet; -1: older notes were cut off).
_PUSH = """
local cap = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    for i = 2, #ARGV, 2 do redis.call('ZADD', key, ARGV[i], ARGV[i + 1]) end
    if redis.call('ZREMRANGEBYRANK', key, 1, -(cap + 1)) > 0 then redis.call('ZADD', key, -1, 's') end
  end
end
return 0
"""


class RedisStore:
    """The scale profile's store: one sorted set per reader, which expires when the reader stops reading."""

    MARKER = "s"

    def __init__(self) -> None:
        self._script: Any = None

    def _client(self) -> Any:
        return cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # meadow.core.cache's pool

    def _key(self, reader_id: int) -> str:
        return cache.make_key(f"distribution:following:{reader_id}")

    def _ttl(self) -> int:
        return settings.MEADOW_FOLLOWING_ACTIVE_DAYS * 86400

    def open(self, reader_id: int) -> bool | None:
        key = self._key(reader_id)
        pipe = self._client().pipeline(transaction=False)
        pipe.zscore(key, self.MARKER)
        pipe.expire(key, self._ttl())
        marker, _ = pipe.execute()
        if marker is None:
            return None
        return float(marker) < 0

    def ids(self, reader_id: int, *, before: int | None, n: int) -> list[tuple[int, int]]:
        top = f"({before}" if before is not None else "+inf"
        members = self._client().zrevrangebyscore(self._key(reader_id), top, "(0", start=0, num=n)
        pairs = [m.split(b":", 1) for m in members]
        return [(int(note), int(author)) for note, author in pairs]

    def replace(self, reader_id: int, entries: Sequence[tuple[int, int]], *, truncated: bool) -> None:
        key = self._key(reader_id)
        pipe = self._client().pipeline(transaction=True)
        pipe.delete(key)
        mapping: dict[str, float] = {f"{n}:{a}": n for n, a in entries}
        mapping[self.MARKER] = -1 if truncated else 0
        pipe.zadd(key, mapping)
        pipe.expire(key, self._ttl())
        pipe.execute()

    def active(self, reader_ids: Sequence[int]) -> list[int]:
        found: list[int] = []
        for part in _chunks(list(reader_ids), 1000):
            pipe = self._client().pipeline(transaction=False)
            for r in part:
                pipe.exists(self._key(r))
            found += [r for r, there in zip(part, pipe.execute(), strict=True) if there]
        return found

    def push(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        client = self._client()
        if self._script is None:
            self._script = client.register_script(_PUSH)
        args: list[Any] = [settings.MEADOW_FOLLOWING_CAP]
        for n, a in entries:
            args += [n, f"{n}:{a}"]
        for part in _chunks(list(reader_ids), 200):
            self._script(keys=[self._key(r) for r in part], args=args, client=client)

    def remove(self, reader_ids: Sequence[int], entries: Sequence[tuple[int, int]]) -> None:
        members = [f"{n}:{a}" for n, a in entries]
        for part in _chunks(list(reader_ids), 1000):
            pipe = self._client().pipeline(transaction=False)
            for r in part:
                pipe.zrem(self._key(r), *members)
            pipe.execute()


_redis_store = RedisStore()


def feed_store() -> FeedStore:
    return _redis_store if settings.MEADOW_FOLLOWING_STORE == "redis" else TableStore()


# --- reading -------------------------------------------------------------------------------------------------------
def rebuild(*, reader: User, store: FeedStore | None = None) -> bool:
    """Build the reader's feed from the notes of the accounts they follow (newest ``cap``); whether it was cut
    off at the cap."""
    from meadow.notes.selectors import notes_following_visible

    store = store or feed_store()
    cap = settings.MEADOW_FOLLOWING_CAP
    entries = list(
        notes_following_visible(viewer=reader).order_by("-id").values_list("id", "author_id")[:cap]
    )
    truncated = len(entries) >= cap
    store.replace(reader.pk, entries, truncated=truncated)
    return truncated


def following_page(
    *,
    viewer: User,
    cursor: str | None,
    limit: int | None,
    fetch: Callable[[list[tuple[int, int]]], list[T]],
    key: Callable[[T], int],
    older: Callable[[str | None, int], dict[str, Any]],
) -> dict[str, Any] | None:
    """One page of the reader's Following: entries ``(note_id, author_id)`` from the store, ``fetch(entries)``
    keeps (in order) those the live filter still shows and makes the items. ``older(cursor, n)`` serves what lies past a feed cut off at
    the cap (the notes themselves). ``None`` when the store cannot be read (Redis down): the caller reads the
    notes themselves."""
    size = clamp_limit(limit)
    before = decode_cursor(cursor)
    store = feed_store()
    try:
        truncated = store.open(viewer.pk)
        if truncated is None:
            truncated = rebuild(reader=viewer, store=store)
        items: list[T] = []
        exhausted = False
        for _ in range(CHUNKS):
            want = size + 1 + SLACK - len(items)
            ids = store.ids(viewer.pk, before=before, n=want)
            if ids:
                items += fetch(ids)
                before = ids[-1][0]
            if len(ids) < want:
                exhausted = True
                break
            if len(items) > size:
                break
    except OUTAGE_ERRORS:
        return None
    if len(items) > size:
        items = items[:size]
        return {"items": items, "next_cursor": encode_cursor(key(items[-1]))}
    if not exhausted:  # the live filter dropped nearly everything read: go on from the last id read next time
        return {"items": items, "next_cursor": encode_cursor(before) if before is not None else None}
    if truncated:  # past the stored ids: the older notes themselves
        rest = older(encode_cursor(before) if before is not None else cursor, max(1, size - len(items)))
        if len(items) == size:
            return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if rest["items"] else None}
        return {"items": items + rest["items"], "next_cursor": rest["next_cursor"]}
    return {"items": items, "next_cursor": None}


# --- writing (the tasks) -------------------------------------------------------------------------------------------
def _followers(author_id: int) -> list[int]:
    return list(
        Follow.objects.filter(followee_id=author_id, status=Follow.Status.ACTIVE).values_list(
            "follower_id", flat=True
        )
    )


def following_fan_out(*, note_id: int) -> int:
    """Push a note that is out (published, public or followers-only) into the live feeds of its author's
    followers; a note that is not (deleted, draft, made private) is taken out of them. How many feeds."""
    from meadow.notes.models import Note

    note = Note.objects.filter(pk=note_id).values_list("author_id", "status", "visibility").first()
    if note is None:
        return 0
    author_id, status, visibility = note
    if status != Note.Status.PUBLISHED or visibility == Note.Visibility.PRIVATE:
        return following_retract(note_id=note_id)
    store = feed_store()
    readers = store.active(_followers(author_id))
    store.push(readers, [(note_id, author_id)])
    return len(readers)


def following_retract(*, note_id: int) -> int:
    """Take a note out of the feeds of its author's followers (deleted, made private, back to draft)."""
    from meadow.notes.models import Note

    author_id = Note.objects.filter(pk=note_id).values_list("author_id", flat=True).first()
    if author_id is None:
        return 0
    readers = _followers(author_id)
    feed_store().remove(readers, [(note_id, author_id)])
    return len(readers)


def following_merge(*, follower_id: int, followee_id: int) -> int:
    """A follow was activated: the followee's newest notes the follower may see join the follower's live feed
    (no feed, nothing to do: it is built with them on return)."""
    from meadow.notes.selectors import notes_following_visible

    store = feed_store()
    if not store.active([follower_id]):
        return 0
    reader = User.objects.filter(pk=follower_id).first()
    if reader is None:
        return 0
    entries = list(
        notes_following_visible(viewer=reader)
        .filter(author_id=followee_id)
        .order_by("-id")
        .values_list("id", "author_id")[: settings.MEADOW_FOLLOWING_CAP]
    )
    if entries:
        store.push([follower_id], entries)
    return len(entries)

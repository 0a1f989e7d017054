"""Feed cards from a shared per-note card cache.

A card is the note shape of ``notes.api.note_out`` plus the feed's fields. Most of it is the same for every
reader and changes only when the note is edited: title, body, media, hashtags, categories, mentions, location,
dates. That part is kept in the cache (Redis at scale, a disk cache on the embedded default: every process shares it) under
a key naming the note, its ``updated_at`` and the scheme and host the URLs were made absolute for. A page then
costs, whatever its size:

- **one query** (:func:`page_live`) over the page's notes through the feed's visibility queryset (published,
  ready, public, public active author, not limited or held, no block either way, not "not interested"), which
  also reads what must never be stale: the counts, the author's name, avatar and blue tick, the version
  (``updated_at``) and the reader's own liked/saved state. A note limited, removed, held, made private or
  deleted a second ago, or an author banned or blocked, is simply not in the answer and its card is not
  shown, whatever the cache holds;
- **one cache read** (``get_many``) for the cards of that version;
- for the notes whose card is not cached yet (a new note, an edited one, an expired entry), the note shape's
  usual hydration (``notes_with_relations``: one query plus four prefetches) and one ``set_many``.

Invalidation: an edit (``notes.services.note_update``) moves ``updated_at`` in the same transaction as the
hashtags, categories and mentions, so the next page asks for a new key and the old entry just expires.
Moderation, enforcement, deletion, blocks and bans act through the live query. What the cache may show stale,
for at most ``MEADOW_FEED_CARD_SECONDS`` (default 600): a hashtag's display spelling or a category slug
renamed by staff, and the handle of an account mentioned in the note if that account renames itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from meadow.accounts.models import User
from meadow.notes.models import Note

CARD_VERSION = "c1"  # bump when what note_out puts in a field changes (a new shape changes the key by itself)
PERSONAL = ("author", "counts", "viewer")  # never cached: read live for every page


def _signed_in(viewer: User | None) -> bool:
    return viewer is not None and getattr(viewer, "is_authenticated", False)


def _host(request: HttpRequest) -> str:
    """A short name of the scheme and host the card's URLs are absolute for (one cached copy per host)."""
    base = request.build_absolute_uri("/")
    return hashlib.blake2b(base.encode(), digest_size=6).hexdigest()


@functools.cache
def _shape() -> str:
    """The card format's name: ``CARD_VERSION`` and a digest of the note shape's schema, so a deploy that
    changes ``NoteOut`` never reads the cards an older process cached."""
    from meadow.notes.api import NoteOut

    schema = json.dumps(NoteOut.model_json_schema(), sort_keys=True).encode()
    return f"{CARD_VERSION}{hashlib.blake2b(schema, digest_size=4).hexdigest()}"


def _key(host: str, note_id: int, updated_at) -> str:
    return f"distribution:card:{_shape()}:{host}:{note_id}:{updated_at.timestamp():.6f}"


def page_live(viewer: User | None, ids: Sequence[int], visible: QuerySet[Note]) -> dict[int, tuple]:
    """One query: the notes of ``ids`` that ``visible`` still holds, with their version, counts, author and
    the reader's liked/saved — ``{id: (id, updated_at, likes, saves, comments, shares, handle,
    display_name, avatar, verified, liked, saved)}``."""
    if not ids:
        return {}
    from meadow.engagement.models import Like, Save

    qs = visible.filter(pk__in=list(ids)).order_by()
    fields = [
        "pk",
        "updated_at",
        "like_count",
        "save_count",
        "comment_count",
        "share_count",
        "author__handle",
        "author__display_name",
        "author__avatar",
        "author__is_verified_enterprise",
    ]
    if _signed_in(viewer):
        qs = qs.annotate(
            card_liked=Exists(Like.objects.filter(note=OuterRef("pk"), user=viewer)),
            card_saved=Exists(Save.objects.filter(note=OuterRef("pk"), user=viewer)),
        )
        fields += ["card_liked", "card_saved"]
    rows = qs.values_list(*fields)
    if _signed_in(viewer):
        return {row[0]: row for row in rows}
    return {row[0]: (*row, False, False) for row in rows}


def _shared_cards(request: HttpRequest, notes: Sequence[Note]) -> dict[int, dict[str, Any]]:
    """The reader-independent part of the note shape of each note (``note_out`` without the personal keys)."""
    from meadow.notes.api import note_out

    anonymous = _AnonymousRequest(request)
    out: dict[int, dict[str, Any]] = {}
    for note in notes:
        note.viewer_liked = note.viewer_saved = False  # type: ignore[attr-defined]  # no per-note query
        card = note_out(anonymous, note)  # type: ignore[arg-type]
        for key in PERSONAL:
            card.pop(key, None)
        out[note.pk] = card
    return out


class _AnonymousRequest:
    """The request as ``note_out`` sees it for the shared part: the same absolute URLs, no reader."""

    def __init__(self, request: HttpRequest):
        self._request = request
        self.user = None

    def build_absolute_uri(self, location: str | None = None) -> str:
        return self._request.build_absolute_uri(location)


def _avatar_url(request: HttpRequest, name: str | None) -> str | None:
    if not name:
        return None
    return request.build_absolute_uri(User._meta.get_field("avatar").storage.url(name))


def feed_cards(
    request: HttpRequest,
    *,
    viewer: User | None,
    ids: Sequence[int],
    visible: QuerySet[Note],
    checked: bool = False,
    followers: bool = False,
) -> list[dict[str, Any]]:
    """The cards (note shape) of the notes of ``ids`` that ``visible`` still holds, in that order: one live
    query, one cache read, and the hydration of the cards not cached yet (module docstring). ``checked``: the
    caller passed every note of ``ids`` through ``visible`` in this same request (Discover's first page: its
    candidates were just read through it), so the live query reads only counts, author and the reader's
    state. ``followers``: followers-only notes may be shown too (Following; ``visible`` decides)."""
    shown = (Note.Visibility.PUBLIC, Note.Visibility.FOLLOWERS) if followers else (Note.Visibility.PUBLIC,)
    live = page_live(viewer, ids, Note.objects.all() if checked else visible)
    if not live:
        return []
    host = _host(request)
    keys = {pk: _key(host, pk, row[1]) for pk, row in live.items()}
    found = cache.get_many(list(keys.values()))
    shared = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [pk for pk in live if pk not in shared]
    if missing:
        from meadow.notes.selectors import notes_with_relations

        notes = [
            n
            for n in notes_with_relations(Note.objects.filter(pk__in=missing))
            if n.status == Note.Status.PUBLISHED  # changed since the live query a moment ago: not shown
            and n.media_state == Note.MediaState.READY
            and n.visibility in shown
        ]
        fresh = _shared_cards(request, notes)
        shared.update(fresh)
        if fresh:
            cache.set_many(
                {_key(host, n.pk, n.updated_at): fresh[n.pk] for n in notes},
                settings.MEADOW_FEED_CARD_SECONDS,
            )
    cards: list[dict[str, Any]] = []
    for pk in ids:
        row = live.get(pk)
        card = shared.get(pk)
        if row is None or card is None:
            continue
        _pk, _v, likes, saves, comments, shares, handle, name, avatar, verified, liked, saved = row
        cards.append(
            {
                **card,
                "author": {
                    "handle": handle,
                    "display_name": name,
                    "avatar": _avatar_url(request, avatar),
                    "verified": bool(verified),
                },
                "counts": {"likes": likes, "saves": saves, "comments": comments, "shares": shares},
                "viewer": {"liked": bool(liked), "saved": bool(saved)},
            }
        )
    return cards

"""Notes endpoints: read, delete, a profile's notes, topics and the 5-3-2 help (publish and edit: ``meadow.publishing.api``,
on this router)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from meadow.accounts.models import User
from meadow.accounts.selectors import user_get_for_viewer
from meadow.core.errors import NotFound, PermissionDenied
from meadow.core.http import (
    optional_auth,
    responses,
    token_or_session,
)
from meadow.core.pagination import PageCursor, PageLimit
from meadow.notes import selectors, services
from meadow.notes.models import Note

router = Router(tags=["notes"])


# --- shapes -----------------------------------------------------------------------------------------------------
class AuthorOut(Schema):
    handle: str
    display_name: str
    avatar: str | None
    verified: bool


class ImageOut(Schema):
    url: str
    width: int
    height: int
    thumbnail: str
    thumbnail_width: int
    thumbnail_height: int
    color: str
    blurhash: str
    alt: str  # what the image shows: the author's description, else derived from the title


class VideoOut(Schema):
    url: str | None
    duration: float
    width: int
    height: int
    processing: bool


class LocationOut(Schema):
    name: str
    latitude: float | None
    longitude: float | None


class CountsOut(Schema):
    likes: int
    saves: int
    comments: int
    shares: int


class ViewerOut(Schema):
    liked: bool
    saved: bool


class CoverOut(Schema):
    url: str
    width: int
    height: int


class PlaceholderOut(Schema):
    color: str
    blurhash: str


class NoteOut(Schema):
    id: int
    author: AuthorOut
    kind: Literal["image", "video"]
    title: str
    body: str
    hashtags: list[str]
    images: list[ImageOut]
    video: VideoOut | None
    location: LocationOut | None
    visibility: str
    status: str
    counts: CountsOut
    viewer: ViewerOut
    created_at: datetime
    content_type: str
    categories: list[str]
    mentions: list[str]
    cover: CoverOut | None
    placeholder: PlaceholderOut | None
    media_state: str
    published_at: datetime | None
    updated_at: datetime


class SponsoredOut(Schema):
    """The block a Spotlight ad's card carries in Discover and search (meadow.ads fills it): the label in the
    reader's language, why this reader sees it, and the click token."""

    campaign: int
    label: str
    why: str
    token: str  # POST /ads/clicks {"token"} when the reader opens it


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None


def _abs(request: HttpRequest, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


def note_out(request: HttpRequest, note: Note) -> dict:
    """The note contract of DESIGN.md (uses the relations ``notes_with_relations`` prefetched)."""
    images = list(note.images.all())
    video = getattr(note, "video", None) if note.kind == Note.Kind.VIDEO else None
    cover = images[0] if images else None
    return {
        "id": note.pk,
        "author": {
            "handle": note.author.handle,
            "display_name": note.author.display_name,
            "avatar": _abs(request, note.author.avatar),
            "verified": bool(note.author.is_verified_enterprise),
        },
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "hashtags": [link.hashtag.display_name for link in note.hashtag_links.all()],
        "images": [
            {
                "url": _abs(request, image.detail) or "",
                "width": image.width,
                "height": image.height,
                "thumbnail": _abs(request, image.thumb) or "",
                "thumbnail_width": image.thumb_width,
                "thumbnail_height": image.thumb_height,
                "color": image.color,
                "blurhash": image.blurhash,
                "alt": image.alt_text(title=note.title, body=note.body, total=len(images)),
            }
            for image in images
        ]
        if note.kind == Note.Kind.IMAGE
        else [],
        "video": {
            "url": _abs(request, video.file),
            "duration": video.duration,
            "width": video.width,
            "height": video.height,
            "processing": note.media_state == Note.MediaState.PROCESSING,
        }
        if video is not None
        else None,
        "location": {
            "name": note.location_name,
            "latitude": float(note.latitude) if note.latitude is not None else None,
            "longitude": float(note.longitude) if note.longitude is not None else None,
        }
        if note.location_name or note.latitude is not None
        else None,
        "visibility": note.visibility,
        "status": note.status,
        "counts": {
            "likes": note.like_count,
            "saves": note.save_count,
            "comments": note.comment_count,
            "shares": note.share_count,
        },
        "viewer": selectors.note_viewer_state(viewer=getattr(request, "user", None), note=note),
        "created_at": note.created_at,
        "content_type": note.content_type,
        "categories": [c.slug for c in note.categories.all()],
        "mentions": [link.user.handle for link in note.mention_links.all()],
        "cover": {
            "url": _abs(request, cover.thumb) or "",
            "width": cover.thumb_width,
            "height": cover.thumb_height,
        }
        if cover is not None and cover.thumb
        else None,
        "placeholder": {"color": cover.color, "blurhash": cover.blurhash} if cover is not None else None,
        "media_state": note.media_state,
        "published_at": note.published_at,
        "updated_at": note.updated_at,
    }


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _page_out(request: HttpRequest, page: dict) -> dict:
    return {"items": [note_out(request, n) for n in page["items"]], "next_cursor": page["next_cursor"]}


# --- notes ------------------------------------------------------------------------------------------------------
# Publishing (POST /notes) and editing (PATCH /notes/{note_id}) are orchestrated above the apps they involve:
# ``meadow.publishing.api`` adds those operations to this router (one router serves each path).
@router.get("/notes/{note_id}", response=responses({200: NoteOut}), auth=optional_auth)
def note_get(request: HttpRequest, note_id: int):
    return note_out(request, selectors.note_get_for_viewer(viewer=_viewer(request), note_id=note_id))


def _own_note(request: HttpRequest, note_id: int) -> Note:
    note = selectors.note_get_for_viewer(viewer=request.user, note_id=note_id)
    if note.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author can change this note."), code="not_author")
    return note


@router.delete("/notes/{note_id}", response=responses({204: None}), auth=token_or_session)
def note_remove(request: HttpRequest, note_id: int):
    """Delete a note (only the author). Its files are removed in the background."""
    services.note_delete(note=_own_note(request, note_id), user=request.user)
    return Status(204, None)


@router.get("/users/{handle}/notes", response=responses({200: NotePage}), auth=optional_auth)
def user_notes(request: HttpRequest, handle: str, cursor: PageCursor = None, limit: PageLimit = None):
    """A profile's published notes, newest first (a private account: only for approved followers)."""
    viewer = _viewer(request)
    author = user_get_for_viewer(viewer=viewer, handle=handle)
    if not selectors.can_see_profile_notes(viewer=viewer, author=author):
        if viewer is None:
            raise NotFound(_("Not found."))
        raise PermissionDenied(_("This account is private."), code="private_account")
    return _page_out(
        request, selectors.notes_for_profile(viewer=viewer, author=author, cursor=cursor, limit=limit)
    )


@router.get("/notes", response=responses({200: NotePage}), auth=optional_auth)
def notes_latest(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    """The newest public notes (the placeholder Discover feed until personalised distribution lands)."""
    return _page_out(
        request, selectors.notes_latest_public(viewer=_viewer(request), cursor=cursor, limit=limit)
    )


# --- hashtags -----------------------------------------------------------------------------------------------------
class SuggestOut(Schema):
    core: list[str]
    derived: list[str]
    trending: list[str]


@router.get("/hashtags/suggest", response=responses({200: SuggestOut}), auth=optional_auth, tags=["hashtags"])
def hashtags_suggest(
    request: HttpRequest,
    text: str = Query("", max_length=8000),
    title: str = Query("", max_length=400),
):
    """The 5-3-2 hashtag help for a draft: 5 core keywords from its text, 3 derived from co-occurrence, 2
    trending topics."""
    return selectors.hashtags_suggest(title=title, body=text, viewer=_viewer(request))


class CategoryOut(Schema):
    slug: str
    name: str


class HashtagOut(Schema):
    name: str
    display_name: str
    count: int
    categories: list[CategoryOut]
    notes: NotePage


@router.get("/hashtags/{name}", response=responses({200: HashtagOut}), auth=optional_auth, tags=["hashtags"])
def hashtag_get(request: HttpRequest, name: str, cursor: PageCursor = None, limit: PageLimit = None):
    """A topic (any spelling: #KL美食 = kl美食 = ＫＬ美食) with its count, categories and a page of notes."""
    hashtag = selectors.hashtag_get(name=name, viewer=_viewer(request))
    language = getattr(request, "LANGUAGE_CODE", "en")
    page = selectors.notes_for_hashtag(viewer=_viewer(request), hashtag=hashtag, cursor=cursor, limit=limit)
    return {
        "name": hashtag.name,
        "display_name": hashtag.display_name,
        "count": hashtag.use_count,
        "categories": [{"slug": c.slug, "name": c.name_for(language)} for c in hashtag.categories.all()],
        "notes": _page_out(request, page),
    }

"""Engagement endpoints: like, save into boards, share, comments and their likes, pin, follow from a note,
video completion, "not interested", boards. (Impressions in bulk, ``POST /impressions``, are distribution's
endpoint: it checks its feed cards' tokens and feeds the traffic pools.)

Every action is idempotent and answers the note's fresh counts. ``?source=`` says where the reader came from
(discover, following, search, share, profile, topic, direct) for the creator centre's traffic sources.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from pydantic import Field, StrictBool

from meadow.accounts.models import User
from meadow.accounts.selectors import user_get_for_viewer
from meadow.core.errors import PermissionDenied
from meadow.core.http import optional_auth, responses, token_or_session
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import Limits, NonBlankText, Text
from meadow.engagement import selectors, services
from meadow.engagement.models import BOARD_NAME_MAX, COMMENT_MAX, Board, Comment
from meadow.notes.api import NotePage, _page_out
from meadow.notes.models import Note
from meadow.notes.selectors import note_get_for_viewer

router = Router(tags=["engagement"])

SourceIn = Literal["discover", "following", "search", "share", "profile", "topic", "direct"]


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


# --- shapes -----------------------------------------------------------------------------------------------------
class EngagementCountsOut(Schema):
    likes: int
    saves: int
    comments: int
    shares: int


class NoteEngagementOut(Schema):
    note: int
    liked: bool
    saved: bool
    board: int | None = None
    counts: EngagementCountsOut


class ShareOut(Schema):
    token: str
    url: str
    card: str
    counts: EngagementCountsOut


class PersonOut(Schema):
    handle: str
    display_name: str
    avatar: str | None


class CommentViewerOut(Schema):
    liked: bool
    can_delete: bool
    can_pin: bool


class ReplyOut(Schema):
    id: int
    author: PersonOut
    body: str
    reply_to: str | None
    likes: int
    pinned: bool
    created_at: datetime
    viewer: CommentViewerOut


class CommentOut(ReplyOut):
    replies_count: int
    replies: list[ReplyOut]


class CommentPage(Schema):
    items: list[CommentOut]
    next_cursor: str | None


class ReplyPage(Schema):
    items: list[ReplyOut]
    next_cursor: str | None


class CommentIn(Schema):
    body: Annotated[NonBlankText, Limits(max_length=COMMENT_MAX)]
    parent: int | None = None
    source: SourceIn = "direct"


class CommentLikeOut(Schema):
    liked: bool
    likes: int


class DeletedOut(Schema):
    deleted: int


class PinOut(Schema):
    id: int
    pinned: bool


class CountedOut(Schema):
    counted: bool


class HiddenOut(Schema):
    hidden: bool


class NoteFollowOut(Schema):
    status: str


class BoardOut(Schema):
    id: int
    name: str
    private: bool
    default: bool
    notes: int
    owner: PersonOut
    created_at: datetime


class BoardList(Schema):
    items: list[BoardOut]
    next_cursor: str | None


class BoardIn(Schema):
    name: Annotated[NonBlankText, Limits(max_length=BOARD_NAME_MAX)]
    private: StrictBool = False


class BoardPatch(Schema):
    name: Annotated[NonBlankText, Limits(max_length=BOARD_NAME_MAX)] | None = None
    private: StrictBool | None = None


# --- shaping ----------------------------------------------------------------------------------------------------
def _abs(request: HttpRequest, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


def _person(request: HttpRequest, user: User) -> dict:
    return {"handle": user.handle, "display_name": user.display_name, "avatar": _abs(request, user.avatar)}


def _engagement_out(request: HttpRequest, note: Note, board: int | None = None) -> dict:
    fresh = (  # a like's UPDATE returned them
        note
        if getattr(note, "counts_fresh", False)
        else Note.objects.only("like_count", "save_count", "comment_count", "share_count").get(pk=note.pk)
    )
    state = selectors.viewer_state(viewer=_viewer(request), note=note)
    return {
        "note": note.pk,
        **state,
        "board": board,
        "counts": {
            "likes": fresh.like_count,
            "saves": fresh.save_count,
            "comments": fresh.comment_count,
            "shares": fresh.share_count,
        },
    }


def _reply_out(request: HttpRequest, comment: Comment, viewer: User | None) -> dict:
    return {
        "id": comment.pk,
        "author": _person(request, comment.author),
        "body": comment.body,
        "reply_to": comment.reply_to.handle if comment.reply_to_id and comment.parent_id else None,
        "likes": comment.like_count,
        "pinned": comment.is_pinned,
        "created_at": comment.created_at,
        "viewer": {
            "liked": bool(getattr(comment, "viewer_liked", False)),
            "can_delete": services.can_moderate_comment(user=viewer, comment=comment),
            "can_pin": viewer is not None
            and comment.parent_id is None
            and viewer.pk == comment.note.author_id,
        },
    }


def comment_out(request: HttpRequest, comment: Comment, viewer: User | None) -> dict:
    replies = getattr(comment, "reply_list", [])
    return {
        **_reply_out(request, comment, viewer),
        "replies_count": comment.reply_count,
        "replies": [_reply_out(request, r, viewer) for r in replies],
    }


def board_out(request: HttpRequest, board: Board) -> dict:
    return {
        "id": board.pk,
        "name": board.title,
        "private": board.is_private,
        "default": board.is_default,
        "notes": board.note_count,
        "owner": _person(request, board.owner),
        "created_at": board.created_at,
    }


# --- likes, saves, shares -------------------------------------------------------------------------------------
@router.post("/notes/{note_id}/like", response=responses({200: NoteEngagementOut}), auth=token_or_session)
def like(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """Like a note (idempotent: liking twice is one like)."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id, hydrate=False)
    services.note_like(user=request.user, note=note, source=source)
    note.viewer_liked = True
    return _engagement_out(request, note)


@router.delete("/notes/{note_id}/like", response=responses({200: NoteEngagementOut}), auth=token_or_session)
def unlike(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    services.note_unlike(user=request.user, note=note, source=source)
    note.viewer_liked = False
    return _engagement_out(request, note)


@router.post("/notes/{note_id}/save", response=responses({200: NoteEngagementOut}), auth=token_or_session)
def save(request: HttpRequest, note_id: int, board: int | None = None, source: SourceIn = "direct"):
    """Save a note (收藏) into one of your boards (``board``; default: your default board "Saved"). Saving an
    already saved note into another board moves it."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    target = None
    if board is not None:
        target = selectors.board_get_for_viewer(viewer=request.user, board_id=board)
    services.note_save(user=request.user, note=note, board=target, source=source)
    note.viewer_saved = True
    chosen = target.pk if target else services.board_default(owner=request.user).pk
    return _engagement_out(request, note, board=chosen)


@router.delete("/notes/{note_id}/save", response=responses({200: NoteEngagementOut}), auth=token_or_session)
def unsave(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    services.note_unsave(user=request.user, note=note, source=source)
    note.viewer_saved = False
    return _engagement_out(request, note)


@router.post("/notes/{note_id}/share", response=responses({200: ShareOut}), auth=token_or_session)
def share(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """Your share link for a note (``/notes/<id>/?s=<token>``: visits through it are attributed to you) and a
    share card image (PNG) for other apps."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    found = services.note_share(user=request.user, note=note, source=source)
    url = request.build_absolute_uri(reverse("web:note", args=[note.pk]) + f"?s={found.token}")
    card = request.build_absolute_uri(reverse("web:note_share_card", args=[note.pk]) + f"?s={found.token}")
    return {
        "token": found.token,
        "url": url,
        "card": card,
        "counts": _engagement_out(request, note)["counts"],
    }


@router.post("/notes/{note_id}/follow", response=responses({200: NoteFollowOut}), auth=token_or_session)
def follow_from_note(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """Follow the note's author from the note (a follow signal for this note)."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    return {"status": services.note_follow_author(user=request.user, note=note, source=source)}


@router.post("/notes/{note_id}/completion", response=responses({200: CountedOut}), auth=token_or_session)
def completion(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """The player reports that ≥ 90 % of a video was watched (counted once per viewer and note)."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    return {"counted": services.note_completion(user=request.user, note=note, source=source)}


@router.post("/notes/{note_id}/not-interested", response=responses({200: HiddenOut}), auth=token_or_session)
def not_interested(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """Not interested (不喜欢): hides this note and similar ones (same author, same top category) from your
    feeds."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    services.note_not_interested(user=request.user, note=note, source=source)
    return {"hidden": True}


@router.delete("/notes/{note_id}/not-interested", response=responses({200: HiddenOut}), auth=token_or_session)
def not_interested_undo(request: HttpRequest, note_id: int, source: SourceIn = "direct"):
    """Undo "not interested": the note and similar ones may appear in your feeds again."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    services.note_not_interested_undo(user=request.user, note=note, source=source)
    return {"hidden": False}


@router.post("/notes/{note_id}/read", response=responses({200: CountedOut}), auth=optional_auth)
def read(request: HttpRequest, note_id: int, source: SourceIn = "direct", s: str = ""):
    """The note page reports that a note was opened (``s``: the share token it was opened through)."""
    note = note_get_for_viewer(viewer=_viewer(request), note_id=note_id)
    services.note_read(viewer=_viewer(request), note=note, source=source, share_token=s[:32])
    return {"counted": True}


# --- comments ---------------------------------------------------------------------------------------------------
@router.get("/notes/{note_id}/comments", response=responses({200: CommentPage}), auth=optional_auth)
def comments(request: HttpRequest, note_id: int, cursor: PageCursor = None, limit: PageLimit = None):
    """A note's comments, newest first (the pinned one on top), each with its replies."""
    viewer = _viewer(request)
    note = note_get_for_viewer(viewer=viewer, note_id=note_id)
    page = selectors.comments_for_note(viewer=viewer, note=note, cursor=cursor, limit=limit)
    return {
        "items": [comment_out(request, c, viewer) for c in page["items"]],
        "next_cursor": page["next_cursor"],
    }


@router.get("/comments/{comment_id}/replies", response=responses({200: ReplyPage}), auth=optional_auth)
def comment_replies(
    request: HttpRequest, comment_id: int, cursor: PageCursor = None, limit: PageLimit = None
):
    """The replies of a comment, oldest first (a comment in a list carries only its first three)."""
    viewer = _viewer(request)
    comment = selectors.comment_get_for_viewer(viewer=viewer, comment_id=comment_id)
    page = selectors.comment_replies(viewer=viewer, comment=comment, cursor=cursor, limit=limit)
    return {
        "items": [_reply_out(request, r, viewer) for r in page["items"]],
        "next_cursor": page["next_cursor"],
    }


@router.post("/notes/{note_id}/comments", response=responses({201: CommentOut}), auth=token_or_session)
def comment_create(request: HttpRequest, note_id: int, payload: CommentIn):
    """Comment on a note, or reply with ``parent`` (a reply to a reply joins the same thread)."""
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    parent = None
    if payload.parent is not None:
        parent = selectors.comment_get_for_viewer(viewer=request.user, comment_id=payload.parent)
    created = services.comment_create(
        author=request.user, note=note, body=payload.body, parent=parent, source=payload.source
    )
    return Status(201, comment_out(request, created, request.user))


@router.post("/comments/{comment_id}/like", response=responses({200: CommentLikeOut}), auth=token_or_session)
def comment_like(request: HttpRequest, comment_id: int):
    comment = selectors.comment_get_for_viewer(viewer=request.user, comment_id=comment_id)
    services.comment_like(user=request.user, comment=comment)
    comment.refresh_from_db(fields=["like_count"])
    return {"liked": True, "likes": comment.like_count}


@router.delete(
    "/comments/{comment_id}/like", response=responses({200: CommentLikeOut}), auth=token_or_session
)
def comment_unlike(request: HttpRequest, comment_id: int):
    comment = selectors.comment_get_for_viewer(viewer=request.user, comment_id=comment_id)
    services.comment_unlike(user=request.user, comment=comment)
    comment.refresh_from_db(fields=["like_count"])
    return {"liked": False, "likes": comment.like_count}


@router.delete("/comments/{comment_id}", response=responses({200: DeletedOut}), auth=token_or_session)
def comment_delete(request: HttpRequest, comment_id: int):
    """Delete your comment, or a comment on your note (its replies go with it)."""
    comment = selectors.comment_get_for_viewer(viewer=request.user, comment_id=comment_id)
    return {"deleted": services.comment_delete(user=request.user, comment=comment)}


@router.post("/comments/{comment_id}/pin", response=responses({200: PinOut}), auth=token_or_session)
def comment_pin(request: HttpRequest, comment_id: int, pinned: bool = True):
    """The note's author pins one comment on top (``?pinned=false`` unpins)."""
    comment = selectors.comment_get_for_viewer(viewer=request.user, comment_id=comment_id)
    services.comment_pin(user=request.user, comment=comment, pinned=pinned)
    return {"id": comment.pk, "pinned": pinned}


# --- boards -----------------------------------------------------------------------------------------------------
class BoardsQuery(Schema):
    owner: Text | None = Field(default=None, max_length=200)


@router.get("/boards", response=responses({200: BoardList}), auth=optional_auth)
def boards(request: HttpRequest, query: Query[BoardsQuery]):
    """A person's boards (``owner`` handle; default: yours). Private boards only for their owner."""
    viewer = _viewer(request)
    if query.owner:
        owner = user_get_for_viewer(viewer=viewer, handle=query.owner)
    elif viewer is not None:
        owner = viewer
    else:
        raise AuthenticationError()
    if viewer is not None and viewer.pk == owner.pk:
        services.board_default(owner=owner)
    items = selectors.boards_for_owner(viewer=viewer, owner=owner)
    return {"items": [board_out(request, b) for b in items], "next_cursor": None}


@router.post("/boards", response=responses({201: BoardOut}), auth=token_or_session)
def board_create(request: HttpRequest, payload: BoardIn):
    """A named board (专辑), public or private."""
    board = services.board_create(owner=request.user, name=payload.name, is_private=payload.private)
    return Status(201, board_out(request, board))


@router.get("/boards/{board_id}", response=responses({200: BoardOut}), auth=optional_auth)
def board_get(request: HttpRequest, board_id: int):
    return board_out(request, selectors.board_get_for_viewer(viewer=_viewer(request), board_id=board_id))


@router.patch("/boards/{board_id}", response=responses({200: BoardOut}), auth=token_or_session)
def board_patch(request: HttpRequest, board_id: int, payload: BoardPatch):
    """Rename a board or make it public/private (the owner only)."""
    board = selectors.board_get_for_viewer(viewer=request.user, board_id=board_id)
    if board.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the board's owner can change it."))
    return board_out(
        request, services.board_update(board=board, name=payload.name, is_private=payload.private)
    )


@router.get("/boards/{board_id}/notes", response=responses({200: NotePage}), auth=optional_auth)
def board_notes(request: HttpRequest, board_id: int, cursor: PageCursor = None, limit: PageLimit = None):
    viewer = _viewer(request)
    board = selectors.board_get_for_viewer(viewer=viewer, board_id=board_id)
    return _page_out(request, selectors.board_notes(viewer=viewer, board=board, cursor=cursor, limit=limit))

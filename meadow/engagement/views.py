"""Engagement pages and htmx fragments: the note's action bar (like, save into a board, share), comments with
replies, "not interested" on cards, the share card image, board pages and a profile's saved boards."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from meadow.accounts.selectors import user_get_for_viewer
from meadow.core.errors import DomainError
from meadow.engagement import selectors, services
from meadow.engagement.card import share_card_png
from meadow.engagement.models import Share
from meadow.notes.selectors import note_get_for_viewer


def _viewer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _needs_login(request: HttpRequest, next_url: str) -> HttpResponse:
    url = reverse("web:login") + "?next=" + next_url
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _actions(request: HttpRequest, note, *, share=None, error: str = "") -> HttpResponse:
    fresh = note_get_for_viewer(viewer=_viewer(request), note_id=note.pk)
    context = {
        "note": fresh,
        "share": share,
        "error": error,
        "source": services.source_clean(request.GET.get("source")),
    }
    return render(request, "engagement/_note_actions.html", context)


@require_POST
def note_action(request: HttpRequest, note_id: int, action: str) -> HttpResponse:
    """like / unlike / save / unsave / share / follow from the note's action bar (htmx; plain POST works)."""
    if not request.user.is_authenticated:
        return _needs_login(request, reverse("web:note", args=[note_id]))
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    source = services.source_clean(request.GET.get("source") or request.POST.get("source"))
    share = None
    error = ""
    try:
        if action == "like":
            services.note_like(user=request.user, note=note, source=source)
        elif action == "unlike":
            services.note_unlike(user=request.user, note=note, source=source)
        elif action == "save":
            board = None
            if request.POST.get("new_board", "").strip():
                board = services.board_create(
                    owner=request.user,
                    name=request.POST["new_board"],
                    is_private=bool(request.POST.get("private")),
                )
            elif request.POST.get("board", "").isdigit():
                board = selectors.board_get_for_viewer(
                    viewer=request.user, board_id=int(request.POST["board"])
                )
            services.note_save(user=request.user, note=note, board=board, source=source)
        elif action == "unsave":
            services.note_unsave(user=request.user, note=note, source=source)
        elif action == "share":
            share = services.note_share(user=request.user, note=note, source=source)
        elif action == "not-interested":
            services.note_not_interested(user=request.user, note=note, source=source)
            return HttpResponse("")
        else:
            raise Http404
    except DomainError as exc:
        error = str(exc.message)
    if not request.htmx:
        return redirect("web:note", note_id=note.pk)
    return _actions(request, note, share=share, error=error)


@login_required
def board_picker(request: HttpRequest, note_id: int) -> HttpResponse:
    note = note_get_for_viewer(viewer=request.user, note_id=note_id)
    services.board_default(owner=request.user)
    boards = selectors.boards_for_owner(viewer=request.user, owner=request.user)
    return render(request, "engagement/_board_picker.html", {"note": note, "boards": boards})


def _comments(request: HttpRequest, note, *, error: str = "", status: int = 200) -> HttpResponse:
    viewer = _viewer(request)
    page = selectors.comments_for_note(viewer=viewer, note=note, cursor=request.GET.get("cursor"), limit=50)
    note.refresh_from_db(fields=["comment_count"])
    context = {
        "note": note,
        "comments": page["items"],
        "next_cursor": page["next_cursor"],
        "error": error,
        "is_note_author": viewer is not None and viewer.pk == note.author_id,
    }
    return render(request, "engagement/_comments.html", context, status=status)


def note_comments(request: HttpRequest, note_id: int) -> HttpResponse:
    """The comment section (GET) and new comments or replies (POST)."""
    note = note_get_for_viewer(viewer=_viewer(request), note_id=note_id)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return _needs_login(request, reverse("web:note", args=[note_id]))
        parent = None
        if request.POST.get("parent", "").isdigit():
            parent = selectors.comment_get_for_viewer(
                viewer=request.user, comment_id=int(request.POST["parent"])
            )
        try:
            services.comment_create(
                author=request.user,
                note=note,
                body=request.POST.get("body", ""),
                parent=parent,
                source=services.source_clean(request.POST.get("source")),
            )
        except DomainError as exc:
            return _comments(request, note, error=str(exc.message), status=200 if request.htmx else 400)
        if not request.htmx:
            return redirect("web:note", note_id=note.pk)
    elif request.GET.get("cursor"):  # "More comments": the next page of items, appended in place
        viewer = _viewer(request)
        page = selectors.comments_for_note(viewer=viewer, note=note, cursor=request.GET["cursor"], limit=50)
        context = {
            "note": note,
            "comments": page["items"],
            "next_cursor": page["next_cursor"],
            "is_note_author": viewer is not None and viewer.pk == note.author_id,
        }
        return render(request, "engagement/_comment_items.html", context)
    return _comments(request, note)


def comment_replies(request: HttpRequest, comment_id: int) -> HttpResponse:
    """ "Show more replies" under a comment: the next replies (oldest first), appended in place."""
    from meadow.core.pagination import encode_cursor

    viewer = _viewer(request)
    comment = selectors.comment_get_for_viewer(viewer=viewer, comment_id=comment_id)
    if comment.parent_id:
        raise Http404
    after = request.GET.get("after", "")
    cursor = encode_cursor(int(after)) if after.isdigit() else request.GET.get("cursor")
    page = selectors.comment_replies(viewer=viewer, comment=comment, cursor=cursor, limit=20)
    context = {
        "comment": comment,
        "note": comment.note,
        "replies": page["items"],
        "next_cursor": page["next_cursor"],
        "is_note_author": viewer is not None and viewer.pk == comment.note.author_id,
    }
    return render(request, "engagement/_reply_items.html", context)


@require_POST
def comment_action(request: HttpRequest, comment_id: int, action: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return _needs_login(request, "/")
    comment = selectors.comment_get_for_viewer(viewer=request.user, comment_id=comment_id)
    error = ""
    try:
        if action == "like":
            services.comment_like(user=request.user, comment=comment)
        elif action == "unlike":
            services.comment_unlike(user=request.user, comment=comment)
        elif action == "delete":
            services.comment_delete(user=request.user, comment=comment)
        elif action == "pin":
            services.comment_pin(user=request.user, comment=comment, pinned=True)
        elif action == "unpin":
            services.comment_pin(user=request.user, comment=comment, pinned=False)
        else:
            raise Http404
    except DomainError as exc:
        error = str(exc.message)
    if not request.htmx:
        return redirect("web:note", note_id=comment.note_id)
    return _comments(request, comment.note, error=error)


def note_share_card(request: HttpRequest, note_id: int) -> HttpResponse:
    """A PNG share card for other apps: cover, title, author and the share link."""
    note = note_get_for_viewer(viewer=_viewer(request), note_id=note_id)
    token = (request.GET.get("s") or "")[:32]
    link = reverse("web:note", args=[note.pk])
    if token and Share.objects.filter(token=token, note=note).exists():
        link += f"?s={token}"
    png = share_card_png(note=note, url=request.build_absolute_uri(link))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


def board_page(request: HttpRequest, board_id: int) -> HttpResponse:
    viewer = _viewer(request)
    board = selectors.board_get_for_viewer(viewer=viewer, board_id=board_id)
    page = selectors.board_notes(viewer=viewer, board=board, cursor=request.GET.get("cursor"))
    is_owner = viewer is not None and viewer.pk == board.owner_id
    from meadow.notes.views import render_grid

    return render_grid(
        request,
        page,
        template="engagement/board.html",
        context={
            "board": board,
            "is_owner": is_owner,
            # A board belongs to its owner's profile (the Saved tab): Me for the owner, no tab for anyone else.
            "nav_section": "me" if is_owner else "",
        },
    )


def profile_saved(request: HttpRequest, handle: str) -> HttpResponse:
    """A profile's "Saved" tab: its boards (private ones only for the owner)."""
    viewer = _viewer(request)
    profile = user_get_for_viewer(viewer=viewer, handle=handle)
    if viewer is not None and viewer.pk == profile.pk:
        services.board_default(owner=profile)
    boards = selectors.boards_for_owner(viewer=viewer, owner=profile)
    covers = selectors.board_covers(viewer=viewer, boards=boards)
    return render(
        request,
        "engagement/saved.html",
        {
            "profile": profile,
            "rows": [(b, covers.get(b.pk, [])) for b in boards],
            "is_owner": viewer is not None and viewer.pk == profile.pk,
        },
    )

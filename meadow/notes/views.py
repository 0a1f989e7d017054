"""Note pages: topic pages, deleting a note and the waterfall grid's infinite-scroll fragments. The composer, a
draft's publish button and the note page (with its tagged products) compose apps above notes: ``meadow.publishing.views``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.notes import selectors, services

GRID_PAGE = 20


def _viewer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def render_grid(
    request: HttpRequest, page: dict[str, Any], *, template: str, context: dict[str, Any]
) -> HttpResponse:
    """A page with a waterfall grid; the grid's next pages come from the same URL as a fragment
    (``?cursor=…`` with the ``HX-Request`` header or ``fragment=1``), so infinite scroll needs no extra route."""
    if request.GET.get("cursor") and (request.htmx or request.GET.get("fragment")):
        return render(
            request, "notes/_cards.html", {"notes": page["items"], "next_cursor": page["next_cursor"]}
        )
    return render(request, template, {**context, "notes": page["items"], "next_cursor": page["next_cursor"]})


def hashtag_page(request: HttpRequest, name: str) -> HttpResponse:
    hashtag = selectors.hashtag_get(name=name, viewer=_viewer(request))
    page = selectors.notes_for_hashtag(
        viewer=_viewer(request), hashtag=hashtag, cursor=request.GET.get("cursor")
    )
    return render_grid(request, page, template="notes/hashtag.html", context={"hashtag": hashtag})


@login_required
@require_POST
def note_delete(request: HttpRequest, note_id: int) -> HttpResponse:
    note = selectors.note_get_for_viewer(viewer=request.user, note_id=note_id)
    if note.author_id != request.user.pk:
        raise Http404
    services.note_delete(note=note, user=request.user)
    messages.success(request, _("Note deleted."))
    return redirect("web:profile", handle=request.user.handle)

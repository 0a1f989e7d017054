"""The shell's pages: home (Following · Discover · Nearby), search, store, messages and the legal pages."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from meadow.accounts import selectors as account_selectors
from meadow.notes import selectors as note_selectors
from meadow.notes.views import render_grid

TABS = ("following", "discover", "nearby")


def home(request: HttpRequest) -> HttpResponse:
    """Following · Discover · Nearby over one waterfall grid. Discover shows the newest public notes until the
    distribution engine ranks it; Following, the newest from people I follow; Nearby, notes tagged near the
    place on my profile."""
    tab = request.GET.get("tab", "discover")
    if tab not in TABS:
        tab = "discover"
    viewer = request.user if request.user.is_authenticated else None
    cursor = request.GET.get("cursor")
    if tab == "following":
        page = note_selectors.notes_following(viewer=viewer, cursor=cursor)
    elif tab == "nearby":
        page = note_selectors.notes_nearby(
            viewer=viewer, place=viewer.location if viewer else "", cursor=cursor
        )
    else:
        page = note_selectors.notes_latest_public(viewer=viewer, cursor=cursor)
    context = {
        "tab": tab,
        "suggested": [] if cursor else account_selectors.users_suggested(viewer=viewer, limit=8),
    }
    return render_grid(request, page, template="web/home.html", context=context)


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    viewer = request.user if request.user.is_authenticated else None
    page = None
    if query:
        page = Paginator(account_selectors.users_search(query=query, viewer=viewer), 24).get_page(
            request.GET.get("page")
        )
    return render(request, "web/search.html", {"q": query, "page": page})


def store(request: HttpRequest) -> HttpResponse:
    return render(request, "web/store.html")


def messages_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "web/messages.html")


def legal(request: HttpRequest, document: str) -> HttpResponse:
    return render(request, f"web/{document}.html", {"version": settings.MEADOW_TERMS_VERSION})

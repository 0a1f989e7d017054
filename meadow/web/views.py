"""The shell's pages: home (Following · Discover · Nearby), search, store, messages and the legal pages."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from meadow.accounts import selectors as account_selectors

TABS = ("following", "discover", "nearby")


def home(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "discover")
    if tab not in TABS:
        tab = "discover"
    viewer = request.user if request.user.is_authenticated else None
    context = {"tab": tab, "suggested": account_selectors.users_suggested(viewer=viewer, limit=8)}
    return render(request, "web/home.html", context)


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

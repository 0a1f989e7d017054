"""The shell's pages: home (Following · Discover · Nearby), search, store, messages and the legal pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from meadow.accounts import selectors as account_selectors
from meadow.ads.services import sponsored_notes_insert
from meadow.notes import selectors as note_selectors
from meadow.notes.views import render_grid

TABS = ("following", "discover", "nearby")


def home(request: HttpRequest) -> HttpResponse:
    """Following · Discover · Nearby over one waterfall grid (the distribution feeds): Discover ranked for me,
    Following the newest from people I follow, Nearby the notes around my position (geolocation, when the
    browser allows it) or else tagged with the place on my profile."""
    tab = request.GET.get("tab", "discover")
    if tab not in TABS:
        tab = "discover"
    from meadow.core.errors import DomainError
    from meadow.distribution import selectors as feeds

    viewer = request.user if request.user.is_authenticated else None
    cursor = request.GET.get("cursor")
    lat, lng = request.GET.get("lat"), request.GET.get("lng")
    try:
        if tab == "following":
            page = feeds.feed_following(viewer=viewer, cursor=cursor)
        elif tab == "nearby" and lat and lng:  # the browser's position (geolocation allowed)
            page = feeds.feed_nearby(viewer=viewer, lat=lat, lng=lng, cursor=cursor)  # type: ignore[arg-type]
        elif tab == "nearby":  # else the place on the profile
            page = note_selectors.notes_nearby(
                viewer=viewer, place=viewer.location if viewer else "", cursor=cursor
            )
        else:
            page = feeds.feed_discover(viewer=viewer, cursor=cursor)
            page["items"] = sponsored_notes_insert(viewer=viewer, notes=page["items"], surface="discover")
    except DomainError:  # a stale or edited cursor, a point off the map: start again from the top
        page = {"items": [], "next_cursor": None}
    context = {
        "tab": tab,
        "geo": bool(lat and lng),
        # what Nearby is looking around: the browser's position, else the place on the profile, else nothing
        "nearby_place": viewer.location if viewer else "",
        "nearby_radius": f"{settings.MEADOW_NEARBY_RADIUS_KM:g}",
        "suggested": [] if cursor else account_selectors.users_suggested(viewer=viewer, limit=8),
    }
    return render_grid(request, page, template="web/home.html", context=context)


def search(request: HttpRequest) -> HttpResponse:
    """Search: tabs notes · people · topics · products, sort and filter controls, results in the waterfall
    grid (next pages as fragments from the same URL); recent and trending searches (热搜) when the box is
    empty; a gentle message instead of results for an adult query."""
    from urllib.parse import urlencode

    from meadow.core.errors import DomainError
    from meadow.search import selectors as search_selectors
    from meadow.search import services as search_services

    get = request.GET
    viewer = request.user if request.user.is_authenticated else None
    q = get.get("q", "").strip()[:100]
    tab = get.get("type", "notes") if get.get("type") in search_selectors.TYPES else "notes"
    options = {
        "sort": get.get("sort") or "relevance",
        "kind": get.get("kind") or "all",
        "time_range": get.get("time") or "all",
        "location": get.get("location", "")[:80],
    }
    cursor = get.get("cursor")
    context: dict = {"q": q, "tab": tab, "options": options, "error": None, "result": None}
    if q:
        try:
            filters = search_selectors.search_filters(**options)
            result = search_selectors.search_run(
                q=q, type=tab, viewer=viewer, filters=filters, cursor=cursor, limit=20
            )
        except DomainError as exc:
            context["error"] = exc.message
            result = None
        else:
            if result.notice is None and not cursor:
                search_services.search_record(
                    query=search_selectors.search_parse(q),
                    user=viewer,
                    searcher=search_services.searcher_key(
                        user=viewer, address=request.META.get("REMOTE_ADDR", "")
                    ),
                )
            context["result"] = result
        params = {"q": q, "type": tab, "sort": options["sort"], "kind": options["kind"]}
        params.update({"time": options["time_range"], "location": options["location"]})
        context["search_params"] = urlencode({k: v for k, v in params.items() if v})
        if (
            tab == "notes"
            and result is not None
            and result.notice is None
            and not result.items
            and not cursor
        ):
            # a person's name typed in the Notes tab: say that People has matches
            context["people_count"] = search_selectors.search_people_count(q=q, viewer=viewer)
        if tab == "notes" and result is not None and result.notice is None:
            items = sponsored_notes_insert(viewer=viewer, notes=list(result.items), surface="search", query=q)
            page = {"items": items, "next_cursor": result.next_cursor}
            if cursor and (request.htmx or get.get("fragment")):
                return render(
                    request,
                    "web/_search_cards.html",
                    {**context, "notes": items, "next_cursor": result.next_cursor},
                )
            return render_grid(request, page, template="web/search.html", context=context)
    else:
        context["trending"] = search_selectors.search_trending()
        context["topics"] = note_selectors.hashtags_trending(limit=8)
        context["recent"] = search_selectors.search_recent(user=viewer) if viewer else []
    return render(request, "web/search.html", context)


def store(request: HttpRequest) -> HttpResponse:
    from meadow.store.views import store_home  # the store app renders on-sale products

    return store_home(request)


def legal(request: HttpRequest, document: str) -> HttpResponse:
    return render(request, f"web/{document}.html", {"version": settings.MEADOW_TERMS_VERSION})

"""Search endpoints: search (notes, users, hashtags, products), suggestions while typing, trending searches
(热搜) and the account's recent searches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from meadow.accounts.api import UserOut, user_out
from meadow.accounts.models import User
from meadow.core.http import optional_auth, responses, token_or_session
from meadow.core.pagination import PageLimit
from meadow.core.schema import NON_BLANK_PATTERN, Limits
from meadow.notes.api import NoteOut, SponsoredOut, note_out
from meadow.search import selectors, services
from meadow.search.backends import CURSOR_PATTERN

# ``?cursor=``: the ``next_cursor`` of the page before (an offset and the moment of the first page).
SearchCursor = Annotated[str, Limits(format="search-cursor", pattern=CURSOR_PATTERN)] | None

router = Router(tags=["search"])


class SearchHashtagHitOut(Schema):
    name: str
    display_name: str
    count: int


class SearchProductHitOut(Schema):
    id: int
    title: str
    price: str
    currency: str
    cover: str | None
    shop: str


class SearchNoticeOut(Schema):
    code: str
    message: str


class SearchNoteOut(NoteOut):
    sponsored: SponsoredOut | None = (
        None  # only on an ad (a Spotlight campaign's note), never on a found note
    )


class SearchOut(Schema):
    type: Literal["notes", "users", "hashtags", "products"]
    query: str
    items: list[SearchNoteOut | UserOut | SearchHashtagHitOut | SearchProductHitOut]
    next_cursor: str | None
    notice: SearchNoticeOut | None
    # A person's name typed in the notes tab: on a first notes page with no notes, how many people match (the
    # People tab, ``type=users``; at most 99), so that the answer points there; null otherwise.
    people_count: int | None = None


class SearchSuggestUserOut(Schema):
    handle: str
    display_name: str
    avatar: str | None


class SearchSuggestOut(Schema):
    queries: list[str]
    hashtags: list[SearchHashtagHitOut]
    users: list[SearchSuggestUserOut]


class SearchTrendingItemOut(Schema):
    query: str
    searchers: int


class SearchTrendingOut(Schema):
    items: list[SearchTrendingItemOut]


class SearchRecentOut(Schema):
    items: list[str]


# The HTTP layer (meadow.api) registers what adds sponsored notes to a page of note results (meadow.ads, a higher
# app): relevance stays free of ads, and this app does not import the one that sells them.
SearchHook = Callable[[HttpRequest, "User | None", str, list[dict]], list[dict]]
_search_hooks: list[SearchHook] = []


def search_hook_add(hook: SearchHook) -> None:
    if hook not in _search_hooks:
        _search_hooks.append(hook)


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _hashtag(h) -> dict:
    return {"name": h.name, "display_name": h.display_name, "count": h.use_count}


@router.get("", response=responses({200: SearchOut}), auth=optional_auth)
def search(
    request: HttpRequest,
    q: Annotated[str, Limits(max_length=selectors.QUERY_MAX, pattern=NON_BLANK_PATTERN)] = Query(
        ..., description="What to search for (Chinese, English or Malay)."
    ),
    type: Literal["notes", "users", "hashtags", "products"] = "notes",
    sort: Literal["relevance", "latest", "likes", "comments", "saves"] = "relevance",
    kind: Literal["all", "image", "video"] = "all",
    time: Literal["all", "day", "week", "month", "year"] = "all",
    location: str = Query("", max_length=80, description="Only notes whose location contains this."),
    cursor: SearchCursor = None,
    limit: PageLimit = None,
):
    """Search notes (ranked by text relevance × engagement × freshness; or ``sort`` by latest, likes, comments,
    saves), people, topics or products. Text is segmented (jieba) and normalised like moderation (case, width,
    traditional → simplified), so 臺灣 finds 台湾. Only content anyone may see is found; an adult query
    answers no items and a ``notice`` (code ``sensitive_query``). Pages are capped at 1,000 results.
    ``type=products`` answers an empty list until the store registers its product search. Spotlight ads whose
    keywords match the query may take the fixed slots of a page of notes (3, 13, 23 by default), each with a
    ``sponsored`` block (label, why, click token). A first page of notes that finds none says in
    ``people_count`` how many people match (a name typed in the notes tab: see ``type=users``)."""
    viewer = _viewer(request)
    filters = selectors.search_filters(sort=sort, kind=kind, time_range=time, location=location)
    result = selectors.search_run(q=q, type=type, viewer=viewer, filters=filters, cursor=cursor, limit=limit)
    if result.notice is None and not cursor:
        services.search_record(
            query=selectors.search_parse(q),
            user=viewer,
            searcher=services.searcher_key(user=viewer, address=request.META.get("REMOTE_ADDR", "")),
        )
    if result.type == "notes":
        items = [note_out(request, n) for n in result.items]
        if result.notice is None:
            for hook in _search_hooks:
                items = hook(request, viewer, q, items)
    elif result.type == "users":
        items = [user_out(request, u) for u in result.items]
    elif result.type == "hashtags":
        items = [_hashtag(h) for h in result.items]
    else:
        items = list(result.items)
    people_count = None
    if result.type == "notes" and result.notice is None and not items and not cursor:
        people_count = selectors.search_people_count(q=q, viewer=viewer)
    return {
        "type": result.type,
        "query": result.query,
        "items": items,
        "next_cursor": result.next_cursor,
        "notice": result.notice,
        "people_count": people_count,
    }


@router.get("/suggest", response=responses({200: SearchSuggestOut}), auth=optional_auth)
def suggest(request: HttpRequest, q: str = Query("", max_length=100)):
    """Suggestions while typing: popular searches, topics and people starting with ``q`` (five of each)."""
    found = selectors.search_suggest(q=q, viewer=_viewer(request))
    return {
        "queries": found["queries"],
        "hashtags": [_hashtag(h) for h in found["hashtags"]],
        "users": [
            {
                "handle": u.handle,
                "display_name": u.display_name,
                "avatar": request.build_absolute_uri(u.avatar.url) if u.avatar else None,
            }
            for u in found["users"]
        ],
    }


@router.get("/trending", response=responses({200: SearchTrendingOut}), auth=optional_auth)
def trending(request: HttpRequest):
    """Trending searches (热搜): the most searched queries of the last hours by distinct people, sensitive ones
    excluded."""
    return {"items": selectors.search_trending()}


@router.get("/recent", response=responses({200: SearchRecentOut}), auth=token_or_session)
def recent(request: HttpRequest):
    """The caller's recent searches, newest first."""
    return {"items": selectors.search_recent(user=request.user)}


@router.delete(
    "/recent", response=responses({204: None}), auth=token_or_session, url_name="search_recent_clear"
)
def recent_clear(request: HttpRequest):
    """Forget the caller's recent searches."""
    services.recent_searches_clear(user=request.user)
    return Status(204, None)

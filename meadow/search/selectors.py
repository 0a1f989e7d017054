"""Reads for search: notes (full text, ranked — see ``meadow.search.backends`` for the formula), users,
hashtags and products; suggestions while typing; trending searches (热搜); recent searches.

Safe results: only notes any reader may see anywhere (``meadow.notes.selectors._public_notes``: published,
media ready, public, from a public and active account) pass, then ``_safe_notes_filter`` removes what
enforcement limits (限流, held for review) and notes with an ``adult`` image finding. A query that is itself an
adult term (``moderation_check(text=q, field="comment")`` has an ``adult`` hit) answers nothing at all, with a
gentle message, whatever the tab.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.accounts.selectors import users_search
from meadow.core.errors import ValidationFailed
from meadow.core.pagination import clamp_limit
from meadow.moderation.services import moderation_check
from meadow.notes.models import Hashtag, Note
from meadow.notes.selectors import _exclude_blocked, _public_notes, notes_with_relations
from meadow.notes.text import normalize_hashtag
from meadow.search.analysis import ParsedQuery, add_words, normalize, parse_query
from meadow.search.backends import (
    KINDS,
    MAX_RESULTS,
    SORTS,
    TIME_RANGES,
    Cursor,
    SearchFilters,
    cursor_decode,
    cursor_encode,
    search_backend,
)
from meadow.search.models import RecentSearch, SearchLog

TYPES = ("notes", "users", "hashtags", "products")
TRENDING_HOURS = 6
TRENDING_LIMIT = 10
TRENDING_CACHE_SECONDS = 300
POPULAR_DAYS = 7
POPULAR_CACHE_SECONDS = 600
SUGGEST_EACH = 5
USER_DICTIONARY_SIZE = 5000


def _min_searchers() -> int:
    return int(getattr(settings, "MEADOW_SEARCH_TRENDING_MIN_SEARCHERS", 3))


# --- safety ----------------------------------------------------------------------------------------------------------
def _safe_notes_filter(qs: QuerySet[Note]) -> QuerySet[Note]:
    """THE plug for content search must never find, on top of ``_public_notes()`` (which already applies
    enforcement's shared filter ``meadow.enforcement.selectors.visible_in_distribution``: limited accounts and
    notes, notes held for review): notes with an ``adult`` image finding (``moderation.ModerationFinding``)."""
    finding = _adult_finding_model()
    if finding is not None:
        qs = qs.exclude(pk__in=finding.objects.filter(category="adult").values("note_id"))
    return qs


@functools.cache
def _adult_finding_model():
    """``meadow.moderation.models.ModerationFinding`` when it exists (image moderation) with a note link
    (looked up once per process: the app registry does not change)."""
    try:
        model = apps.get_model("moderation", "ModerationFinding")
    except LookupError:
        return None
    names = {f.name for f in model._meta.get_fields()}
    return model if {"note", "category"} <= names else None


def searchable_notes(*, viewer: User | None) -> QuerySet[Note]:
    """Every note search may show ``viewer``."""
    return _exclude_blocked(_safe_notes_filter(_public_notes()), viewer)


def query_is_sensitive(text: str) -> bool:
    """True when the query itself is an adult term (AV, 约炮, porn, lucah …)."""
    if not text:
        return False
    result = moderation_check(text=text[:200], field="comment")
    return any(hit.category == "adult" for hit in result.hits)


def _passes(text: str) -> bool:
    """Fit to show others (trending, suggestions): the moderation engine passes it in a comment."""
    return moderation_check(text=text[:200], field="comment").verdict == "pass"


# --- user dictionary -------------------------------------------------------------------------------------------------
_dictionary_lock = threading.Lock()
_dictionary_loaded = False


def _ensure_user_dictionary() -> None:
    """Once per process: the most used hashtags become jieba words (new ones are added as notes are indexed)."""
    global _dictionary_loaded
    if _dictionary_loaded:
        return
    with _dictionary_lock:
        if not _dictionary_loaded:
            names = Hashtag.objects.filter(use_count__gt=0).order_by("-use_count")
            add_words(names.values_list("name", flat=True)[:USER_DICTIONARY_SIZE])
            _dictionary_loaded = True


QUERY_MAX = 200  # characters of a search query


def search_parse(raw: str) -> ParsedQuery:
    """Validate and parse a query: 400 ``empty_query`` when nothing searchable is left."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed(_("Type something to search for."), field="q", code="empty_query")
    if len(text) > QUERY_MAX:
        raise ValidationFailed(
            _("A search can have at most %(max)d characters.") % {"max": QUERY_MAX},
            field="q",
            code="query_too_long",
        )
    _ensure_user_dictionary()
    return parse_query(text)


# --- search ------------------------------------------------------------------------------------------------------
@dataclass
class SearchResult:
    type: str
    query: str
    items: list[Any] = field(default_factory=list)
    next_cursor: str | None = None
    notice: dict[str, str] | None = None


def sensitive_notice() -> dict[str, str]:
    return {
        "code": "sensitive_query",
        "message": _(
            "Meadow doesn't show results for this search. Let's keep discovering something lovely instead — "
            "try a place, a dish or a hobby."
        ),
    }


def _choice(value: str, allowed, *, field_name: str) -> str:
    if value not in allowed:
        raise ValidationFailed(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": str(value)[:40], "choices": ", ".join(allowed)},
            field=field_name,
            code="invalid_choice",
        )
    return value


def search_filters(
    *, sort: str = "relevance", kind: str = "all", time_range: str = "all", location: str = ""
) -> SearchFilters:
    return SearchFilters(
        sort=_choice(sort or "relevance", SORTS, field_name="sort"),
        kind=_choice(kind or "all", KINDS, field_name="kind"),
        time_range=_choice(time_range or "all", tuple(TIME_RANGES), field_name="time"),
        location=(location or "").strip()[:80],
    )


def search_notes(
    *,
    query: ParsedQuery,
    viewer: User | None,
    filters: SearchFilters,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[Note], str | None]:
    """One page of notes matching ``query``, ranked, with everything the note shape needs (a fixed number of
    queries whatever the page size: the ranked ids, then the notes and their relations)."""
    page = search_backend().search(query, filters, cursor, notes=searchable_notes(viewer=viewer), limit=limit)
    if not page.ids:
        return [], None
    found = {n.pk: n for n in notes_with_relations(Note.objects.filter(pk__in=page.ids))}
    return [found[i] for i in page.ids if i in found], page.next_cursor


def _offset_page(qs: QuerySet, *, cursor: str | None, limit: int | None) -> tuple[list[Any], str | None]:
    """Offset pages over a bounded, totally ordered list (users and hashtags), with the search cursor."""
    size = clamp_limit(limit)
    position = cursor_decode(cursor) or Cursor(offset=0, now=timezone.now().timestamp())
    end = min(position.offset + size, MAX_RESULTS)
    rows = list(qs[position.offset : end + 1])
    more = len(rows) > end - position.offset and end < MAX_RESULTS
    rows = rows[: end - position.offset]
    return rows, (cursor_encode(Cursor(offset=end, now=position.now)) if more and rows else None)


def search_users(
    *, query: ParsedQuery, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> tuple[list[User], str | None]:
    """Active people whose handle or name contains the query, most followed first; nobody in a block with
    the viewer."""
    qs = users_search(query=query.text, viewer=viewer)
    if viewer is not None and viewer.is_authenticated:
        qs = qs.exclude(blocks_received__blocker=viewer)
    return _offset_page(qs, cursor=cursor, limit=limit)


def search_people_count(*, q: str, viewer: User | None, cap: int = 99) -> int:
    """How many people the People tab would show for ``q`` (at most ``cap``): the hint under an empty notes
    result ("No notes found — 3 people match")."""
    query = search_parse(q)
    if not query.text:
        return 0
    qs = users_search(query=query.text, viewer=viewer)
    if viewer is not None and viewer.is_authenticated:
        qs = qs.exclude(blocks_received__blocker=viewer)
    return len(qs.values_list("pk", flat=True)[:cap])


def search_hashtags(
    *, query: ParsedQuery, cursor: str | None = None, limit: int | None = None
) -> tuple[list[Hashtag], str | None]:
    """Topics in use whose name contains the query (any spelling), the most used first; topics the moderation
    engine would not pass in a comment are left out."""
    name = normalize_hashtag(query.text)
    words = [alt[0] for term in query.terms for alt in term[:1] if alt]
    condition = Q(name__contains=name) if name else Q()
    if len(words) > 1:
        every = Q()
        for word in words:
            every &= Q(name__contains=word)
        condition |= every
    qs = Hashtag.objects.filter(condition, use_count__gt=0).order_by("-use_count", "-id")
    rows, next_cursor = _offset_page(qs, cursor=cursor, limit=limit)
    return [h for h in rows if _passes(h.display_name)], next_cursor


# Products: the store registers a provider (``register_product_provider``); until then the tab is empty.
ProductProvider = Callable[..., tuple[list[dict[str, Any]], str | None]]
_product_providers: list[ProductProvider] = []


def register_product_provider(provider: ProductProvider) -> None:
    """Called by the store app at start-up: ``provider(query=ParsedQuery, viewer=…, cursor=…, limit=…)``
    returns ``(items, next_cursor)`` in the ``SearchProductHitOut`` shape, safe results only."""
    if provider not in _product_providers:
        _product_providers.append(provider)


def search_products(
    *, query: ParsedQuery, viewer: User | None, cursor: str | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    clamp_limit(limit)
    for provider in _product_providers:
        return provider(query=query, viewer=viewer, cursor=cursor, limit=limit)
    return [], None


def search_run(
    *,
    q: str,
    type: str = "notes",
    viewer: User | None = None,
    filters: SearchFilters | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> SearchResult:
    """The search page and ``GET /api/v1/search``: validate, refuse adult queries gently, dispatch by type."""
    type = _choice(type or "notes", TYPES, field_name="type")
    filters = filters or SearchFilters()
    query = search_parse(q)
    clamp_limit(limit)
    cursor_decode(cursor)
    result = SearchResult(type=type, query=query.text)
    if query_is_sensitive(query.text) or query_is_sensitive(q):
        result.notice = sensitive_notice()
        return result
    if type == "notes":
        result.items, result.next_cursor = search_notes(
            query=query, viewer=viewer, filters=filters, cursor=cursor, limit=limit
        )
    elif type == "users":
        result.items, result.next_cursor = search_users(
            query=query, viewer=viewer, cursor=cursor, limit=limit
        )
    elif type == "hashtags":
        result.items, result.next_cursor = search_hashtags(query=query, cursor=cursor, limit=limit)
    else:
        result.items, result.next_cursor = search_products(
            query=query, viewer=viewer, cursor=cursor, limit=limit
        )
    return result


# --- trending, popular, recent, suggestions ------------------------------------------------------------------------
def _popular(*, since: timedelta, limit: int) -> list[tuple[str, int]]:
    """Queries searched by at least the minimum number of distinct people since ``since`` ago, with that
    number, most searched first; queries the moderation engine would not pass are dropped."""
    rows = (
        SearchLog.objects.filter(created_at__gte=timezone.now() - since)
        .values("query")
        .annotate(people=Count("searcher", distinct=True), times=Count("id"))
        .filter(people__gte=_min_searchers())
        .order_by("-people", "-times", "query")[: limit * 3]
    )
    kept = [(row["query"], row["people"]) for row in rows if _passes(row["query"])]
    return kept[:limit]


def search_trending(*, limit: int = TRENDING_LIMIT) -> list[dict[str, Any]]:
    """Trending searches (热搜): the most searched queries of the last six hours by distinct people (at least
    ``MEADOW_SEARCH_TRENDING_MIN_SEARCHERS``, default 3), sensitive queries excluded. Cached five minutes."""
    key = f"search:trending:{limit}"
    found = cache.get(key)
    if found is None:
        found = [
            {"query": q, "searchers": n}
            for q, n in _popular(since=timedelta(hours=TRENDING_HOURS), limit=limit)
        ]
        cache.set(key, found, TRENDING_CACHE_SECONDS)
    return found


def _popular_queries() -> list[str]:
    key = "search:popular"
    found = cache.get(key)
    if found is None:
        found = [q for q, _n in _popular(since=timedelta(days=POPULAR_DAYS), limit=500)]
        cache.set(key, found, POPULAR_CACHE_SECONDS)
    return found


def search_recent(*, user: User, limit: int = 10) -> list[str]:
    return list(
        RecentSearch.objects.filter(user=user)
        .order_by("-searched_at", "-id")
        .values_list("query", flat=True)[:limit]
    )


def search_suggest(*, q: str, viewer: User | None = None) -> dict[str, list[Any]]:
    """Suggestions while typing: popular queries, hashtags and people that start with what was typed (five of
    each). Nothing for an adult prefix; nothing the moderation engine would not pass."""
    text = normalize(q or "")[:100]
    empty: dict[str, list[Any]] = {"queries": [], "hashtags": [], "users": []}
    if not text or query_is_sensitive(text):
        return empty
    queries = [p for p in _popular_queries() if p.startswith(text) and p != text][:SUGGEST_EACH]
    tag = normalize_hashtag(text)
    hashtags = (
        list(Hashtag.objects.filter(name__startswith=tag, use_count__gt=0).order_by("-use_count", "-id")[:10])
        if tag
        else []
    )
    handle = text.lstrip("@").replace(" ", "")
    people = User.objects.filter(is_active=True).filter(
        Q(handle__istartswith=handle) | Q(display_name__istartswith=text)
    )
    if viewer is not None and viewer.is_authenticated:
        people = people.exclude(blocks_made__blocked=viewer).exclude(blocks_received__blocker=viewer)
    users = list(people.order_by("-followers_count", "id")[:SUGGEST_EACH]) if handle else []
    return {
        "queries": queries,
        "hashtags": [h for h in hashtags if _passes(h.display_name)][:SUGGEST_EACH],
        "users": [u for u in users if _passes(u.display_name)],
    }

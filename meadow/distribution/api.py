"""Feed endpoints: Discover (personalised, ranked), Following, Nearby, and "why am I seeing this?".

Every card is the note shape plus ``impression_token`` (echo it to ``POST /impressions`` in ``tokens`` when the
card is shown) and ``reasons`` (``[{"kind", "detail"}]``: pool, interest, follow, cf, trending, location,
popular — ``GET /notes/{id}/why`` says them in words).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

from meadow.accounts.models import User
from meadow.core.http import json_response, optional_auth, responses
from meadow.core.metrics import FEED_SECONDS, timed
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import JSONId, Limits, Text
from meadow.distribution import cards, selectors
from meadow.distribution.following import following_page
from meadow.distribution.services import impressions_from_tokens, pools_record_impressions
from meadow.engagement.api import SourceIn
from meadow.engagement.services import IMPRESSIONS_MAX, impressions_record
from meadow.notes.api import NoteOut, SponsoredOut, note_out
from meadow.notes.selectors import note_get_for_viewer, notes_following_visible

# The feeds' own cursors (a ranked session and an offset; an offset): opaque ``next_cursor`` tokens too.
DiscoverCursor = (
    Annotated[str, Limits(format="discover-cursor", pattern=selectors.DISCOVER_CURSOR_PATTERN)] | None
)
NearbyCursor = Annotated[str, Limits(format="nearby-cursor", pattern=selectors.NEARBY_CURSOR_PATTERN)] | None

router = Router(tags=["feeds"])


class ReasonOut(Schema):
    kind: str
    detail: str


class WhyReasonOut(ReasonOut):
    text: str


class FeedCardOut(NoteOut):
    impression_token: str
    reasons: list[ReasonOut]
    pool_level: int
    distance_km: float | None = None
    sponsored: SponsoredOut | None = (
        None  # only on an ad (a Spotlight campaign's note), never on a ranked card
    )


# The HTTP layer (meadow.api) registers what adds sponsored cards to a Discover page (meadow.ads, a higher app):
# the ranking above stays free of ads, and this app does not import the one that sells them.
DiscoverHook = Callable[[HttpRequest, "User | None", list[dict]], list[dict]]
_discover_hooks: list[DiscoverHook] = []


def discover_hook_add(hook: DiscoverHook) -> None:
    if hook not in _discover_hooks:
        _discover_hooks.append(hook)


class FeedPage(Schema):
    items: list[FeedCardOut]
    next_cursor: str | None


class WhyOut(Schema):
    note: int
    reasons: list[WhyReasonOut]


def _viewer(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _card(request: HttpRequest, note) -> dict:
    out = note_out(request, note)
    out["impression_token"] = note.impression_token
    out["reasons"] = [{"kind": k, "detail": d} for k, d in note.feed_reasons]
    out["pool_level"] = note.feed_level
    out["distance_km"] = getattr(note, "distance_km", None)
    return out


def _page(request: HttpRequest, page: dict) -> dict:
    return {"items": [_card(request, n) for n in page["items"]], "next_cursor": page["next_cursor"]}


@router.get("/feed/discover", response=responses({200: FeedPage}), auth=optional_auth)
def discover(request: HttpRequest, cursor: DiscoverCursor = None, limit: PageLimit = None):
    """Discover: notes ranked for you from your traffic pools, interests, similar readers, people you follow
    and what is trending — never one you already saw or hid, at most 2 of one author in any 20. Keep the
    ``next_cursor`` for the next page: pages of one session never repeat a card."""
    viewer = _viewer(request)
    page = selectors.discover_page(viewer=viewer, cursor=cursor, limit=limit)
    rows = {row[0]: row for row in page["rows"]}
    items = cards.feed_cards(
        request, viewer=viewer, ids=list(rows), visible=page["visible"], checked=page["checked"]
    )
    for card in items:
        row = rows[card["id"]]
        card["impression_token"] = selectors.discover_token(viewer=viewer, row=row)
        card["reasons"] = [{"kind": k, "detail": d} for k, d in row[1]]
        card["pool_level"] = row[3]
        card["distance_km"] = None
    for hook in _discover_hooks:
        items = hook(request, viewer, items)
    return _render(request, {"items": items, "next_cursor": page["next_cursor"]})


def _render(request: HttpRequest, data: dict) -> HttpResponse:
    """The page as JSON through the API's renderer, without pydantic re-validating every card (the single
    most expensive step of a cached page before): the cards are ``note_out``'s shape by construction, and the
    tests check the answer against ``FeedPage`` and against ``GET /notes/{id}``."""
    return json_response(request, data, status=200)


@router.get("/feed/following", response=responses({200: FeedPage}), auth=optional_auth)
def following(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    """The newest notes of the accounts you follow (empty when signed out)."""
    with timed(FEED_SECONDS, feed="following"):  # as Discover's page is (meadow_feed_seconds)
        return _following(request, cursor, limit)


def _following(request: HttpRequest, cursor: str | None, limit: int | None):
    viewer = _viewer(request)
    page = None
    # The precomputed feed's ids, then one live query for the cards (distribution/following.py).
    if viewer is not None:
        visible = notes_following_visible(viewer=viewer)
        authors: dict[int, int] = {}

        def fetch(entries: list[tuple[int, int]]) -> list[dict]:
            authors.update(entries)
            ids = [n for n, _a in entries]
            return cards.feed_cards(request, viewer=viewer, ids=ids, visible=visible, followers=True)

        def older(c: str | None, n: int) -> dict:
            return _page(request, selectors.feed_following_notes(viewer=viewer, cursor=c, limit=n))

        page = following_page(
            viewer=viewer, cursor=cursor, limit=limit, fetch=fetch, key=lambda card: card["id"], older=older
        )
        if page is not None:
            fresh = [c for c in page["items"] if "impression_token" not in c]
            selectors.following_cards_decorate(viewer=viewer, cards=fresh, authors=authors)
            return _render(request, page)
    return _page(request, selectors.feed_following_notes(viewer=viewer, cursor=cursor, limit=limit))


@router.get("/feed/nearby", response=responses({200: FeedPage}), auth=optional_auth)
def nearby(
    request: HttpRequest,
    lat: Annotated[float, Limits(minimum=-90, maximum=90)],
    lng: Annotated[float, Limits(minimum=-180, maximum=180)],
    cursor: NearbyCursor = None,
    limit: PageLimit = None,
):
    """Public notes within the nearby radius (default 10 km) of ``lat``/``lng``, nearest and freshest first.
    The point is rounded to about 1 km, as notes store it."""
    return _page(
        request, selectors.feed_nearby(viewer=_viewer(request), lat=lat, lng=lng, cursor=cursor, limit=limit)
    )


@router.get("/notes/{note_id}/why", response=responses({200: WhyOut}), auth=optional_auth)
def why(request: HttpRequest, note_id: int):
    """Why you are seeing this note, in plain words: the traffic pool, your matching interests, or the author
    you follow."""
    viewer = _viewer(request)
    note = note_get_for_viewer(viewer=viewer, note_id=note_id)
    reasons = selectors.note_why_reasons(viewer=viewer, note=note)
    return {"note": note.pk, "reasons": selectors.why_texts(reasons=reasons, viewer=viewer)}


# --- impressions --------------------------------------------------------------------------------------------------
# The endpoint sits with the feeds because it orchestrates them over engagement: it checks distribution's signed
# card tokens, records the impressions through engagement, and feeds the traffic pools. Its place in the API
# contract (the "engagement" tag, the operation id) is unchanged.
class ImpressionsIn(Schema):
    note_ids: list[JSONId] = Field(default=[], max_length=IMPRESSIONS_MAX)
    source: SourceIn = "discover"
    # The feed cards' signed impression tokens (distribution): each counts with the card's own source.
    tokens: list[Annotated[Text, Field(max_length=200)]] = Field(default=[], max_length=IMPRESSIONS_MAX)


class ImpressionsOut(Schema):
    counted: int


@router.post(
    "/impressions",
    response=responses({200: ImpressionsOut}),
    auth=optional_auth,
    tags=["engagement"],
    operation_id="meadow_engagement_api_impressions",
)
def impressions(request: HttpRequest, payload: ImpressionsIn):
    """Cards a client showed, in bulk (up to 100 note ids and/or the cards' ``impression_token``s). A token
    counts with the feed it came from; a token of another reader, or not signed here, is ignored. Impressions
    feed the notes' traffic pools."""
    viewer = _viewer(request)
    counted = impressions_from_tokens(viewer=viewer, tokens=payload.tokens, exclude=payload.note_ids)
    if payload.note_ids:
        counted += impressions_record(viewer=viewer, note_ids=payload.note_ids, source=payload.source)
        pools_record_impressions(note_ids=payload.note_ids)
    return {"counted": counted}

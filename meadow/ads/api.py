"""Spotlight ads endpoints: top-ups and the balance, campaigns (create, read, change, pause, resume), the
moderators' decision, and click charging. Ads inside feeds and search results are added by the HTTP layer
(``meadow.api``) through ``ads_page_decorate``, so the ranking code stays free of ads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictBool

from meadow.ads import services
from meadow.ads.models import Campaign
from meadow.core.http import optional_auth, responses, token_or_session
from meadow.core.schema import NO_NUL_PATTERN, JSONId, JSONInt, Limits, NonBlankText, Text

router = Router(tags=["ads"])
PathId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # larger ids would overflow the database

Money = Annotated[
    Annotated[str, Limits(pattern=services.MONEY_PATTERN)]
    | Annotated[JSONInt, Limits(minimum=0, maximum=999999999)],
    Field(description='MYR: a decimal string with at most 2 decimals (e.g. "12.50") or a whole number'),
]
ShortList = Annotated[
    list[Annotated[str, Limits(max_length=services.KEYWORD_MAX, pattern=NO_NUL_PATTERN)]],
    Limits(max_items=services.TARGET_LIST_MAX),
]
Age = Annotated[JSONInt, Limits(minimum=13, maximum=100)]


TopUpAmount = Annotated[
    Annotated[str, Limits(pattern=services.TOPUP_PATTERN)]
    | Annotated[JSONInt, Limits(minimum=int(services.TOPUP_MIN), maximum=int(services.TOPUP_MAX))],
    Field(
        description="MYR from 10.00 to 100000.00: a decimal string with at most 2 decimals or a whole number"
    ),
]


class TopUpIn(Schema):
    amount: TopUpAmount


class TopUpOut(Schema):
    id: int
    pay_url: str


class BalanceOut(Schema):
    balance: Decimal
    currency: str


class TargetingIn(Schema):
    interests: ShortList = Field(default_factory=list)
    keywords: ShortList = Field(default_factory=list)
    states: ShortList = Field(default_factory=list)
    age_min: Age | None = None
    age_max: Age | None = None
    gender: Literal["", "female", "male", "other"] = ""
    lookalike: StrictBool = False


class CampaignIn(Schema):
    name: Annotated[NonBlankText, Limits(max_length=services.NAME_MAX)]
    objective: Literal["reads", "sales", "leads"]
    note: JSONId | None = None
    product: JSONId | None = None
    bid_type: Literal["cpc"] = "cpc"
    bid: Money
    daily_budget: Money
    total_budget: Money
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    targeting: TargetingIn | None = None


class CampaignPatch(Schema):
    name: Annotated[NonBlankText, Limits(max_length=services.NAME_MAX)] | None = None
    note: JSONId | None = None
    product: JSONId | None = None
    bid: Money | None = None
    daily_budget: Money | None = None
    total_budget: Money | None = None
    targeting: TargetingIn | None = None


class CampaignCreatedOut(Schema):
    id: int
    status: str


class AdDayOut(Schema):
    day: date
    impressions: int
    clicks: int
    ctr: Decimal
    spend: Decimal


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    objective: str
    note: int | None
    product: int | None
    bid_type: str
    bid: Decimal
    daily_budget: Decimal
    total_budget: Decimal
    spend: Decimal
    impressions: int
    clicks: int
    ctr: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    targeting: dict[str, Any]
    review_reason: str
    days: list[AdDayOut]


class CampaignDecisionIn(Schema):
    decision: Literal["approve", "reject"]
    reason: Annotated[Text, Limits(max_length=1000)] = ""


class ClickIn(Schema):
    token: Annotated[str, Limits(max_length=2000, pattern=NO_NUL_PATTERN)]


class ClickOut(Schema):
    charged: bool
    amount: Decimal


@router.post("/ads/topups", response=responses({201: TopUpOut}), auth=token_or_session)
def topup_create(request: HttpRequest, payload: TopUpIn):
    """Top up the prepaid ad balance: ``amount`` in MYR (at least 10.00). Answers the payment page to send the
    payer to (``pay_url``); the balance grows when the gateway confirms the payment."""
    topup = services.topup_create(user=request.user, amount=payload.amount)
    return Status(201, {"id": topup.pk, "pay_url": topup.pay_url})


@router.get("/ads/balance", response=responses({200: BalanceOut}), auth=token_or_session)
def balance(request: HttpRequest):
    """The ad balance: top-ups − charges + refunds (budgets are limits, not holds)."""
    return {"balance": services.balance_of(request.user), "currency": "MYR"}


def _campaign_out(c: Campaign) -> dict[str, Any]:
    ctr = (
        (Decimal(c.clicks) / Decimal(c.impressions)).quantize(Decimal("0.0001"))
        if c.impressions
        else Decimal("0")
    )
    return {
        "id": c.pk,
        "name": c.name,
        "status": c.status,
        "objective": c.objective,
        "note": c.note_id,
        "product": c.product_id,
        "bid_type": c.bid_type,
        "bid": c.bid,
        "daily_budget": c.daily_budget,
        "total_budget": c.total_budget,
        "spend": c.spent,
        "impressions": c.impressions,
        "clicks": c.clicks,
        "ctr": ctr,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "targeting": c.targeting,
        "review_reason": c.review_reason,
        "days": services.campaign_report(campaign=c),
    }


@router.post("/ads/campaigns", response=responses({201: CampaignCreatedOut}), auth=token_or_session)
def campaign_create(request: HttpRequest, payload: CampaignIn):
    """Create a Spotlight campaign (verified businesses only: 403 ``not_verified``). The creative is one of the
    caller's published notes or products on sale; it is screened by the moderation engine and waits for a
    moderator (``in_review``)."""
    data = payload.dict()
    if payload.targeting is None:
        data["targeting"] = {}
    campaign = services.campaign_create(user=request.user, data=data)
    return Status(201, {"id": campaign.pk, "status": campaign.status})


@router.get("/ads/campaigns/{campaign_id}", response=responses({200: CampaignOut}), auth=token_or_session)
def campaign_get(request: HttpRequest, campaign_id: PathId):
    """One of the caller's campaigns with its spend, impressions, clicks and report by day (404 for another's)."""
    return _campaign_out(services.campaign_get_for_owner(user=request.user, campaign_id=campaign_id))


@router.patch("/ads/campaigns/{campaign_id}", response=responses({200: CampaignOut}), auth=token_or_session)
def campaign_update(request: HttpRequest, campaign_id: PathId, payload: CampaignPatch):
    """Change a campaign; a new creative sends it back to review (``in_review``)."""
    campaign = services.campaign_get_for_owner(user=request.user, campaign_id=campaign_id)
    data = payload.dict(exclude_unset=True)
    return _campaign_out(services.campaign_update(campaign=campaign, data=data))


@router.post(
    "/ads/campaigns/{campaign_id}/pause", response=responses({200: CampaignCreatedOut}), auth=token_or_session
)
def campaign_pause(request: HttpRequest, campaign_id: PathId):
    """Stop serving an active campaign (409 ``not_active`` otherwise)."""
    campaign = services.campaign_pause(
        campaign=services.campaign_get_for_owner(user=request.user, campaign_id=campaign_id)
    )
    return {"id": campaign.pk, "status": campaign.status}


@router.post(
    "/ads/campaigns/{campaign_id}/resume",
    response=responses({200: CampaignCreatedOut}),
    auth=token_or_session,
)
def campaign_resume(request: HttpRequest, campaign_id: PathId):
    """Serve a paused campaign again (409 ``not_paused`` otherwise)."""
    campaign = services.campaign_resume(
        campaign=services.campaign_get_for_owner(user=request.user, campaign_id=campaign_id)
    )
    return {"id": campaign.pk, "status": campaign.status}


@router.post(
    "/moderation/campaigns/{campaign_id}/decision",
    response=responses({200: CampaignCreatedOut}),
    auth=token_or_session,
)
def campaign_decision(request: HttpRequest, campaign_id: PathId, payload: CampaignDecisionIn):
    """A moderator approves or rejects (reason required) a campaign in review. 404 for accounts that are not
    moderators; 409 ``already_decided``."""
    campaign = services.campaign_decide(
        campaign_id=campaign_id, moderator=request.user, decision=payload.decision, reason=payload.reason
    )
    return {"id": campaign.pk, "status": campaign.status}


@router.post("/ads/clicks", response=responses({200: ClickOut}), auth=optional_auth)
def click(request: HttpRequest, payload: ClickIn):
    """A click on a sponsored item: ``token`` from its ``sponsored`` block. The same token charges once
    (``charged`` false and 0.00 afterwards); 400 ``bad_token`` for a token that is forged, expired or another
    reader's."""
    user = getattr(request, "user", None)
    user = user if user is not None and user.is_authenticated else None
    charged, amount = services.click_charge(token=payload.token, reader_user=user)
    return {"charged": charged, "amount": amount}


def _ads_insert(
    request: HttpRequest, viewer: Any, items: list[dict], *, surface: str, query: str = ""
) -> list[dict]:
    """Put Spotlight ads into a page of note cards at the configured positions (``services.page_ads``): each is
    the campaign's note card with a ``sponsored`` block; a position past the page's end stays empty."""
    from meadow.notes.api import note_out

    present = [card["id"] for card in items if isinstance(card.get("id"), int)]
    out = list(items)
    for position, ad in services.page_ads(
        reader_user=viewer, surface=surface, count=len(items), present=present, query=query
    ):
        card = note_out(request, ad.campaign.note)
        if surface == "discover":  # the feed card's own fields (FeedCardOut)
            card["impression_token"] = ""
            card["reasons"] = [{"kind": "sponsored", "detail": str(ad.campaign.pk)}]
            card["pool_level"] = 0
            card["distance_km"] = None
        card["sponsored"] = ad.as_dict()
        out.insert(position - 1, card)
    return out


def discover_ads_insert(request: HttpRequest, viewer: Any, items: list[dict]) -> list[dict]:
    """Spotlight ads in a page of Discover (``MEADOW_ADS_DISCOVER_SLOTS``)."""
    return _ads_insert(request, viewer, items, surface="discover")


def search_ads_insert(request: HttpRequest, viewer: Any, query: str, items: list[dict]) -> list[dict]:
    """Spotlight ads in a page of note results (``MEADOW_ADS_SEARCH_SLOTS``): keyword campaigns whose words are in
    the query, and campaigns without keywords whose other targeting matches."""
    return _ads_insert(request, viewer, items, surface="search", query=query)

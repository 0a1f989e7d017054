"""Spotlight ads: every write. The balance and its ledger, top-ups through the orders' payment gateway, campaigns
and their review, serving (the auction of ``meadow.ads.auction``) and charging clicks.

**Never overspend.** A click's charge is three conditional UPDATEs in one transaction, in a fixed order (the
campaign's day row, the campaign, the balance), each adding the price only where it still fits::

    UPDATE ads_campaignday SET spent = spent + p WHERE id = … AND spent + p <= budget
    UPDATE ads_campaign    SET spent = spent + p WHERE id = … AND spent + p <= total_budget
    UPDATE ads_adaccount   SET balance = balance - p WHERE id = … AND balance >= p

If any touches no row the transaction rolls back and the click is recorded uncharged. The database checks each
condition against the row as it is when the UPDATE runs (PostgreSQL re-reads a row a concurrent transaction
changed; SQLite serialises writers), so concurrent clicks can never push spend past a limit; CHECK constraints on
the three tables back it up. A token charges once: the ``Click`` row is unique per impression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import Block, User
from meadow.ads import auction
from meadow.ads.models import (
    ZERO,
    AdAccount,
    Campaign,
    CampaignDay,
    Click,
    Impression,
    LedgerEntry,
    TopUp,
)
from meadow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meadow.core.schema import END_OF_TEXT

S = Campaign.Status
MONEY_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,2})?" + END_OF_TEXT
_MONEY = re.compile(MONEY_PATTERN)
TOPUP_MIN = Decimal("10.00")
TOPUP_MAX = Decimal("100000.00")
# A top-up amount as the schema states it: 10.00 to 100000.00 MYR, at most 2 decimals.
TOPUP_PATTERN = r"^(?:[1-9][0-9]{1,4}(?:\.[0-9]{1,2})?|100000(?:\.0{1,2})?)" + END_OF_TEXT
MONEY_MAX = Decimal("999999999.99")
NAME_MAX = 80
TOKEN_SALT = "meadow.ads.click"
SURFACES = ("discover", "search")
TARGET_LIST_MAX = 20
KEYWORD_MAX = 40
GENDERS = ("female", "male", "other")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def slot_positions(surface: str) -> list[int]:
    """The 1-based positions of a page that hold an ad (``MEADOW_ADS_DISCOVER_SLOTS``, default 6, 16, 26;
    ``MEADOW_ADS_SEARCH_SLOTS``, default 3, 13, 23); positions next to each other are dropped, so two ads are
    never in a row."""
    default = "6,16,26" if surface == "discover" else "3,13,23"
    raw = _setting(f"MEADOW_ADS_{surface.upper()}_SLOTS", default)
    values = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    out: list[int] = []
    for value in sorted({int(v) for v in values if str(v).strip()}):
        if value >= 1 and (not out or value - out[-1] >= 2):
            out.append(value)
    return out


def reserve_price() -> Decimal:
    return Decimal(str(_setting("MEADOW_ADS_RESERVE_PRICE", "0.10")))


# ---------------------------------------------------------------------------------------------- money and ledger


def money_parse(value: Any, *, field: str, minimum: Decimal = Decimal("0.01")) -> Decimal:
    """A MYR amount: a decimal string with at most 2 decimals ("12.50") or a whole number; never a float."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _MONEY.match(value):
        raise ValidationFailed(
            _("Give an amount in MYR with at most 2 decimals, e.g. 12.50."), field=field, code="bad_amount"
        )
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise ValidationFailed(_("Not an amount."), field=field, code="bad_amount") from exc
    if amount < minimum:
        raise ValidationFailed(
            _("The amount must be at least %(minimum)s MYR.") % {"minimum": minimum},
            field=field,
            code="amount_too_small",
        )
    return amount


def account_for(user: User) -> AdAccount:
    account, _created = AdAccount.objects.get_or_create(user=user)
    return account


def balance_of(user: User) -> Decimal:
    found = AdAccount.objects.filter(user=user).values_list("balance", flat=True).first()
    return ZERO if found is None else found


def topup_create(*, user: User, amount: Any) -> TopUp:
    """Open a top-up of ``amount`` (at least 10.00 MYR) and its payment intent at the gateway; the balance grows
    when the gateway's ``payment.succeeded`` webhook arrives (``topup_event_apply``)."""
    from meadow.orders.gateway import GatewayError, get_gateway

    value = money_parse(amount, field="amount", minimum=TOPUP_MIN)
    if value > TOPUP_MAX:
        raise ValidationFailed(
            _("A top-up is at most 100000.00 MYR."), field="amount", code="amount_too_large"
        )
    account = account_for(user)
    topup = TopUp.objects.create(account=account, amount=value)
    try:
        intent = get_gateway().create_intent(
            reference=f"ads-topup:{topup.pk}",
            amount=value,
            currency=topup.currency,
            return_url="/ads/",
            idempotency_key=f"meadow-ads-topup-{topup.pk}",
        )
    except GatewayError as exc:
        TopUp.objects.filter(pk=topup.pk).update(status=TopUp.Status.FAILED)
        raise Conflict(
            _("The payment provider is not available right now. Try again in a moment."),
            code="payment_unavailable",
        ) from exc
    TopUp.objects.filter(pk=topup.pk).update(intent_id=intent.id, pay_url=intent.redirect_url)
    topup.refresh_from_db()
    return topup


def _credit(
    *, account_id: int, kind: str, amount: Decimal, reference: str, campaign_id: int | None = None
) -> bool:
    """Add a top-up or refund to the ledger and the balance, once per ``reference``."""
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(
                account_id=account_id, kind=kind, amount=amount, reference=reference, campaign_id=campaign_id
            )
    except IntegrityError:
        return False
    AdAccount.objects.filter(pk=account_id).update(balance=F("balance") + amount, updated_at=timezone.now())
    return True


def topup_event_apply(event: Any) -> str | None:
    """The orders' webhook hands over events for intents that are no order payment: apply those of a top-up
    (``None`` for any other intent). Runs once per event id, inside the webhook's transaction."""
    topup = TopUp.objects.select_for_update().filter(intent_id=event.intent_id).first()
    if topup is None:
        return None
    T = TopUp.Status
    if event.type == "payment.processing":
        return "topup_processing"
    if event.type == "payment.failed":
        moved = TopUp.objects.filter(pk=topup.pk, status=T.PENDING).update(status=T.FAILED)
        return "topup_failed" if moved else "stale"
    if event.type == "payment.succeeded":
        if event.amount != topup.amount or event.currency != topup.currency:
            return "topup_amount_mismatch"
        moved = TopUp.objects.filter(pk=topup.pk, status__in=[T.PENDING, T.FAILED]).update(
            status=T.PAID, paid_at=timezone.now()
        )
        if not moved:
            return "stale"
        _credit(
            account_id=topup.account_id,
            kind=LedgerEntry.Kind.TOPUP,
            amount=topup.amount,
            reference=f"topup:{topup.pk}",
        )
        return "topup_paid"
    return "ignored"


def refund_credit(
    *, account: AdAccount, amount: Decimal, reference: str, campaign: Campaign | None = None
) -> bool:
    """Give money back to the balance (an uncharged boost's budget, a charge a moderator reverses)."""
    if amount <= 0:
        raise ValidationFailed(_("A refund is a positive amount."), field="amount", code="bad_amount")
    return _credit(
        account_id=account.pk,
        kind=LedgerEntry.Kind.REFUND,
        amount=amount,
        reference=reference,
        campaign_id=campaign.pk if campaign else None,
    )


@dataclass(frozen=True)
class Difference:
    account: int
    user: int
    balance: Decimal
    expected: Decimal


def reconcile() -> list[Difference]:
    """Every account whose balance is not top-ups − charges + refunds of its ledger (empty when all agree)."""
    sums: dict[int, dict[str, Decimal]] = {}
    for row in LedgerEntry.objects.values("account", "kind").annotate(total=Sum("amount")):
        sums.setdefault(row["account"], {})[row["kind"]] = row["total"]
    out = []
    K = LedgerEntry.Kind
    for account in AdAccount.objects.order_by("pk"):
        got = sums.get(account.pk, {})
        expected = got.get(K.TOPUP, ZERO) - got.get(K.CHARGE, ZERO) + got.get(K.REFUND, ZERO)
        if expected != account.balance:
            out.append(Difference(account.pk, account.user_id, account.balance, expected))
    return out


# --------------------------------------------------------------------------------------------------- campaigns


def _campaign_text(campaign: Campaign) -> str:
    if campaign.note is not None:
        return f"{campaign.note.title}\n{campaign.note.body}"
    if campaign.product is not None:
        return f"{campaign.product.title}\n{campaign.product.description}"
    return ""


def _screen(campaign: Campaign) -> None:
    """The moderation engine screens the creative's text; a blocked creative is rejected at once, anything else
    waits for a moderator with the engine's verdict beside it."""
    from meadow.moderation.services import moderation_check

    result = moderation_check(text=_campaign_text(campaign)[:20000], field="note", account="enterprise")
    campaign.screening = result.to_dict()
    campaign.status = S.IN_REVIEW
    if result.verdict == "block":
        campaign.status = S.REJECTED
        campaign.review_reason = _("The creative breaks the content rules: %(categories)s.") % {
            "categories": ", ".join(sorted(result.categories))
        }


def _creative(*, user: User, note: Any, product: Any) -> tuple[Any, Any]:
    from meadow.notes.models import Note
    from meadow.store.models import Product

    if (note is None) == (product is None):
        raise ValidationFailed(
            _("Choose one creative: a note or a product."), field="note", code="one_creative"
        )
    if note is not None:
        found = Note.objects.filter(pk=note, author=user, status=Note.Status.PUBLISHED).first()
        if found is None:
            raise ValidationFailed(
                _("Choose one of your published notes."), field="note", code="bad_creative"
            )
        return found, None
    product_row = Product.objects.filter(pk=product, shop__owner=user, status=Product.Status.ON_SALE).first()
    if product_row is None:
        raise ValidationFailed(
            _("Choose one of your products on sale."), field="product", code="bad_creative"
        )
    return None, product_row


def _string_list(value: Any, *, field: str, max_length: int = KEYWORD_MAX) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > TARGET_LIST_MAX:
        raise ValidationFailed(
            _("Give a list of at most %(n)s entries.") % {"n": TARGET_LIST_MAX},
            field=f"targeting.{field}",
            code="bad_targeting",
        )
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > max_length or "\x00" in item:
            raise ValidationFailed(
                _("Each entry is a short text."), field=f"targeting.{field}", code="bad_targeting"
            )
        if item.strip().lower() not in out:
            out.append(item.strip().lower())
    return out


def targeting_clean(raw: Any) -> dict[str, Any]:
    """Validate targeting: ``interests`` (category slugs), ``keywords`` (search words), ``states`` (Malaysian
    state codes), ``age_min``/``age_max`` (13–100), ``gender`` and ``lookalike`` (readers like the followers)."""
    from meadow.notes.models import InterestCategory
    from meadow.orders.models import MalaysianState

    raw = raw or {}
    if not isinstance(raw, dict):
        raise ValidationFailed(_("Targeting is an object."), field="targeting", code="bad_targeting")
    interests = _string_list(raw.get("interests"), field="interests")
    known = set(InterestCategory.objects.filter(slug__in=interests).values_list("slug", flat=True))
    if set(interests) - known:
        raise ValidationFailed(
            _("Unknown interest category."), field="targeting.interests", code="bad_targeting"
        )
    states = [s.upper() for s in _string_list(raw.get("states"), field="states")]
    if set(states) - set(MalaysianState.values):
        raise ValidationFailed(_("Unknown state."), field="targeting.states", code="bad_targeting")
    ages = {}
    for key in ("age_min", "age_max"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 13 <= value <= 100:
            raise ValidationFailed(
                _("An age is a whole number from 13 to 100."), field=f"targeting.{key}", code="bad_targeting"
            )
        ages[key] = value
    if "age_min" in ages and "age_max" in ages and ages["age_min"] > ages["age_max"]:
        raise ValidationFailed(
            _("The lowest age is above the highest."), field="targeting.age_min", code="bad_targeting"
        )
    gender = raw.get("gender") or ""
    if gender and gender not in GENDERS:
        raise ValidationFailed(_("Unknown gender."), field="targeting.gender", code="bad_targeting")
    lookalike = raw.get("lookalike", False)
    if not isinstance(lookalike, bool):
        raise ValidationFailed(
            _("Lookalike is true or false."), field="targeting.lookalike", code="bad_targeting"
        )
    out: dict[str, Any] = {
        "interests": interests,
        "keywords": _string_list(raw.get("keywords"), field="keywords"),
        "states": states,
        "gender": gender,
        "lookalike": lookalike,
    }
    out.update(ages)
    return out


def _budgets(*, bid: Decimal, daily: Decimal, total: Decimal) -> None:
    if bid < reserve_price():
        raise ValidationFailed(
            _("The bid must be at least the reserve price, %(reserve)s MYR.") % {"reserve": reserve_price()},
            field="bid",
            code="bid_below_reserve",
        )
    if bid > daily:
        raise ValidationFailed(_("The bid is above the daily budget."), field="bid", code="bid_above_budget")
    if daily > total:
        raise ValidationFailed(
            _("The daily budget is above the total budget."), field="daily_budget", code="budget_order"
        )


def campaign_create(*, user: User, data: dict[str, Any]) -> Campaign:
    """Create a campaign in review (403 ``not_verified`` unless the account is a verified business)."""
    if not user.is_verified_enterprise:
        raise PermissionDenied(_("Only verified businesses can run Spotlight ads."), code="not_verified")
    name = (data.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(
            _("Give the campaign a name (at most 80 characters)."), field="name", code="bad_name"
        )
    if data.get("objective") not in Campaign.Objective.values:
        raise ValidationFailed(_("Unknown objective."), field="objective", code="invalid_choice")
    if data.get("bid_type", "cpc") != "cpc":
        raise ValidationFailed(_("Only cost per click is offered."), field="bid_type", code="invalid_choice")
    note, product = _creative(user=user, note=data.get("note"), product=data.get("product"))
    bid = money_parse(data.get("bid"), field="bid")
    daily = money_parse(data.get("daily_budget"), field="daily_budget", minimum=Decimal("1.00"))
    total = money_parse(data.get("total_budget"), field="total_budget", minimum=Decimal("1.00"))
    _budgets(bid=bid, daily=daily, total=total)
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts and ends and ends <= starts:
        raise ValidationFailed(
            _("The campaign must end after it starts."), field="ends_at", code="bad_schedule"
        )
    targeting = targeting_clean(data.get("targeting"))
    campaign = Campaign(
        account=account_for(user),
        name=name,
        objective=data["objective"],
        note=note,
        product=product,
        bid=bid,
        daily_budget=daily,
        total_budget=total,
        starts_at=starts,
        ends_at=ends,
        targeting=targeting,
    )
    _screen(campaign)
    campaign.save()
    return campaign


def campaign_get_for_owner(*, user: User, campaign_id: int) -> Campaign:
    """The caller's own campaign (404 for anyone else's: its existence is not disclosed)."""
    found = (
        Campaign.objects.select_related("note", "product").filter(pk=campaign_id, account__user=user).first()
        if user.is_authenticated
        else None
    )
    if found is None:
        raise NotFound(_("Not found."))
    return found


def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    """Change a campaign. A new creative (note or product) sends it back to review; a new budget or bid does
    not. An ended or rejected campaign cannot change (409 ``campaign_closed``)."""
    if campaign.status in (S.ENDED, S.REJECTED):
        raise Conflict(_("This campaign is closed."), code="campaign_closed")
    user = campaign.account.user
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name or len(name) > NAME_MAX:
            raise ValidationFailed(
                _("Give the campaign a name (at most 80 characters)."), field="name", code="bad_name"
            )
        campaign.name = name
    bid = money_parse(data["bid"], field="bid") if "bid" in data else campaign.bid
    daily = (
        money_parse(data["daily_budget"], field="daily_budget", minimum=Decimal("1.00"))
        if "daily_budget" in data
        else campaign.daily_budget
    )
    total = (
        money_parse(data["total_budget"], field="total_budget", minimum=Decimal("1.00"))
        if "total_budget" in data
        else campaign.total_budget
    )
    _budgets(bid=bid, daily=daily, total=total)
    if total < campaign.spent:
        raise ValidationFailed(
            _("The total budget is below what was spent."), field="total_budget", code="budget_spent"
        )
    campaign.bid, campaign.daily_budget, campaign.total_budget = bid, daily, total
    if "targeting" in data:
        campaign.targeting = targeting_clean(data["targeting"])
    if "note" in data or "product" in data:
        note, product = _creative(user=user, note=data.get("note"), product=data.get("product"))
        if (note and note.pk != campaign.note_id) or (product and product.pk != campaign.product_id):
            campaign.note, campaign.product = note, product
            _screen(campaign)  # a new creative is reviewed again
            campaign.reviewed_at = None
            campaign.reviewed_by = None
    with transaction.atomic():
        campaign.save()
        # Today's row carries the daily budget its conditional UPDATE checks; it follows the change (never below
        # what today already spent).
        CampaignDay.objects.filter(campaign=campaign, day=_today(), spent__lte=daily).update(budget=daily)
    return campaign


def campaign_decide(*, campaign_id: int, moderator: User, decision: str, reason: str) -> Campaign:
    from meadow.enforcement.services import is_moderator

    if not is_moderator(moderator):
        raise NotFound(_("Not found."))
    if decision not in ("approve", "reject"):
        raise ValidationFailed(_("Unknown decision."), field="decision", code="invalid_choice")
    reason = (reason or "").strip()
    if decision == "reject" and not reason:
        raise ValidationFailed(_("Say why the campaign is rejected."), field="reason", code="reason_required")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise NotFound(_("Not found."))
        if campaign.status != S.IN_REVIEW:
            raise Conflict(_("This campaign is not waiting for review."), code="already_decided")
        campaign.status = S.ACTIVE if decision == "approve" else S.REJECTED
        campaign.review_reason = reason
        campaign.reviewed_by = moderator
        campaign.reviewed_at = timezone.now()
        campaign.save()
    return campaign


def campaign_pause(*, campaign: Campaign) -> Campaign:
    if not Campaign.objects.filter(pk=campaign.pk, status=S.ACTIVE).update(status=S.PAUSED):
        raise Conflict(_("Only an active campaign can be paused."), code="not_active")
    campaign.refresh_from_db()
    return campaign


def campaign_resume(*, campaign: Campaign) -> Campaign:
    if not Campaign.objects.filter(pk=campaign.pk, status=S.PAUSED).update(status=S.ACTIVE):
        raise Conflict(_("Only a paused campaign can be resumed."), code="not_paused")
    campaign.refresh_from_db()
    return campaign


def campaigns_in_review():
    return (
        Campaign.objects.filter(status=S.IN_REVIEW)
        .select_related("account__user", "note", "product")
        .order_by("created_at")
    )


def campaign_report(*, campaign: Campaign) -> list[dict[str, Any]]:
    """Impressions, clicks, CTR and spend of each day the campaign served, oldest first."""
    out = []
    for day in campaign.days.order_by("day"):
        ctr = (
            (Decimal(day.clicks) / Decimal(day.impressions)).quantize(Decimal("0.0001"))
            if day.impressions
            else Decimal("0")
        )
        out.append(
            {
                "day": day.day,
                "impressions": day.impressions,
                "clicks": day.clicks,
                "ctr": ctr,
                "spend": day.spent,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------------ serving


def _today() -> date:
    return timezone.localdate()


def _elapsed_fraction(now: datetime) -> float:
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (local - start).total_seconds() / 86400.0


@dataclass
class Reader:
    """What targeting may match about a reader (nothing for a signed-out one)."""

    user: User | None
    interests: set[str] = field(default_factory=set)
    state: str = ""
    age: int | None = None
    gender: str = ""


def reader_profile(user: User | None) -> Reader:
    if user is None or not user.is_authenticated:
        return Reader(user=None)
    from meadow.distribution.selectors import reader_interests
    from meadow.orders.models import Address

    weights = reader_interests(viewer=user)
    interests = {slug for slug, weight in weights.items() if weight > 0}
    state = (
        Address.objects.filter(user=user, is_archived=False)
        .order_by("-is_default", "-pk")
        .values_list("state", flat=True)
        .first()
        or ""
    )
    age = None
    if user.birthday:
        today = _today()
        age = (
            today.year
            - user.birthday.year
            - ((today.month, today.day) < (user.birthday.month, user.birthday.day))
        )
    return Reader(user=user, interests=interests, state=state, age=age, gender=user.gender or "")


def targeting_match(
    targeting: dict[str, Any], reader: Reader, *, surface: str, query: str = ""
) -> list[str] | None:
    """The reasons a campaign's targeting matches this reader (for "why am I seeing this ad"), or ``None``.

    Keywords match search queries only, and a campaign with keywords but no interests is a search-only campaign;
    the other criteria must all hold when set (a reader who has not told Meadow their age, gender or state does
    not match a campaign that targets one)."""
    why: list[str] = []
    keywords = targeting.get("keywords") or []
    interests = targeting.get("interests") or []
    if surface == "search":
        if keywords:
            words = query.lower()
            hit = [k for k in keywords if k in words]
            if not hit:
                return None
            why.append(_("you searched for “%(word)s”") % {"word": hit[0]})
    elif keywords and not interests:
        return None
    if interests and (surface != "search" or not keywords):
        shared = sorted(set(interests) & reader.interests)
        if not shared:
            return None
        why.append(_("your interest in %(topics)s") % {"topics": ", ".join(shared)})
    states = targeting.get("states") or []
    if states:
        if reader.state not in states:
            return None
        why.append(_("your state (%(state)s)") % {"state": reader.state})
    age_min, age_max = targeting.get("age_min"), targeting.get("age_max")
    if age_min is not None or age_max is not None:
        if (
            reader.age is None
            or (age_min is not None and reader.age < age_min)
            or (age_max is not None and reader.age > age_max)
        ):
            return None
        why.append(_("your age group"))
    if targeting.get("gender"):
        if reader.gender != targeting["gender"]:
            return None
        why.append(_("your gender"))
    return why  # empty: the campaign targets no one in particular


@dataclass(frozen=True)
class Sponsored:
    campaign: Campaign
    impression: Impression
    token: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.pk,
            "label": _("Sponsored"),
            "why": self.why,
            "token": self.token,
        }


def _excluded_for(reader: Reader) -> tuple[set[int], set[int]]:
    """(advertiser ids, note ids) the reader must never see an ad from or for."""
    if reader.user is None:
        return set(), set()
    from meadow.engagement.models import NotInterested

    uid = reader.user.pk
    authors = set(Block.objects.filter(blocker_id=uid).values_list("blocked_id", flat=True))
    authors |= set(Block.objects.filter(blocked_id=uid).values_list("blocker_id", flat=True))
    notes = set()
    for note_id, author_id in NotInterested.objects.filter(user_id=uid).values_list("note_id", "author_id"):
        notes.add(note_id)
        authors.add(author_id)
    return authors, notes


def ads_serve(
    *,
    reader_user: User | None,
    surface: str,
    slots: int,
    query: str = "",
    now: datetime | None = None,
    notes_only: bool = False,
    exclude_notes: Iterable[int] = (),
) -> list[Sponsored]:
    """Run the auction for ``slots`` ad slots of one page and record each winner's impression with its click
    token. Eligible: active, in schedule, budget and balance left (and paced), targeting matches, not the
    reader's own, not from anyone the reader blocked or is blocked by, not a note marked not interested, and under
    the reader's frequency cap (``MEADOW_ADS_FREQUENCY_CAP`` impressions per campaign per day)."""
    if surface not in SURFACES:
        raise ValueError(surface)
    if slots <= 0:
        return []
    now = now or timezone.now()
    reader = reader_profile(reader_user)
    blocked_authors, hidden_notes = _excluded_for(reader)
    today = _today()
    elapsed = _elapsed_fraction(now)
    slack = float(_setting("MEADOW_ADS_PACING_SLACK", 0.05))
    cap = int(_setting("MEADOW_ADS_FREQUENCY_CAP", 3))
    reserve = reserve_price()
    rows = (
        Campaign.objects.filter(status=S.ACTIVE, spent__lt=F("total_budget"), account__balance__gte=reserve)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("account", "note", "product__shop")
    )
    if notes_only:  # feeds and search list notes: a product creative is served where products are listed
        from meadow.notes.selectors import notes_public

        # only a note any feed may show anyone: published, ready, public, of a public active account, and not
        # limited (限流) or held for review since the campaign was approved
        rows = rows.filter(note__in=notes_public().values("pk")).exclude(note__id__in=exclude_notes or ())
    spent_today = dict(
        CampaignDay.objects.filter(day=today, campaign__in=rows).values_list("campaign_id", "spent")
    )
    seen: dict[int, int] = {}
    if reader.user is not None:
        since = now - timedelta(days=1)
        for cid in Impression.objects.filter(reader=reader.user, created_at__gte=since).values_list(
            "campaign_id", flat=True
        ):
            seen[cid] = seen.get(cid, 0) + 1
    totals = Campaign.objects.aggregate(i=Sum("impressions"), c=Sum("clicks"))
    prior = auction.platform_ctr(impressions=totals["i"] or 0, clicks=min(totals["c"] or 0, totals["i"] or 0))
    candidates: list[auction.Candidate] = []
    whys: dict[int, list[str]] = {}
    by_id: dict[int, Campaign] = {}
    for c in rows:
        advertiser = c.account.user_id
        if reader.user is not None and advertiser == reader.user.pk:
            continue
        if advertiser in blocked_authors or (c.note_id and c.note_id in hidden_notes):
            continue
        if seen.get(c.pk, 0) >= cap:
            continue
        if not auction.pacing_allows(
            spent_today=spent_today.get(c.pk, ZERO),
            daily_budget=c.daily_budget,
            elapsed_fraction=elapsed,
            slack=slack,
        ):
            continue
        why = targeting_match(c.targeting or {}, reader, surface=surface, query=query)
        if why is None:
            continue
        ctr = auction.ctr_estimate(
            impressions=c.impressions, clicks=min(c.clicks, c.impressions), prior=prior
        )
        candidates.append(auction.Candidate(campaign=c.pk, bid=min(c.bid, c.account.balance), ctr=ctr))
        whys[c.pk] = why
        by_id[c.pk] = c
    out = []
    for win in auction.auction(candidates, slots=slots, reserve=reserve):
        campaign = by_id[win.campaign]
        with transaction.atomic():
            impression = Impression.objects.create(
                campaign=campaign,
                reader=reader.user,
                surface=surface,
                slot=win.slot,
                price=win.price,
                created_at=now,
            )
            Campaign.objects.filter(pk=campaign.pk).update(impressions=F("impressions") + 1)
            day = _day_row(campaign, today)
            CampaignDay.objects.filter(pk=day.pk).update(impressions=F("impressions") + 1)
        token = impression_token(impression)
        reasons = whys[campaign.pk]
        if reasons:
            text = _("You see this ad because of %(reasons)s.") % {"reasons": "; ".join(reasons)}
        else:
            text = _("This ad is not targeted: anyone may see it.")
        out.append(Sponsored(campaign=campaign, impression=impression, token=token, why=text))
    return out


def page_ads(
    *,
    reader_user: User | None,
    surface: str,
    count: int,
    present: Iterable[int] = (),
    query: str = "",
) -> list[tuple[int, Sponsored]]:
    """The ads of one page of ``count`` notes on ``surface``, as ``(1-based position, ad)`` in position order:
    a slot counts when the page reaches it (the k-th ad goes at index position − 1, after the k − 1 ads before
    it), a position past the page's end stays empty, and a note already on the page is never its own ad."""
    positions = [p for k, p in enumerate(slot_positions(surface)) if count and p - 1 <= count + k]
    if not positions:
        return []
    served = ads_serve(
        reader_user=reader_user,
        surface=surface,
        slots=len(positions),
        query=query,
        notes_only=True,
        exclude_notes=list(present),
    )
    return list(zip(positions, served, strict=False))


def sponsored_notes_insert(
    *, viewer: User | None, notes: list[Any], surface: str, query: str = ""
) -> list[Any]:
    """The web grid's page with its ads: each is the campaign's note, hydrated like any card (author, images,
    the viewer's like), carrying ``sponsored`` (label, why, click token) and no impression token of its own."""
    from meadow.engagement.selectors import notes_annotate_viewer
    from meadow.notes.models import Note
    from meadow.notes.selectors import notes_with_relations

    ads = page_ads(
        reader_user=viewer, surface=surface, count=len(notes), present=[n.pk for n in notes], query=query
    )
    if not ads:
        return notes
    ids = [ad.campaign.note_id for _, ad in ads]
    found: dict[int, Any] = {  # Any: the card's extra attributes (sponsored, feed_reasons) are set below
        n.pk: n for n in notes_with_relations(notes_annotate_viewer(Note.objects.filter(pk__in=ids), viewer))
    }
    out = list(notes)
    for position, ad in ads:
        note = found.get(ad.campaign.note_id or 0)
        if note is None:
            continue
        note.sponsored = ad.as_dict()
        note.feed_reasons = []
        note.impression_token = ""
        out.insert(position - 1, note)
    return out


def impression_token(impression: Impression) -> str:
    """The signed click token of a served ad: it names the impression, campaign, reader, slot and price."""
    return signing.dumps(
        {
            "i": impression.pk,
            "c": impression.campaign_id,
            "r": impression.reader_id or 0,
            "s": impression.slot,
            "p": str(impression.price),
        },
        salt=TOKEN_SALT,
        compress=True,
    )


def _day_row(campaign: Campaign, day: date) -> CampaignDay:
    row, _created = CampaignDay.objects.get_or_create(
        campaign=campaign, day=day, defaults={"budget": campaign.daily_budget}
    )
    return row


def click_charge(*, token: str, reader_user: User | None) -> tuple[bool, Decimal]:
    """Charge the click of a served ad once. Returns (charged, amount): a repeated token, an ad no longer within
    its budgets or balance, or a click by its own advertiser is recorded at 0.00. A bad, foreign or expired
    token is 400 ``bad_token``."""
    max_age = int(_setting("MEADOW_ADS_TOKEN_MAX_AGE_SECONDS", 86400))
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=max_age)
        impression_id, campaign_id, reader_id, price = (
            int(data["i"]),
            int(data["c"]),
            int(data["r"]),
            Decimal(data["p"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise ValidationFailed(_("This ad link is not valid."), field="token", code="bad_token") from exc
    viewer_id = reader_user.pk if reader_user is not None and reader_user.is_authenticated else 0
    if reader_id != viewer_id:
        raise ValidationFailed(_("This ad link is not valid."), field="token", code="bad_token")
    impression = (
        Impression.objects.filter(pk=impression_id, campaign_id=campaign_id)
        .select_related("campaign")
        .first()
    )
    if impression is None:
        raise ValidationFailed(_("This ad link is not valid."), field="token", code="bad_token")
    campaign = impression.campaign
    try:
        with transaction.atomic():
            click = Click.objects.create(impression=impression)
    except IntegrityError:
        return False, ZERO  # this token was clicked before: charged once, then never again
    day = impression.created_at.astimezone(timezone.get_current_timezone()).date()
    day_row = _day_row(campaign, day)
    charged = ZERO
    try:
        with transaction.atomic():
            ok = (
                CampaignDay.objects.filter(pk=day_row.pk, spent__lte=F("budget") - price).update(
                    spent=F("spent") + price, clicks=F("clicks") + 1
                )
                and Campaign.objects.filter(pk=campaign.pk, spent__lte=F("total_budget") - price).update(
                    spent=F("spent") + price, clicks=F("clicks") + 1
                )
                and AdAccount.objects.filter(pk=campaign.account_id, balance__gte=price).update(
                    balance=F("balance") - price, updated_at=timezone.now()
                )
            )
            if not ok:
                raise _NoRoom
            LedgerEntry.objects.create(
                account_id=campaign.account_id,
                kind=LedgerEntry.Kind.CHARGE,
                amount=price,
                reference=f"click:{impression.pk}",
                campaign=campaign,
            )
            Click.objects.filter(pk=click.pk).update(charged=price)
            charged = price
    except (_NoRoom, IntegrityError):
        # Out of budget or balance: the click counts, uncharged.
        CampaignDay.objects.filter(pk=day_row.pk).update(clicks=F("clicks") + 1)
        Campaign.objects.filter(pk=campaign.pk).update(clicks=F("clicks") + 1)
        return False, ZERO
    return True, charged


class _NoRoom(Exception):
    pass

"""Serving and charging: eligibility (targeting, blocks, not interested, frequency cap, pacing, budgets,
balance), the signed token, a click charged once, and spend never past a limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meadow.accounts.models import Block
from meadow.ads.models import Campaign, CampaignDay, Click, LedgerEntry
from meadow.ads.services import ads_serve, click_charge, reconcile
from meadow.ads.tests.conftest import active_campaign, fund, post
from meadow.core.errors import ValidationFailed
from meadow.engagement.models import NotInterested
from meadow.orders.models import Address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_served_ad_carries_a_token_and_a_click_charges_once(advertiser, api_for):
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser, bid="0.70")
    reader = UserFactory()
    served = ads_serve(reader_user=reader, surface="discover", slots=1)
    assert [s.campaign.pk for s in served] == [campaign.pk]
    block = served[0].as_dict()
    assert block["label"] == "Sponsored" and block["why"] == "This ad is not targeted: anyone may see it."
    api = api_for(reader)
    first = post(api, "/api/v1/ads/clicks", {"token": block["token"]})
    assert first.status_code == 200 and first.json() == {
        "charged": True,
        "amount": "0.10",
    }  # alone: the reserve
    again = post(api, "/api/v1/ads/clicks", {"token": block["token"]})
    assert again.json() == {"charged": False, "amount": "0.00"}
    campaign.refresh_from_db()
    assert (campaign.spent, campaign.clicks, campaign.impressions) == (Decimal("0.10"), 1, 1)
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    assert api_for(advertiser).get("/api/v1/ads/balance").json()["balance"] == "9.90"
    assert reconcile() == []


def test_a_forged_or_foreign_token_is_400(advertiser, api_for):
    fund(advertiser)
    active_campaign(advertiser)
    reader, other = UserFactory(), UserFactory()
    token = ads_serve(reader_user=reader, surface="discover", slots=1)[0].token
    r = post(api_for(reader), "/api/v1/ads/clicks", {"token": token[:-2] + "xx"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_token"
    r = post(api_for(other), "/api/v1/ads/clicks", {"token": token})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_token"
    assert not Click.objects.exists()


def test_second_price_between_two_campaigns():
    a, b = UserFactory(is_verified_enterprise=True), UserFactory(is_verified_enterprise=True)
    fund(a), fund(b)
    high = active_campaign(a, bid="2.00")
    low = active_campaign(b, bid="1.00")
    served = ads_serve(reader_user=UserFactory(), surface="discover", slots=2)
    # both at the prior CTR: ranked by bid; the first pays the second's bid, the second the reserve
    assert [(s.campaign.pk, s.impression.price) for s in served] == [
        (high.pk, Decimal("1.00")),
        (low.pk, Decimal("0.10")),
    ]


def test_targeting_decides_who_sees_the_ad(advertiser):
    fund(advertiser)
    active_campaign(advertiser, targeting={"states": ["SGR"], "gender": "female"})
    assert ads_serve(reader_user=UserFactory(gender="female"), surface="discover", slots=1) == []
    reader = UserFactory(gender="female")
    Address.objects.create(
        user=reader,
        recipient_name="Mei",
        phone="+60123456789",
        line1="1 Jalan",
        city="Shah Alam",
        postcode="40000",
        state="SGR",
    )
    served = ads_serve(reader_user=reader, surface="discover", slots=1)
    assert len(served) == 1 and "SGR" in served[0].why and "gender" in served[0].why


def test_search_keywords_match_the_query_only(advertiser):
    fund(advertiser)
    active_campaign(advertiser, targeting={"keywords": ["batik"]})
    reader = UserFactory()
    assert ads_serve(reader_user=reader, surface="discover", slots=1) == []  # a search-only campaign
    assert ads_serve(reader_user=reader, surface="search", slots=1, query="shoes") == []
    served = ads_serve(reader_user=reader, surface="search", slots=1, query="Batik tote bag")
    assert len(served) == 1 and "batik" in served[0].why


def test_never_for_blocked_or_not_interested_and_capped_per_reader(advertiser, settings):
    settings.MEADOW_ADS_FREQUENCY_CAP = 2
    fund(advertiser)
    campaign = active_campaign(advertiser)
    blocker, tired, reader = UserFactory(), UserFactory(), UserFactory()
    Block.objects.create(blocker=blocker, blocked=advertiser)
    assert ads_serve(reader_user=blocker, surface="discover", slots=1) == []
    NotInterested.objects.create(user=tired, note=campaign.note, author=advertiser)
    assert ads_serve(reader_user=tired, surface="discover", slots=1) == []
    assert ads_serve(reader_user=advertiser, surface="discover", slots=1) == []  # never one's own ad
    assert len(ads_serve(reader_user=reader, surface="discover", slots=1)) == 1
    assert len(ads_serve(reader_user=reader, surface="discover", slots=1)) == 1
    assert ads_serve(reader_user=reader, surface="discover", slots=1) == []  # the cap


def test_not_served_without_balance_budget_or_approval(advertiser):
    campaign = active_campaign(advertiser)
    reader = UserFactory()
    assert ads_serve(reader_user=reader, surface="discover", slots=1) == []  # no balance
    fund(advertiser, "10.00")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    assert ads_serve(reader_user=reader, surface="discover", slots=1) == []
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE, spent=campaign.total_budget)
    assert ads_serve(reader_user=reader, surface="discover", slots=1) == []


def test_pacing_holds_a_campaign_that_spent_ahead_of_the_day(advertiser):
    from datetime import datetime

    from django.utils import timezone

    fund(advertiser)
    campaign = active_campaign(advertiser, daily="10.00")
    morning = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time())).replace(hour=6)
    CampaignDay.objects.create(
        campaign=campaign, day=timezone.localdate(), budget=Decimal("10.00"), spent=Decimal("5.00")
    )
    assert (
        ads_serve(reader_user=UserFactory(), surface="discover", slots=1, now=morning) == []
    )  # 50 % at 25 %
    evening = morning.replace(hour=18)
    assert len(ads_serve(reader_user=UserFactory(), surface="discover", slots=1, now=evening)) == 1


def test_a_click_past_the_daily_budget_or_balance_is_not_charged(advertiser):
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser, bid="1.00", daily="1.00", total="5.00")
    readers = [UserFactory() for _ in range(3)]
    other = active_campaign(UserFactory(is_verified_enterprise=True), bid="1.00")
    fund(other.account.user)
    tokens = []
    for r in readers:
        served = ads_serve(reader_user=r, surface="discover", slots=2)
        tokens += [(r, s.token) for s in served if s.campaign.pk == campaign.pk]
    results = [click_charge(token=t, reader_user=r) for r, t in tokens]
    campaign.refresh_from_db()
    assert campaign.spent <= Decimal("1.00")
    assert sum(a for _c, a in results) == campaign.spent
    assert reconcile() == []
    with pytest.raises(ValidationFailed):
        click_charge(token="nonsense", reader_user=readers[0])

"""Ads in the Discover API: at the configured slots, labelled, never two in a row, and a click charged once."""

from __future__ import annotations

import itertools

import pytest

from meadow.ads.services import slot_positions
from meadow.ads.tests.conftest import active_campaign, fund, post
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_slot_positions_never_put_two_ads_in_a_row(settings):
    assert slot_positions("discover") == [6, 16, 26]
    assert slot_positions("search") == [3, 13, 23]
    settings.MEADOW_ADS_DISCOVER_SLOTS = "2,3,5,9"
    assert slot_positions("discover") == [2, 5, 9]


def test_discover_serves_a_labelled_ad_at_its_slot_and_charges_a_click_once(api_for, settings):
    settings.MEADOW_ADS_DISCOVER_SLOTS = "3,5"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser, bid="0.50")
    for i in range(8):
        NoteFactory(title=f"Organic {i}")
    reader = UserFactory()
    api = api_for(reader)
    items = api.get("/api/v1/feed/discover?limit=8").json()["items"]
    flags = [bool(card.get("sponsored")) for card in items]
    assert flags.index(True) == 2
    assert not any(a and b for a, b in itertools.pairwise(flags))  # never two in a row
    ad = items[2]
    assert ad["id"] == campaign.note_id
    assert ad["sponsored"]["label"] == "Sponsored" and ad["sponsored"]["campaign"] == campaign.pk
    assert ad["sponsored"]["why"] == "This ad is not targeted: anyone may see it."  # untargeted
    assert sum(flags) == 1  # one campaign, once per page
    assert post(api, "/api/v1/ads/clicks", {"token": ad["sponsored"]["token"]}).json() == {
        "charged": True,
        "amount": "0.10",
    }
    assert post(api, "/api/v1/ads/clicks", {"token": ad["sponsored"]["token"]}).json()["charged"] is False

    # in Chinese the label is translated
    zh = api.get("/api/v1/feed/discover?limit=8", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["items"]
    labels = [c["sponsored"]["label"] for c in zh if c.get("sponsored")]
    assert labels == ["赞助"]

"""Ads in search results (API and page) and on the web pages: at the search slots, labelled in the reader's
language with "why", a click charged once, and never an ad for a note that a feed may not show."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from meadow.ads.models import Campaign, Impression
from meadow.ads.tests.conftest import active_campaign, fund, post
from meadow.enforcement.models import Sanction
from meadow.engagement.models import EngagementEvent, Signal
from meadow.notes.tests.factories import NoteFactory
from meadow.search.services import search_index_note
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _organic(n: int, word: str = "batik") -> None:
    for i in range(n):
        note = NoteFactory(title=f"{word} story {i}", body=f"My {word} day {i}")
        search_index_note(note_id=note.pk)  # as the note's lifecycle consumer indexes it


def test_search_serves_a_keyword_ad_at_its_slot_only_for_a_matching_query(api_for, settings):
    settings.MEADOW_ADS_SEARCH_SLOTS = "3,13"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser, bid="0.40", targeting={"keywords": ["batik"]})
    _organic(6)
    api = api_for(UserFactory())
    body = api.get("/api/v1/search?q=batik&limit=6").json()
    flags = [bool(item.get("sponsored")) for item in body["items"]]
    assert flags.index(True) == 2 and sum(flags) == 1
    assert not any(a and b for a, b in itertools.pairwise(flags))
    ad = body["items"][2]
    assert ad["id"] == campaign.note_id
    assert ad["sponsored"]["label"] == "Sponsored"
    assert "batik" in ad["sponsored"]["why"]  # the keyword that matched
    assert Impression.objects.get().surface == "search"
    assert post(api, "/api/v1/ads/clicks", {"token": ad["sponsored"]["token"]}).json()["charged"] is True

    # a query without the campaign's keyword: no ad, and no impression recorded
    _organic(4, word="songket")
    other = api.get("/api/v1/search?q=songket&limit=6").json()["items"]
    assert other and not any(item.get("sponsored") for item in other)
    assert Impression.objects.count() == 1


def test_a_search_only_campaign_never_enters_discover(api_for, settings):
    settings.MEADOW_ADS_DISCOVER_SLOTS = "2"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    active_campaign(advertiser, targeting={"keywords": ["batik"]})
    _organic(5)
    items = api_for(UserFactory()).get("/api/v1/feed/discover?limit=5").json()["items"]
    assert items and not any(card.get("sponsored") for card in items)


def test_no_ad_for_a_note_limited_or_made_private_after_approval(api_for, settings):
    settings.MEADOW_ADS_DISCOVER_SLOTS = "2"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser)
    _organic(5)
    api = api_for(UserFactory())

    def served() -> bool:
        items = api.get("/api/v1/feed/discover?limit=5").json()["items"]
        return any(card.get("sponsored") for card in items)

    assert served()
    limit = Sanction.objects.create(
        account=advertiser, note=campaign.note, kind=Sanction.Kind.VISIBILITY_LIMIT
    )
    api = api_for(UserFactory())  # a fresh reader: no frequency cap in the way
    assert not served()
    limit.delete()
    campaign.note.visibility = campaign.note.Visibility.FOLLOWERS
    campaign.note.save(update_fields=["visibility"])
    api = api_for(UserFactory())
    assert not served()
    assert Campaign.objects.get(pk=campaign.pk).impressions == 1


@pytest.mark.parametrize(
    ("language", "label", "why"),
    [
        ("en", "Sponsored", "Why am I seeing this ad?"),
        ("zh-hans", "赞助", "为什么我会看到这条广告？"),
        ("ms", "Ditaja", "Mengapa saya melihat iklan ini?"),
    ],
)
def test_the_home_page_shows_the_ad_labelled_with_why_in_the_readers_language(settings, language, label, why):
    settings.MEADOW_ADS_DISCOVER_SLOTS = "2"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser)
    _organic(5)
    reader = UserFactory()
    # the reader already saw the note in a feed, so Discover does not rank it again: the ad may still show it
    EngagementEvent.objects.create(user=reader, note=campaign.note, kind=Signal.IMPRESSION)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(reader)
    html = client.get("/?tab=discover").content.decode()
    assert 'data-testid="sponsored-card"' in html
    card = html[html.index('data-testid="sponsored-card"') :]
    card = card[: card.index("</article>")]
    assert f'data-note-id="{campaign.note_id}"' in html
    assert f'data-testid="sponsored-label">{label}<' in card
    assert why in card and "data-ad-token=" in html
    assert html.count('data-testid="sponsored-card"') == 1
    # the organic cards keep their own "why" (the ranked reasons), the ad its own
    assert html.count('data-testid="why-ad"') == 1


def test_the_search_page_shows_a_keyword_ad_and_signed_out_readers_see_untargeted_ads(settings):
    settings.MEADOW_ADS_SEARCH_SLOTS = "3"
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, "10.00")
    campaign = active_campaign(advertiser, targeting={"keywords": ["batik"]})
    _organic(5)
    html = Client().get("/search/?q=batik").content.decode()
    assert 'data-testid="sponsored-card"' in html and f'data-note-id="{campaign.note_id}"' in html
    assert "Sponsored" in html
    # no keyword in the query: nothing sponsored on the page
    html = Client().get("/search/?q=penang").content.decode()
    assert 'data-testid="sponsored-card"' not in html

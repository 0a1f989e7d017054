"""A reader meets Spotlight ads in a real browser: a "Sponsored" card in Discover and in search results, in the
reader's language, with "why am I seeing this ad?"; opening the ad charges its click once — at phone and desktop
widths."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from meadow.ads.models import Campaign, Click
from meadow.ads.tests.conftest import active_campaign, fund
from meadow.engagement.models import EngagementEvent, Signal
from meadow.notes.tests.factories import NoteFactory
from meadow.search.services import search_index_note
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_sponsored_cards_in_discover_and_search_in_three_languages(page, live_server, settings, shot):
    settings.MEADOW_ADS_DISCOVER_SLOTS = "2"
    settings.MEADOW_ADS_SEARCH_SLOTS = "2"
    advertiser = UserFactory(is_verified_enterprise=True, display_name="Batik House")
    fund(advertiser, "20.00")
    feed_ad = active_campaign(advertiser, bid="0.50", name="Feed")
    search_ad = active_campaign(
        advertiser,
        bid="0.50",
        name="Search",
        note=NoteFactory(author=advertiser, title="Songket weaving class", body="Learn in Kelantan."),
        targeting={"keywords": ["batik"]},
    )
    for i in range(5):
        note = NoteFactory(author=UserFactory(), title=f"Batik walk {i}", body="Batik prints at the market")
        search_index_note(note_id=note.pk)
    reader = UserFactory(handle=f"reader_{page.viewport_name}")
    # the reader saw the feed ad's note before, so Discover does not rank it: only the ad shows it now
    EngagementEvent.objects.create(user=reader, note=feed_ad.note, kind=Signal.IMPRESSION)
    login(page, live_server, reader.handle)

    page.goto(f"{live_server.url}/?tab=discover")
    card = page.get_by_test_id("sponsored-card")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-note-id", str(feed_ad.note_id))
    expect(card.get_by_test_id("sponsored-label")).to_have_text("Sponsored")
    card.locator(".card-menu > summary").click()
    card.get_by_test_id("why-ad").locator("summary").click()
    expect(card.locator(".why-panel")).to_have_text("This ad is not targeted: anyone may see it.")
    shot("ads-discover")
    card.locator(".card-menu > summary").click()  # close the menu again
    card.locator("a.note-title").click()
    assert _wait_for(lambda: Campaign.objects.get(pk=feed_ad.pk).clicks == 1)
    assert Click.objects.filter(impression__campaign=feed_ad).count() == 1

    # search: the keyword campaign at its slot, labelled in Chinese, then in Malay (the untargeted feed campaign,
    # which would compete everywhere, is paused by its owner first)
    Campaign.objects.filter(pk=feed_ad.pk).update(status=Campaign.Status.PAUSED)
    for language, label in (("zh-hans", "赞助"), ("ms", "Ditaja")):
        page.context.add_cookies([{"name": "meadow_language", "value": language, "url": live_server.url}])
        page.goto(f"{live_server.url}/search/?q=batik")
        ad = page.get_by_test_id("sponsored-card")
        expect(ad).to_have_count(1)
        expect(ad).to_have_attribute("data-note-id", str(search_ad.note_id))
        expect(ad.get_by_test_id("sponsored-label")).to_have_text(label)
        shot(f"ads-search-{language}")
    assert Campaign.objects.get(pk=search_ad.pk).impressions == 2

"""Journey: a creator writes a note with a redirect (a WeChat id), sees the live warning, is refused on publish —
and everything is kept (photos, title, text, topics); they fix the text and publish, and their account status
shows no strike (a refusal is the rule working, not a violation)."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from meadow.enforcement.models import Violation
from meadow.notes.models import Note
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "今天做了香薰蜡烛，想要的加我薇信 lily1998"
FIXED = "今天做了香薰蜡烛，想要的在评论区告诉我"


def _photos(tmp_path):
    paths = []
    for i, colour in enumerate([(232, 119, 74), (74, 120, 232)]):
        path = tmp_path / f"candle{i}.jpg"
        Image.new("RGB", (900, 1200), colour).save(path, quality=90)
        paths.append(str(path))
    return paths


def test_creator_refused_then_fixing(journey, tmp_path):
    page, t = journey.page, journey.t
    creator = UserFactory(handle=f"candle_{journey.language.replace('-', '')}_{journey.width}")
    journey.login(creator.handle)
    journey.go("Publish")

    page.locator("input[data-images]").set_input_files(_photos(tmp_path))
    page.locator("#id_title").fill("手工蜡烛")
    page.locator("#id_body").fill(REDIRECT)
    page.locator("#id_tag_input").fill("手工")
    page.locator("#id_tag_input").press("Enter")
    page.locator("#id_tag_input").fill("candles")
    page.locator("#id_tag_input").press("Enter")
    expect(page.locator("[data-chips] .chip")).to_have_count(2)

    # the live warning names the category in the creator's language and marks the words
    panel = page.locator("[data-moderation]")
    expect(panel).to_be_visible(timeout=30_000)  # the first check loads the lexicon
    expect(panel).to_contain_text(t("Redirect off the platform"))
    expect(panel.locator("mark").first).to_contain_text("薇信")
    journey.shot("1-live-warning")

    # refused: nothing published, no strike, and nothing lost
    page.get_by_test_id("publish").click()
    expect(page.locator(".error-box").first).to_be_visible()
    expect(page.locator(".error-box").first).to_contain_text("薇信")
    assert not Note.objects.filter(author=creator).exists()
    assert not Violation.objects.filter(account=creator).exists()
    expect(page.locator("[data-kept] li[data-upload]")).to_have_count(2)
    expect(page.locator("[data-kept] li[data-upload] img").first).to_be_visible()
    journey.see("Your images are kept: add more, or tick × to leave one out.", page.locator("form"))
    expect(page.locator("#id_title")).to_have_value("手工蜡烛")
    expect(page.locator("#id_body")).to_have_value(REDIRECT)
    expect(page.locator("[data-chips] .chip")).to_have_count(2)
    expect(page.locator("[data-chips]")).to_contain_text("#手工")
    expect(page.locator("[data-preview-title]")).to_have_text("手工蜡烛")  # the feed preview too
    journey.shot("2-refused-everything-kept")

    # fixes the text and publishes, with the kept photos and topics
    page.locator("#id_body").fill(FIXED)
    expect(panel).to_be_hidden()
    page.get_by_test_id("publish").click()
    expect(page).to_have_url(re.compile(r"/notes/\d+/$"))
    note = Note.objects.get(author=creator)
    assert note.status == Note.Status.PUBLISHED and note.images.count() == 2 and note.body == FIXED
    assert {link.hashtag.display_name for link in note.hashtag_links.all()} == {"手工", "candles"}
    expect(page.locator(".carousel-slide")).to_have_count(2)
    journey.shot("3-published")

    # account status (from the Me menu, as on a phone): in good standing, no violation
    journey.me_menu_go("Account status")
    expect(page.locator(".status-badge")).to_have_text(t("In good standing"))
    expect(page.get_by_test_id("violation")).to_have_count(0)
    assert not Violation.objects.filter(account=creator).exists()
    journey.shot("4-account-status")

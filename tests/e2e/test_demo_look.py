"""The demo as a visitor sees it: Discover filled by ``meadow demo`` shows text-card covers (the note's own title,
in a CJK font), each card's image described by its title, in English, Chinese and Malay. The screenshots are kept
in test-results/screens/ (demo-discover-<lang>.png) to be looked at."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from meadow.notes.models import Note
from tests.e2e.conftest import DESKTOP, SHOTS

pytestmark = pytest.mark.django_db(transaction=True)


def test_discover_with_demo_covers_in_three_languages(browser, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    call_command("demo", users=30, notes=60, follows=3, no_progress=True, stdout=io.StringIO())
    titles = set(Note.objects.values_list("title", flat=True))
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, word in [("en", "Discover"), ("zh-hans", "发现"), ("ms", "Terokai")]:
        context = browser.new_context(viewport=DESKTOP, device_scale_factor=1, locale="en-US")
        context.add_cookies([{"name": "meadow_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/?tab=discover")
        assert page.locator("html").get_attribute("lang") == lang
        covers = page.locator(".note-card .note-cover img")
        expect(covers.first).to_be_visible()
        count = min(covers.count(), 12)
        assert count >= 8
        for i in range(count):
            cover = covers.nth(i)
            cover.scroll_into_view_if_needed()
            expect(cover).to_have_js_property("complete", True)
            assert cover.evaluate("(img) => img.naturalWidth") > 0, "a cover did not load"
            assert cover.get_attribute("alt") in titles  # the cover shows, and is described by, its title
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / f"demo-discover-{lang}.png"))
        assert word in page.locator(".feed-tabs").inner_text()
        context.close()

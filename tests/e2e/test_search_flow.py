"""A reader types the start of a word in the search box, the suggestions dropdown offers popular searches,
topics and people, the reader picks a popular search and lands on its ranked results — phone and desktop
widths. The keyboard path (↓ then Enter) leads to the same place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from meadow.moderation.services import moderation_check
from meadow.search.models import SearchLog
from meadow.search.selectors import search_parse
from meadow.search.tests.conftest import make_note
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _world(viewport: str):
    # The live server runs in this process: build the moderation engine and load jieba's dictionary here, once,
    # so the first page does not spend its navigation timeout on them on a busy machine.
    moderation_check(text="durian", field="comment")
    search_parse("durian")
    UserFactory(handle=f"durianqueen_{viewport}", display_name="Durian Queen", followers_count=12)
    best = make_note(title="Durian cendol 榴莲煎蕊", body="Musang King durian cendol in Penang", likes=40)
    other = make_note(title="Cendol", body="Durian cendol, a little sweet", tags=["DurianMusangKing"])
    make_note(title="Nasi lemak", body="Sambal and crispy chicken")  # does not match
    for i in range(3):  # three distinct searchers make a popular query
        SearchLog.objects.create(query="durian cendol", searcher=f"a:{viewport}{i}")
    return best, other


def test_pick_a_suggestion_while_typing_then_see_results(page, live_server, shot):
    best, other = _world(page.viewport_name)
    page.goto(f"{live_server.url}/search/")
    box = page.locator(".search-box input[name=q]")
    box.click()
    box.press_sequentially("duri", delay=40)

    dropdown = page.locator(".search-box .search-suggest")
    expect(dropdown).to_be_visible()
    query = dropdown.locator("a", has_text="durian cendol")
    expect(query).to_have_count(1)
    expect(query.locator("mark")).to_have_text("duri")  # what was typed is highlighted
    expect(dropdown.locator("a", has_text="DurianMusangKing")).to_be_visible()
    expect(dropdown.locator("a", has_text="Durian Queen")).to_be_visible()
    box_width = dropdown.bounding_box()["width"]
    assert box_width <= page.viewport_size["width"]  # the dropdown fits a 390 px phone
    shot("search-suggestions")

    query.click()
    expect(page).to_have_url(re.compile(r"/search/\?q=durian(%20|\+)cendol$"))
    cards = page.locator(".note-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Durian cendol 榴莲煎蕊")  # title match, most liked: first
    expect(page.locator(f'.note-card a[href="/notes/{best.pk}/"]').first).to_be_visible()
    expect(page.locator(f'.note-card a[href="/notes/{other.pk}/"]').first).to_be_visible()
    expect(page.locator(".search-box input[name=q]")).to_have_value("durian cendol")
    shot("search-results")


def test_keyboard_choice_and_escape(page, live_server):
    _world(page.viewport_name)
    page.goto(f"{live_server.url}/search/")
    box = page.locator(".search-box input[name=q]")
    box.click()
    box.press_sequentially("durian c", delay=40)
    dropdown = page.locator(".search-box .search-suggest")
    expect(dropdown.locator("a", has_text="durian cendol")).to_be_visible()
    box.press("Escape")
    expect(dropdown).to_be_hidden()

    box.press_sequentially("e", delay=40)  # typing again reopens it
    expect(dropdown.locator("a", has_text="durian cendol")).to_be_visible()
    box.press("ArrowDown")
    expect(dropdown.locator("a.on")).to_contain_text("durian cendol")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=durian(%20|\+)cendol$"))
    expect(page.locator(".note-card")).to_have_count(2)

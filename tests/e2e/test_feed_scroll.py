"""Infinite scroll (issue #23, finding 1): wherever a waterfall grid is shown the next page loads as the reader
nears the end, with placeholders while it loads, without leaving the page; coming back to the feed shows the same
cards at the same place; without JavaScript the plain "More" link still works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from meadow.notes.tests.factories import NoteFactory
from tests.e2e.conftest import PHONE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _many_notes(count: int, title: str = "Kopi", body: str = "") -> list[int]:
    return [NoteFactory(author=UserFactory(), title=f"{title} {i}", body=body).pk for i in range(count)]


def _scroll_to_end(page, rounds: int = 6) -> None:
    for _ in range(rounds):
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(100)


def test_discover_loads_more_cards_as_you_scroll_and_keeps_them_on_back(page, live_server, shot):
    _many_notes(70)
    page.goto(f"{live_server.url}/?tab=discover")
    first = page.locator(".note-card").count()
    assert 0 < first <= 20
    url = page.url
    # the next page is held back: placeholders show while it loads
    held = []

    def is_fragment(url: str) -> bool:
        return "fragment=1" in url

    page.route(is_fragment, lambda route: held.append(route))
    _scroll_to_end(page)
    expect(page.get_by_test_id("grid-loading")).to_be_visible()
    shot("feed-scroll-loading")
    assert len(held) == 1
    held[0].continue_()
    page.unroute(is_fragment)
    expect(page.locator(".note-card").nth(20)).to_be_attached(timeout=10000)  # a 21st card, same page
    expect(page.get_by_test_id("grid-loading")).to_have_count(0)
    _scroll_to_end(page)
    page.wait_for_timeout(500)
    assert page.url == url  # no navigation
    shown = page.locator(".note-card").count()
    ids = page.locator(".note-card").evaluate_all("cards => cards.map(c => c.dataset.noteId).sort()")
    assert len(set(ids)) == shown  # no card twice
    shot("feed-scroll-discover")

    # away and back: the same cards, scrolled to where the reader was
    page.mouse.wheel(0, -1500)
    page.wait_for_timeout(400)
    y = page.evaluate("() => window.scrollY")
    assert y > 500
    page.goto(f"{live_server.url}/search/")
    page.go_back()
    expect(page.locator(".note-card").nth(shown - 1)).to_be_attached()
    assert page.locator(".note-card").count() == shown
    page.wait_for_timeout(300)
    assert abs(page.evaluate("() => window.scrollY") - y) < 300


def test_a_profile_grid_scrolls_too(page, live_server):
    author = UserFactory(handle="kopi_maker")
    for i in range(45):
        NoteFactory(author=author, title=f"Roti bakar {i}")
    page.goto(f"{live_server.url}/@kopi_maker/")
    assert page.locator(".note-card").count() <= 20
    _scroll_to_end(page)
    expect(page.locator(".note-card").nth(20)).to_be_attached(timeout=10000)


def test_without_javascript_more_is_a_plain_link(browser, live_server):
    _many_notes(30)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/?tab=discover")
    first = set(page.locator(".note-card").evaluate_all("cards => cards.map(c => c.dataset.noteId)"))
    page.get_by_role("link", name="More").click()
    page.wait_for_url("**cursor=*")
    second = set(page.locator(".note-card").evaluate_all("cards => cards.map(c => c.dataset.noteId)"))
    assert second and not (first & second)
    context.close()

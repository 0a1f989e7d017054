"""Card "···" menus (issue #23, finding 12): the dots sit inside their circle, opening one menu closes the
others, and an open menu draws above the next card's button (phones)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from meadow.notes.tests.factories import NoteFactory
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_card_menus_open_one_at_a_time_and_stay_on_top(page, live_server, shot):
    reader = UserFactory()
    for i in range(6):
        NoteFactory(author=UserFactory(), title=f"Teh tarik {i}")
    login(page, live_server, reader.handle)
    page.goto(f"{live_server.url}/?tab=discover")
    menus = page.locator(".card-menu")
    expect(menus.nth(2)).to_be_attached()
    first, second = menus.nth(0), menus.nth(1)
    # the glyph inside the circle
    inner = first.locator("summary span").bounding_box()
    circle = first.locator("summary").bounding_box()
    if circle and inner:  # hidden until hover on desktop: measure only what is drawn
        assert (
            inner["x"] >= circle["x"] - 0.5
            and inner["x"] + inner["width"] <= circle["x"] + circle["width"] + 0.5
        )
    first.locator("summary").click(force=True)
    expect(first).to_have_attribute("open", "")
    second.locator("summary").click(force=True)
    expect(second).to_have_attribute("open", "")
    expect(first).not_to_have_attribute("open", "")
    # the open menu is above every other card's button
    panel = second.locator(".menu-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.card-menu')?.isSameNode(document.querySelectorAll('.card-menu')[1])",
        [x, y],
    )
    assert on_top
    shot("card-menu-open")

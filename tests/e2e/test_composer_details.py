"""The composer's details (issue #23, findings 13 and 15): hashtags typed in the body show as chips and count
toward the 10; the 5·3·2 helper offers no tag the note already has; the file picker is a styled button with
preview thumbnails over a real, labelled <input type=file>."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_body_hashtags_show_as_chips_and_count(page, live_server, shot):
    creator = UserFactory()
    login(page, live_server, creator.handle)
    page.goto(f"{live_server.url}/publish/")
    page.locator("#id_body").fill("Slow mornings near the kopitiam #kopi #RotiBakar #kopi")
    chips = page.locator("[data-body-chips] .chip-body")
    expect(chips).to_have_count(2)
    expect(chips.first).to_have_text("#kopi")
    expect(page.locator("[data-tag-count]")).to_have_text("2/10")
    page.locator("[data-tag-input]").fill("bangsar")
    page.locator("[data-tag-input]").press("Enter")
    expect(page.locator("[data-tag-count]")).to_have_text("3/10")
    page.get_by_role("button", name="Suggest topics (5·3·2)").click()
    expect(page.locator("[data-suggestions]")).to_be_visible()
    offered = page.locator("[data-suggestions] .chip-add").all_text_contents()
    assert offered and not {"#kopi", "#rotibakar", "#bangsar", "#near", "#mornings"} & {
        t.lower() for t in offered
    }
    shot("composer-body-chips")

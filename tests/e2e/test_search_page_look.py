"""The search page in a browser (issue #23, finding 10): one search box at both widths, and a name typed in the
Notes tab leads to People."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_search_box_and_the_people_hint(page, live_server, shot):
    UserFactory(handle="aminah_cooks", display_name="Aminah Yusof")
    page.goto(f"{live_server.url}/search/?q=Aminah", timeout=60000)
    expect(page.locator("input[type=search][name=q]:visible")).to_have_count(1)
    hint = page.get_by_test_id("people-hint")
    expect(hint).to_contain_text("1 person matches “Aminah”")
    shot("search-people-hint")
    hint.get_by_role("link").click()
    expect(page.locator(".people-list")).to_contain_text("Aminah Yusof")

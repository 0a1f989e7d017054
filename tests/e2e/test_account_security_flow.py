"""In a real browser, at phone and desktop widths: a signed-in reader's impressions and reads are still recorded now
that every API write made with the session needs the CSRF token (the page's script sends it), and the Settings
page lists the apps signed in to the account and signs one out."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from meadow.accounts.models import ApiToken
from meadow.accounts.services import _token_create, token_authenticate
from meadow.engagement.models import EngagementEvent
from meadow.notes.tests.factories import NoteFactory
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The page's script skips impressions in automated browsers (navigator.webdriver): present this one as a reader.
AS_A_READER = "Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false });"


def _wait_for(predicate, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def test_a_signed_in_readers_impressions_and_reads_are_recorded(page, live_server):
    v = page.viewport_name
    reader = UserFactory(handle=f"reader_{v}")
    note = NoteFactory(author=UserFactory(), title=f"Cendol in Melaka {v}")
    page.context.add_init_script(AS_A_READER)
    login(page, live_server, reader.handle)

    page.goto(f"{live_server.url}/")
    expect(page.locator(f".note-card[data-note-id='{note.pk}']")).to_be_visible()
    assert _wait_for(
        lambda: EngagementEvent.objects.filter(user=reader, note=note, kind="impression").exists()
    ), "the signed-in reader's impression was not recorded"

    page.goto(f"{live_server.url}/notes/{note.pk}/")
    assert _wait_for(lambda: EngagementEvent.objects.filter(user=reader, note=note, kind="read").exists()), (
        "the signed-in reader's read was not recorded"
    )


def test_settings_lists_signed_in_apps_and_signs_one_out(page, live_server, shot):
    v = page.viewport_name
    user = UserFactory(handle=f"apps_{v}")
    pixel = _token_create(user=user, name="Pixel 9 — Aminah's phone with a rather long device name")
    ipad = _token_create(user=user, name="iPad")
    token_authenticate(raw=ipad)  # used once: "Last used" shows

    login(page, live_server, user.handle)
    page.goto(f"{live_server.url}/settings/")
    rows = page.get_by_test_id("token-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("iPad")
    expect(rows.first).to_contain_text("Last used")
    expect(rows.nth(1)).to_contain_text("Not used yet")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    sign_out = rows.nth(1).get_by_test_id("token-sign-out")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
    shot("settings-apps")

    sign_out.click()

    expect(page).to_have_url(re.compile(r"/settings/#apps$"))
    expect(page.get_by_text("The app is signed out.")).to_be_visible()
    expect(page.get_by_test_id("token-row")).to_have_count(1)
    assert token_authenticate(raw=pixel) is None
    assert token_authenticate(raw=ipad) is not None
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1

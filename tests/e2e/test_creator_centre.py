"""A creator publishes a note, a reader engages with it from another account, and the creator opens the creator
centre from their profile: the numbers, the matplotlib charts, the note's own page and the CSV download — at
phone and desktop widths."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from meadow.notes.models import Note
from meadow.notes.services import note_publish
from meadow.notes.tests.factories import jpeg
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_creator_sees_a_readers_engagement_with_charts_and_csv(
    page, browser, live_server, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    v = page.viewport_name
    author = UserFactory(handle=f"chef_{v}", display_name="Chef Aminah")
    reader = UserFactory(handle=f"fan_{v}", display_name="Lily")
    note = note_publish(
        author=author,
        title="Rendang 仁当 recipe",
        body="Slow-cooked for four hours, the way my grandmother made it. #MalaysianFood",
        images=[jpeg(size=(900, 1200), color=(120, 60, 30))],
    )
    assert note.status == Note.Status.PUBLISHED

    # The reader, in a second browser context: reads the note from Discover, likes it and saves it.
    context = browser.new_context(viewport=page.viewport_size, locale="en-US", device_scale_factor=1)
    reader_page = context.new_page()
    reader_page.set_default_timeout(30_000)
    try:
        login(reader_page, live_server, reader.handle)
        reader_page.goto(f"{live_server.url}/notes/{note.pk}/?src=discover")
        reader_page.get_by_test_id("like-button").click()
        expect(reader_page.get_by_test_id("like-count")).to_have_text("1")
        reader_page.get_by_test_id("save-button").click()
        reader_page.get_by_test_id("save-confirm").click()
        expect(reader_page.get_by_test_id("save-count")).to_have_text("1")
    finally:
        context.close()

    # The author opens the creator centre from their profile.
    login(page, live_server, author.handle)
    page.goto(f"{live_server.url}/@{author.handle}/")
    page.get_by_test_id("creator-centre-link").click()
    expect(page).to_have_url(re.compile(r"/me/creator/$"))
    expect(page.get_by_test_id("total-likes")).to_have_text("1")
    expect(page.get_by_test_id("total-saves")).to_have_text("1")
    expect(page.get_by_test_id("total-reads")).to_have_text("1")
    expect(page.get_by_test_id("chart-reach").locator("svg.chart")).to_be_visible()
    expect(page.locator("[data-source=discover]")).to_be_visible()
    page.get_by_test_id("period-7").click()
    expect(page.get_by_test_id("period-7")).to_have_attribute("aria-current", "page")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shot("creator-centre")

    # The note's own numbers, and its CSV.
    page.get_by_test_id("creator-note-row").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/me/creator/notes/{note.pk}/"))
    expect(page.get_by_test_id("total-likes")).to_have_text("1")
    expect(page.get_by_test_id("chart-signals").locator("svg.chart")).to_be_visible()
    expect(page.get_by_test_id("creator-pool")).to_be_visible()
    shot("creator-note")
    with page.expect_download() as caught:
        page.get_by_test_id("creator-csv").click()
    download = caught.value
    assert download.suggested_filename.startswith(f"meadow-note-{note.pk}-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 7  # the period chosen on the overview carries over to the note's page
    today = rows[-1]
    assert (today["reads"], today["likes"], today["saves"]) == ("1", "1", "1")
    assert float(today["signal_score"]) == 2

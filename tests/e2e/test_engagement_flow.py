"""A reader likes a note, saves it into a new board, comments and replies; the author, signed in in a second
browser context, sees the notifications arrive — phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from meadow.engagement.models import Board, Comment, Save
from meadow.notes.models import Note
from meadow.notes.services import note_publish
from meadow.notes.tests.factories import jpeg
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_like_save_comment_reply_and_the_author_is_notified(
    page, browser, live_server, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    v = page.viewport_name
    author = UserFactory(handle=f"mei_{v}", display_name="Mei 美食日记")
    reader = UserFactory(handle=f"lily_{v}", display_name="Lily")
    note = note_publish(
        author=author,
        title="椰浆饭 in Kampung Baru",
        body="Our favourite nasi lemak in KL — sambal, crispy chicken, and a queue at 8am. #KL美食",
        images=[jpeg(size=(900, 1200), color=(232, 119, 74))],
    )
    assert note.status == Note.Status.PUBLISHED

    login(page, live_server, reader.handle)
    page.goto(f"{live_server.url}/notes/{note.pk}/?src=discover")
    actions = page.get_by_test_id("note-actions")
    actions.get_by_test_id("like-button").click()
    expect(page.get_by_test_id("like-count")).to_have_text("1")
    expect(page.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")

    page.get_by_test_id("save-button").click()
    page.get_by_text("+ New board").click()
    page.get_by_test_id("new-board-name").fill("KL eats")
    shot("engagement-save-picker")
    page.get_by_test_id("save-confirm").click()
    expect(page.get_by_test_id("save-count")).to_have_text("1")
    assert Save.objects.get(user=reader, note=note).board == Board.objects.get(owner=reader, name="KL eats")

    page.get_by_test_id("comment-input").fill(f"Going this weekend! @{author.handle}")
    page.get_by_test_id("comment-send").click()
    expect(page.get_by_test_id("comment")).to_have_count(1)
    page.get_by_test_id("reply-button").first.click()
    page.get_by_test_id("comment-input").fill("Any tips on when to go?")
    page.get_by_test_id("comment-send").click()
    expect(page.get_by_test_id("reply")).to_have_count(1)
    assert Comment.objects.filter(note=note).count() == 2
    shot("engagement-note")

    # The author, in a second browser context.
    viewport = page.viewport_size
    context = browser.new_context(viewport=viewport, locale="en-US", device_scale_factor=1)
    author_page = context.new_page()
    author_page.set_default_timeout(30_000)
    try:
        login(author_page, live_server, author.handle)
        badge = author_page.locator("[data-unread-badge]:visible").first
        expect(badge).to_have_text(re.compile(r"^[1-9]"))
        author_page.locator(
            "[data-testid=notifications-link]:visible, [data-testid=notifications-top]:visible"
        ).first.click()
        expect(author_page).to_have_url(re.compile(r"/notifications/"))
        expect(author_page.get_by_test_id("notification").first).to_contain_text("commented on your note")
        author_page.screenshot(path=str(_shots() / f"engagement-notifications-{v}.png"), full_page=True)
        author_page.goto(f"{live_server.url}/notifications/?bucket=likes")
        expect(author_page.get_by_test_id("notification").first).to_contain_text("Lily")
        # the author can pin the reader's comment on their note
        author_page.goto(f"{live_server.url}/notes/{note.pk}/")
        author_page.get_by_test_id("pin-button").first.click()
        expect(author_page.locator(".comment.pinned")).to_have_count(1)
    finally:
        context.close()

    page.goto(f"{live_server.url}/@{reader.handle}/saved/")
    expect(page.get_by_test_id("board-tile")).to_have_count(2)
    shot("engagement-saved")


def _shots():
    from tests.e2e.conftest import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def test_not_interested_from_a_card_can_be_undone(page, live_server, shot, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    v = page.viewport_name
    author = UserFactory(handle=f"ana_{v}", display_name="Ana")
    reader = UserFactory(handle=f"ben_{v}", display_name="Ben")
    note = note_publish(
        author=author,
        title="Cendol, Jonker Walk",
        body="Shaved ice, gula melaka, pandan jelly. #Melaka",
        images=[jpeg(size=(900, 1200), color=(74, 160, 120))],
    )
    from meadow.engagement.models import NotInterested

    login(page, live_server, reader.handle)
    page.goto(f"{live_server.url}/topics/melaka/")
    card = page.locator(f'.note-card[data-note-id="{note.pk}"]')
    card.get_by_role("button", name="More").or_(card.locator("summary")).first.click()
    card.get_by_test_id("not-interested").click()
    notice = page.get_by_test_id("hidden-note")
    expect(notice).to_contain_text("fewer notes like this")
    expect(card).to_have_count(0)
    assert NotInterested.objects.filter(user=reader, note=note).exists()
    shot("engagement-not-interested")
    notice.get_by_test_id("undo-hide").click()
    expect(page.locator(f'.note-card[data-note-id="{note.pk}"]')).to_be_visible()
    expect(page.get_by_test_id("hidden-note")).to_have_count(0)
    assert not NotInterested.objects.filter(user=reader, note=note).exists()

"""Journey: a new reader lands on Discover signed out, opens a note, tries to like it and is asked to sign up;
signs up by SMS code, comes back to the same note (nothing lost), follows its author, likes it, saves it into a new
board and finds it under Me → Saved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import last_sms_code
from meadow.accounts.models import Follow, User
from meadow.engagement.models import Board, Like, Save
from meadow.notes.services import note_publish
from meadow.notes.tests.factories import jpeg
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_reader(journey):
    page, t = journey.page, journey.t
    author = UserFactory(handle="mei.makan", display_name="Mei 美食日记")
    note = note_publish(
        author=author,
        title="Nasi lemak 椰浆饭",
        body="Sambal, crispy chicken and a queue at 8am in Kampung Baru. #KL美食",
        images=[jpeg(size=(900, 1200), color=(232, 119, 74))],
    )

    # Discover, signed out, in the reader's language
    page.goto(f"{journey.url}/")
    journey.choose_language()
    expect(journey.nav().get_by_role("link", name=t("Discover"), exact=True)).to_be_visible()
    card = page.locator(f'.note-card[data-note-id="{note.pk}"]')
    expect(card).to_contain_text("Nasi lemak")
    journey.shot("1-discover")

    # opens the note, tries to like it: the log-in page, with a way to sign up that keeps the note
    card.locator("a.note-title").click()
    # (a phone opens the note's page, a desktop the note in a sheet over Discover)
    like = page.get_by_test_id("note-actions").get_by_role("link", name=t("Like"), exact=True)
    expect(like).to_be_visible()
    like.click()
    expect(page.locator("h1")).to_have_text(t("Welcome back"))
    journey.shot("2-like-asks-to-log-in")
    page.get_by_test_id("signup-link").click()
    expect(page.locator("h1")).to_have_text(t("Join Meadow"))

    # signs up: the number, the code from the SMS, a handle, the agreement
    phone = {"en": "+60 12-345 6789", "zh-hans": "+60 13-222 4444", "ms": "+60 14-888 1212"}[journey.language]
    page.locator("input[name=phone]").fill(phone)
    page.get_by_test_id("send-code").click()
    expect(page.locator(".flash")).to_contain_text(t("We sent a 6-digit code by SMS."))
    page.locator("input[name=code]").fill(last_sms_code(re.sub(r"[ -]", "", phone)))
    handle = f"reader_{journey.language.replace('-', '')}_{journey.width}"
    page.locator("input[name=handle]").fill(handle)
    page.locator("input[name=display_name]").fill("Nora")
    page.locator("input[name=agree_terms]").check()
    journey.shot("3-signup-code")
    page.get_by_test_id("create-account").click()

    # the interests step (skippable) — then back on the note the reader wanted to like
    expect(page.locator("h1")).to_have_text(t("What are you into?"))
    page.get_by_test_id("skip-interests").click()
    expect(page).to_have_url(re.compile(rf"/notes/{note.pk}/$"))
    page.wait_for_load_state("networkidle")  # the note page's own requests done before the next tap

    # follows the author, likes the note, saves it into a new board
    follow = page.locator(".note-author-row").get_by_test_id("follow-button")
    expect(follow).to_have_text(t("Follow", "follow button"))
    follow.click()
    expect(follow).to_have_text(t("Following", "follow button state"))
    page.get_by_test_id("like-button").click()
    expect(page.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("save-button").click()
    page.get_by_text(t("+ New board")).click()
    page.get_by_test_id("new-board-name").fill("KL eats")
    journey.shot("4-save-to-board")
    page.get_by_test_id("save-confirm").click()
    expect(page.get_by_test_id("save-count")).to_have_text("1")
    reader = User.objects.get(handle=handle)
    assert reader.language == journey.language  # signed up in the language they chose
    assert Follow.objects.filter(follower=reader, followee=author, status="active").exists()
    assert Like.objects.filter(user=reader, note=note).exists()
    assert Save.objects.get(user=reader, note=note).board == Board.objects.get(owner=reader, name="KL eats")

    # finds it in Me → Saved → the board
    journey.go("Me")
    expect(page).to_have_url(re.compile(rf"/@{handle}/$"))
    saved = page.get_by_test_id("saved-tab")
    expect(saved).to_have_text(t("Saved"))
    saved.click()
    tile = page.get_by_test_id("board-tile").filter(has_text="KL eats")
    expect(tile).to_be_visible()
    tile.click()
    expect(page.locator(f'.note-card[data-note-id="{note.pk}"]')).to_be_visible()
    journey.shot("5-me-saved-board")

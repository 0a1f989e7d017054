"""A newcomer signs up, picks interests, finds notes about them at the top of Discover, and asks "why am I
seeing this?" — in a real browser, at phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import last_sms_code
from meadow.distribution.models import InterestProfile
from meadow.notes.models import InterestCategory, NoteCategory
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _notes(category: str, count: int, title: str) -> list[int]:
    ids = []
    for i in range(count):
        note = NoteFactory(author=UserFactory(), title=f"{title} {i}")
        NoteCategory.objects.create(note=note, category=InterestCategory.objects.get(slug=category))
        ids.append(note.pk)
    return ids


def test_sign_up_pick_interests_discover_and_why(page, live_server, shot):
    from meadow.notes.services import taxonomy_load

    taxonomy_load()  # a transactional test starts from an empty database
    food = _notes("food", 4, "Nasi lemak")
    _notes("cars", 8, "Engine")
    phone = "+60 12-555 0101" if page.viewport_name == "phone" else "+60 13-555 0202"
    e164 = "+60125550101" if page.viewport_name == "phone" else "+60135550202"

    page.goto(f"{live_server.url}/signup/")
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_test_id("send-code").click()
    page.get_by_label("Code from the SMS").fill(last_sms_code(e164))
    handle = f"picker_{page.viewport_name}"
    page.get_by_label("Handle").fill(handle)
    page.get_by_label(re.compile("I have read and agree")).check()
    page.get_by_test_id("create-account").click()

    # the interest step: pick Food and go on
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    page.locator("label.interest-chip").filter(has=page.get_by_test_id("interest-food")).click()
    expect(page.get_by_test_id("interest-food")).to_be_checked()
    shot("distribution-interests")
    page.get_by_test_id("save-interests").click()
    expect(page).to_have_url(re.compile(r"/me/edit/$"))
    assert InterestProfile.objects.get(user__handle=handle).picked == ["food"]

    # Discover starts with food notes
    page.goto(f"{live_server.url}/?tab=discover")
    for note_id in food:
        expect(page.locator(f'.note-card[data-note-id="{note_id}"]')).to_be_visible()
    # in rank order (the page as served; the waterfall then lays the cards out in columns)
    served = page.request.get(f"{live_server.url}/?tab=discover").text()
    ranked = [int(i) for i in re.findall(r'class="note-card" data-note-id="(\d+)"', served)]
    assert set(ranked[:4]) == set(food) and len(ranked) == 12

    # "why am I seeing this?" on a food card
    card = page.locator(f'.note-card[data-note-id="{food[0]}"]')
    card.locator(".card-menu summary").click()
    card.get_by_test_id("why").click()
    panel = card.get_by_test_id("why-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("It matches your interests: Food")
    shot("distribution-why")

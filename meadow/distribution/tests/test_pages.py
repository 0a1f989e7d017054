"""Pages: the interest step of onboarding, the home tabs on the distribution feeds, the "why" popover."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.test import Client

from meadow.accounts.models import Follow
from meadow.distribution.models import InterestProfile, NotePool
from meadow.notes.models import InterestCategory, NoteCategory
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_onboarding_needs_an_account(anon):
    r = anon.get("/welcome/")
    assert r.status_code == 302 and "/login/" in r["Location"]
    assert anon.post("/welcome/", {"interests": ["food"]}).status_code == 302
    assert not InterestProfile.objects.exists()


def test_onboarding_lists_the_taxonomy_and_saves_the_picks(user):
    client = signed_in(user)
    page = client.get("/welcome/").content.decode()
    for category in InterestCategory.objects.filter(is_active=True):
        assert f'value="{category.slug}"' in page and html.escape(category.name_en) in page
    r = client.post("/welcome/", {"interests": ["food", "travel"], "next": "/me/edit/"})
    assert r.status_code == 302 and r["Location"] == "/me/edit/"
    profile = InterestProfile.objects.get(pk=user.pk)
    assert profile.picked == ["food", "travel"] and profile.onboarded_at is not None
    assert 'value="food" checked' in client.get("/welcome/").content.decode()  # change them later


def test_onboarding_can_be_skipped_and_refuses_unknown_interests(user):
    client = signed_in(user)
    r = client.post("/welcome/", {"interests": ["food", "no-such-thing"]})
    assert r.status_code == 200 and "Unknown interest" in r.content.decode()
    assert InterestProfile.objects.filter(pk=user.pk).first() is None
    r = client.post("/welcome/", {"skip": "1", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/me/edit/"  # no open redirect
    profile = InterestProfile.objects.get(pk=user.pk)
    assert profile.picked == [] and profile.onboarded_at is not None


def _food(**kwargs):
    note = NoteFactory(**kwargs)
    NoteCategory.objects.create(note=note, category=InterestCategory.objects.get(slug="food"))
    return note


def test_home_discover_cards_have_why_and_impression_tokens(user):
    note = _food()
    NotePool.objects.create(note=note, level=1)
    page = signed_in(user).get("/").content.decode()
    assert f'data-note-id="{note.pk}"' in page and "data-impression=" in page
    assert f"/notes/{note.pk}/why/" in page and "Why am I seeing this?" in page


def test_why_popover_and_page(user, anon):
    note = _food()
    NotePool.objects.create(note=note, level=1)
    fragment = signed_in(user).get(f"/notes/{note.pk}/why/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="why-panel"' in fragment and "first group of readers" in fragment
    assert "<html" not in fragment
    full = anon.get(f"/notes/{note.pk}/why/").content.decode()
    assert "<html" in full and "first group of readers" in full
    private = _food(visibility="private")
    assert anon.get(f"/notes/{private.pk}/why/").status_code == 404


def test_home_following_and_nearby_tabs(user):
    followed = UserFactory()
    Follow.objects.create(follower=user, followee=followed)
    mine = _food(author=followed)
    near = _food(latitude=Decimal("3.15"), longitude=Decimal("101.71"))
    client = signed_in(user)
    assert f'data-note-id="{mine.pk}"' in client.get("/?tab=following").content.decode()
    nearby = client.get("/?tab=nearby&lat=3.15&lng=101.71").content.decode()
    assert f'data-note-id="{near.pk}"' in nearby and 'data-geo-nearby="on"' in nearby
    asks = client.get("/?tab=nearby").content.decode()
    assert 'data-geo-nearby="ask"' in asks  # the browser is asked for its position
    assert client.get("/?tab=nearby&lat=999&lng=1").status_code == 200  # off the map: an empty grid


def test_signup_goes_through_the_interest_step(sms_code):
    client = Client()
    client.post("/signup/", {"step": "phone", "phone": "+60123450177"})
    r = client.post(
        "/signup/",
        {
            "step": "code",
            "phone": "+60123450177",
            "code": sms_code("+60123450177"),
            "handle": "newbie_pick",
            "agree_terms": "on",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/welcome/"
    assert client.get("/welcome/").status_code == 200


# --- Nearby from the profile's place (issue #23, finding 9) -------------------------------------------------------
def test_nearby_from_the_profile_place_finds_its_districts_other_names_and_coordinates(user):
    user.location = "Kuala Lumpur"
    user.save(update_fields=["location"])
    district = _food(location_name="Bukit Bintang")
    chinese = _food(location_name="吉隆坡 · 茨厂街")
    placed = _food(location_name="VCR Café", latitude=Decimal("3.15"), longitude=Decimal("101.71"))
    elsewhere = _food(location_name="Penang", latitude=Decimal("5.41"), longitude=Decimal("100.33"))
    page = signed_in(user).get("/?tab=nearby").content.decode()
    for note in (district, chinese, placed):
        assert f'data-note-id="{note.pk}"' in page
    assert f'data-note-id="{elsewhere.pk}"' not in page
    assert 'data-nearby-source="profile"' in page and "the location on your profile" in page


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("en", "Nothing near Ipoh yet.", "Set your location on your profile"),
        ("zh-hans", "Ipoh 附近还没有笔记。", "在个人资料中"),
        ("ms", "Belum ada apa-apa berhampiran Ipoh.", "Tetapkan lokasi"),
    ],
)
def test_nearby_with_a_place_set_never_asks_to_set_it(user, language, said, not_said):
    user.location = "Ipoh"
    user.save(update_fields=["location"])
    _food(location_name="Bukit Bintang")
    page = html.unescape(signed_in(user).get("/?tab=nearby", HTTP_ACCEPT_LANGUAGE=language).content.decode())
    assert said in page and not_said not in page
    assert 'href="/me/edit/"' in page and "data-geo-use" in page  # change the place, or share the position


def test_nearby_without_a_place_explains_what_it_needs(user):
    page = html.unescape(signed_in(user).get("/?tab=nearby").content.decode())
    assert 'data-nearby-source="none"' in page
    assert "share your position with this site, or set your location on your profile" in page

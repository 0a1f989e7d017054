"""A newcomer signs up by phone code, fills in a profile with an avatar, switches language and follows
someone — in a real browser, at phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from conftest import last_sms_code
from meadow.accounts.models import Follow, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _avatar_file(tmp_path):
    path = tmp_path / "me.png"
    Image.new("RGB", (640, 480), (232, 119, 74)).save(path)
    return path


def _nav(page):
    """The navigation a person sees: the bottom tab bar on phones, the left rail on desktop."""
    return page.locator(".tabbar" if page.viewport_name == "phone" else ".rail")


def test_sign_up_by_phone_edit_profile_switch_language_and_follow(page, live_server, tmp_path, shot):
    creator = UserFactory(handle="lily.eats", display_name="Lily 吃遍吉隆坡", bio="KL food hunter")
    phone = "+60 12-345 6789" if page.viewport_name == "phone" else "+60 13-222 4444"

    # sign up: the phone number, then the code from the SMS
    page.goto(f"{live_server.url}/signup/")
    shot("signup")
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_test_id("send-code").click()
    e164 = "+60123456789" if page.viewport_name == "phone" else "+60132224444"
    code_field = page.get_by_label("Code from the SMS")
    expect(code_field).to_be_visible()
    code_field.fill(last_sms_code(e164))
    handle = f"newbie_{page.viewport_name}"
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Name", exact=True).fill("Newbie Nora")
    page.get_by_label(re.compile("I have read and agree")).check()
    page.get_by_test_id("create-account").click()

    # the interests step (skippable), then the profile editor, signed in
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    page.get_by_test_id("skip-interests").click()
    expect(page).to_have_url(re.compile(r"/me/edit/$"))
    user = User.objects.get(handle=handle)
    assert user.phone == e164 and user.agreements.count() == 2

    # fill in the profile with an avatar upload
    page.get_by_label("Bio").fill("Weekend baker in PJ 🍰 · recipes and café notes")
    page.get_by_label("Location").fill("Petaling Jaya")
    page.get_by_label("Profile picture").set_input_files(str(_avatar_file(tmp_path)))
    page.get_by_test_id("save-profile").click()
    expect(page).to_have_url(re.compile(rf"/@{handle}/$"))
    expect(page.locator(".profile-bio")).to_contain_text("Weekend baker in PJ 🍰")
    avatar = page.locator(".profile-head img.avatar")
    expect(avatar).to_be_visible()
    assert avatar.evaluate("img => img.naturalWidth") == 400
    shot("profile")

    # follow someone from their profile
    page.goto(f"{live_server.url}/@{creator.handle}/")
    page.get_by_test_id("follow-button").click()
    expect(page.get_by_test_id("follow-button")).to_have_text("Following")
    expect(page.locator("#followers-count")).to_have_text("1")
    assert Follow.objects.filter(follower__handle=handle, followee=creator, status="active").exists()

    # switch the language: the whole shell speaks Chinese, then Malay
    page.locator("select[name=language]:visible").first.select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(_nav(page)).to_contain_text("发现")
    expect(page.get_by_test_id("follow-button")).to_have_text("已关注")
    shot("profile-zh")
    page.locator("select[name=language]:visible").first.select_option("ms")
    expect(page.locator("html")).to_have_attribute("lang", "ms")
    expect(_nav(page)).to_contain_text("Terokai")
    shot("profile-ms")


def test_bad_input_shows_clear_errors_and_keeps_nothing(page, live_server):
    UserFactory(handle="taken")
    page.goto(f"{live_server.url}/signup/")
    page.get_by_label("Mobile number").fill("12345")
    page.get_by_test_id("send-code").click()
    expect(page.locator(".error")).to_contain_text("valid mobile number")

    page.get_by_label("Mobile number").fill("+60 11-2345 6789")
    page.get_by_test_id("send-code").click()
    expect(page.get_by_label("Code from the SMS")).to_be_visible()
    page.get_by_label("Code from the SMS").fill(
        "000000" if last_sms_code("+601123456789") != "000000" else "111111"
    )
    page.get_by_label("Handle").fill("taken")
    page.get_by_label(re.compile("I have read and agree")).check()
    page.get_by_test_id("create-account").click()
    expect(page.locator(".error").first).to_be_visible()
    assert not User.objects.filter(phone="+601123456789").exists()


def test_avatar_that_is_not_an_image_is_refused(page, live_server, tmp_path):
    user = UserFactory(handle="nora")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Handle, e-mail or phone").fill("nora")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/me/edit/")
    fake = tmp_path / "holiday.jpg"
    fake.write_bytes(b"%PDF-1.4 not really a picture" * 10)
    page.get_by_label("Bio").fill("should not be saved")
    page.get_by_label("Profile picture").set_input_files(str(fake))
    page.get_by_test_id("save-profile").click()
    expect(page.locator(".error")).to_contain_text("not an image")
    user.refresh_from_db()
    assert user.bio == "" and not user.avatar

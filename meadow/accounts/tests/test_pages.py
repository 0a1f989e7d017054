"""The account pages (server-rendered HTML, htmx partials) through Django's test client."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from meadow.accounts.models import Agreement, Follow, PhoneCode, User
from meadow.accounts.sms import LocmemBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LANGUAGES = ["zh-hans", "en", "ms"]


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def signed_in(user: User, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def in_language(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def jpeg(size=(600, 400)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 180, 90)).save(out, "JPEG")
    return SimpleUploadedFile("me.jpg", out.getvalue(), content_type="image/jpeg")


def is_logged_in(client: Client) -> bool:
    return client.get("/api/v1/me").status_code == 200


# --- sign-up and login -------------------------------------------------------------------------------------------
def test_phone_signup_two_steps_logs_in_and_goes_to_edit_profile(sms_code):
    client = Client()
    response = client.get("/signup/")
    assert response.status_code == 200 and 'name="step" value="phone"' in response.content.decode()

    response = client.post("/signup/", {"step": "phone", "phone": "012-345 0100"})
    assert response.status_code == 200
    assert 'name="step" value="code"' in response.content.decode()
    assert 'value="+60123450100"' in response.content.decode()
    code = sms_code("+60123450100")

    response = client.post(
        "/signup/",
        {
            "step": "code",
            "phone": "+60123450100",
            "code": code,
            "handle": "Siti.Page",
            "display_name": "Siti",
            "agree_terms": "on",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/welcome/"  # pick interests, then profile
    user = User.objects.get(handle="siti.page")
    assert user.phone == "+60123450100" and user.display_name == "Siti"
    assert Agreement.objects.filter(user=user, version=settings.MEADOW_TERMS_VERSION).count() == 2
    assert is_logged_in(client)
    assert client.get("/me/edit/").status_code == 200


@pytest.mark.parametrize(
    ("given", "kept"),
    [("/notes/7/", "/notes/7/"), ("https://evil.example/phish", None), ("//evil.example/", None)],
)
def test_phone_signup_keeps_where_the_person_was_going(sms_code, given, kept):
    """Journey finding (issue #23): a signed-out reader who taps Like lands on the log-in page with ``next``; its
    "Sign up" link, both sign-up steps and the interests step keep it, so the new account comes back to the note.
    Another site's address is never followed."""
    client = Client()
    login_page = page_text(client.get("/login/", {"next": given}))
    signup_url = f"/signup/?next={given}" if kept else "/signup/"
    if kept:
        assert f'href="/signup/?next={kept}"' in login_page
    response = client.post(signup_url, {"step": "phone", "phone": "012-345 0102", "next": given})
    assert response.status_code == 200
    assert (f'name="next" value="{kept}"' in response.content.decode()) == bool(kept)
    code = sms_code("+60123450102")
    body = {"step": "code", "phone": "+60123450102", "code": code, "handle": "nexty", "agree_terms": "on"}
    response = client.post(signup_url, {**body, "next": given})
    assert response.status_code == 302
    if kept:
        assert response["Location"] == f"/welcome/?next={kept.replace('/', '%2F')}"
        skipped = client.post(response["Location"], {"skip": "1", "next": kept})
        assert skipped.status_code == 302 and skipped["Location"] == kept
    else:
        assert response["Location"] == "/welcome/"
    assert User.objects.filter(handle="nexty").exists()


def test_phone_signup_without_agreeing_writes_nothing(sms_code):
    client = Client()
    client.post("/signup/", {"step": "phone", "phone": "+60123450101"})
    code = sms_code("+60123450101")
    response = client.post(
        "/signup/", {"step": "code", "phone": "+60123450101", "code": code, "handle": "no_agree"}
    )
    assert response.status_code == 200
    assert "Please read and agree to the user agreement and the privacy policy." in page_text(response)
    assert not User.objects.filter(handle="no_agree").exists()
    assert not is_logged_in(client)


def test_login_with_password():
    user = UserFactory(handle="pw_login")
    client = Client()
    response = client.post("/login/", {"login": "PW_Login", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/api/v1/me").json()["handle"] == user.handle


def test_login_with_password_honours_a_safe_next_only():
    UserFactory(handle="next_user")
    client = Client()
    response = client.post("/login/?next=/settings/", {"login": "next_user", "password": PASSWORD})
    assert response["Location"] == "/settings/"
    other = Client()
    response = other.post("/login/?next=https://evil.example/", {"login": "next_user", "password": PASSWORD})
    assert response["Location"] == "/"


def test_login_with_a_wrong_password_shows_the_error():
    UserFactory(handle="pw_wrong")
    client = Client()
    response = client.post("/login/", {"login": "pw_wrong", "password": "not it"})
    assert response.status_code == 200
    assert "The login or the password is not right." in page_text(response)
    assert not is_logged_in(client)


def test_login_by_code(sms_code):
    user = UserFactory(handle="code_login", phone="+60123450102")
    client = Client()
    response = client.post("/login/code/", {"step": "phone", "phone": "+60 12-345 0102"})
    assert response.status_code == 200 and 'name="step" value="code"' in response.content.decode()
    code = sms_code("+60123450102")

    response = client.post("/login/code/", {"step": "code", "phone": "+60123450102", "code": code})

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/api/v1/me").json()["handle"] == user.handle
    assert PhoneCode.objects.get(phone="+60123450102").used_at is not None


def test_login_by_code_for_an_unknown_number_sends_nothing():
    client = Client()
    response = client.post("/login/code/", {"step": "phone", "phone": "+60123450103"})
    assert response.status_code == 200
    assert "No account uses this phone number. Sign up first." in page_text(response)
    assert LocmemBackend.outbox == [] and not PhoneCode.objects.exists()


def test_logout_needs_post():
    user = UserFactory()
    client = signed_in(user)
    assert client.get("/logout/").status_code == 405
    assert is_logged_in(client)
    assert client.post("/logout/").status_code == 302
    assert not is_logged_in(client)


# --- profile and follow ------------------------------------------------------------------------------------------
def test_profile_page_shows_the_counts():
    star = UserFactory(handle="page_star", display_name="Page Star")
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        signed_in(fan).post("/@page_star/follow/")
    signed_in(star).post(f"/@{fans[0].handle}/follow/")
    User.objects.filter(pk=star.pk).update(likes_saves_received_count=1234)

    response = Client().get("/@page_star/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "Page Star" in text
    assert '<strong id="followers-count">3</strong>' in text
    assert re.search(r"<strong>1</strong> <span>Following</span>", text)
    assert re.search(r"<strong>1[,.\s]?234</strong> <span>Likes & saves</span>", html.unescape(text))


def test_profile_of_a_missing_user_is_404():
    assert Client().get("/@nobody_here/").status_code == 404


def test_follow_button_posts_and_redirects():
    user, target = UserFactory(), UserFactory()
    client = signed_in(user)
    response = client.post(f"/@{target.handle}/follow/")
    assert response.status_code == 302 and response["Location"] == f"/@{target.handle}/"
    assert Follow.objects.filter(follower=user, followee=target, status="active").exists()
    target.refresh_from_db()
    assert target.followers_count == 1


def test_follow_button_with_htmx_returns_the_partial():
    user, target = UserFactory(), UserFactory()
    client = signed_in(user)

    response = client.post(f"/@{target.handle}/follow/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text
    assert 'data-testid="follow-button"' in text and 'value="unfollow"' in text
    assert '<span id="followers-count" hx-swap-oob="true">1</span>' in text

    response = client.post(f"/@{target.handle}/follow/", {"action": "unfollow"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert 'value="follow"' in text and '<span id="followers-count" hx-swap-oob="true">0</span>' in text
    assert not Follow.objects.exists()


def test_follow_a_private_account_shows_requested():
    user, target = UserFactory(), UserFactory(is_private=True)
    response = signed_in(user).post(f"/@{target.handle}/follow/", HTTP_HX_REQUEST="true")
    assert "Requested" in response.content.decode()
    assert Follow.objects.get().status == "pending"


def test_follow_needs_login_and_post():
    target = UserFactory()
    response = Client().post(f"/@{target.handle}/follow/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert signed_in(UserFactory()).get(f"/@{target.handle}/follow/").status_code == 405
    assert not Follow.objects.exists()


def test_follow_requests_page_accepts():
    owner, fan = UserFactory(is_private=True), UserFactory()
    signed_in(fan).post(f"/@{owner.handle}/follow/")
    client = signed_in(owner)
    assert fan.handle in client.get("/me/requests/").content.decode()
    response = client.post("/me/requests/", {"handle": fan.handle, "decision": "accept"})
    assert response.status_code == 302
    assert Follow.objects.get().status == "active"


def test_private_connections_page_is_404_for_strangers():
    owner = UserFactory(is_private=True)
    assert Client().get(f"/@{owner.handle}/followers/").status_code == 404
    assert signed_in(UserFactory()).get(f"/@{owner.handle}/followers/").status_code == 404
    assert signed_in(owner).get(f"/@{owner.handle}/followers/").status_code == 200


# --- edit profile and settings -----------------------------------------------------------------------------------
def test_edit_profile_with_avatar_upload():
    user = UserFactory(handle="editor")
    client = signed_in(user)
    response = client.post(
        "/me/edit/",
        {
            "display_name": "The Editor",
            "handle": "Editor_2",
            "bio": "Who I am · what I offer · find me here",
            "location": "Penang",
            "gender": "",
            "birthday": "",
            "avatar": jpeg(),
        },
    )
    assert response.status_code == 302 and response["Location"] == "/@editor_2/"
    user.refresh_from_db()
    assert (user.handle, user.display_name, user.location) == ("editor_2", "The Editor", "Penang")
    with user.avatar.open("rb") as fh:
        img = Image.open(fh)
        assert img.format == "WEBP" and img.size == (400, 400)


def test_edit_profile_with_a_bad_avatar_changes_nothing():
    user = UserFactory(handle="careful", display_name="Careful")
    client = signed_in(user)
    bad = SimpleUploadedFile("me.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(
        "/me/edit/", {"display_name": "Changed", "handle": "careful", "bio": "new bio", "avatar": bad}
    )
    assert response.status_code == 200
    assert "This file is not an image we can read." in page_text(response)
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.avatar.name) == ("Careful", "", "")


def test_settings_page_toggles_private():
    user = UserFactory()
    client = signed_in(user)
    assert client.get("/settings/").status_code == 200
    response = client.post("/settings/", {"is_private": "on", "message_policy": "following", "language": ""})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    user.refresh_from_db()
    assert user.is_private and user.message_policy == "following"
    client.post("/settings/", {"message_policy": "following", "language": ""})  # unchecked box
    user.refresh_from_db()
    assert not user.is_private


def test_settings_language_sets_the_cookie():
    user = UserFactory()
    response = signed_in(user).post("/settings/", {"message_policy": "everyone", "language": "ms"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ms"
    user.refresh_from_db()
    assert user.language == "ms"


def test_account_pages_need_login():
    for url in ("/me/", "/me/edit/", "/me/requests/", "/settings/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(f"/login/?next={url}")


# --- translated errors -------------------------------------------------------------------------------------------
WRONG_CODE = {
    "zh-hans": "验证码不正确，请核对短信后重试。",
    "en": "That code is not right. Check the SMS and try again.",
    "ms": "Kod itu salah. Semak SMS dan cuba lagi.",
}
BAD_PHONE = {
    "zh-hans": "请输入有效的手机号，例如 +60 12-345 6789。",
    "en": "Enter a valid mobile number, e.g. +60 12-345 6789.",
    "ms": "Masukkan nombor telefon bimbit yang sah, cth. +60 12-345 6789.",
}
HANDLE_TAKEN = {
    "zh-hans": "Meadow 号 @taken_page 已被占用。",
    "en": "The handle @taken_page is taken.",
    "ms": "Nama pengguna @taken_page sudah diambil.",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_bad_phone_error_is_translated(language):
    response = in_language(language).post("/signup/", {"step": "phone", "phone": "12345"})
    assert response.status_code == 200
    assert BAD_PHONE[language] in page_text(response)
    assert not PhoneCode.objects.exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_wrong_code_error_is_translated(language, sms_code):
    client = in_language(language)
    client.post("/signup/", {"step": "phone", "phone": "+60123450110"})
    code = sms_code("+60123450110")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post(
        "/signup/",
        {"step": "code", "phone": "+60123450110", "code": wrong, "handle": "translated", "agree_terms": "on"},
    )
    assert response.status_code == 200
    assert WRONG_CODE[language] in page_text(response)
    assert not User.objects.filter(handle="translated").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_taken_handle_error_is_translated_on_the_edit_page(language):
    UserFactory(handle="taken_page")
    user = UserFactory(display_name="Me")
    response = signed_in(user, language).post("/me/edit/", {"display_name": "Me", "handle": "taken_page"})
    assert response.status_code == 200
    assert HANDLE_TAKEN[language] in page_text(response)
    old = user.handle
    user.refresh_from_db()
    assert user.handle == old


def test_accept_language_header_picks_chinese():
    response = Client().post("/signup/", {"step": "phone", "phone": "12345"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert BAD_PHONE["zh-hans"] in page_text(response)
    assert '<html lang="zh-hans" ' in response.content.decode()


# --- every nav page, every language ------------------------------------------------------------------------------
NAV_PAGES = [
    "/",
    "/?tab=following",
    "/?tab=nearby",
    "/search/",
    "/search/?q=user",
    "/store/",
    "/messages/",
    "/me/",
]
ANON_PAGES = ["/signup/", "/login/", "/login/code/", "/terms/", "/privacy/"]
SIGNED_IN_PAGES = [
    "/me/edit/",
    "/me/requests/",
    "/settings/",
    "/@{handle}/followers/",
    "/@{handle}/following/",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_every_nav_page_renders_in_every_language(language, who):
    user = UserFactory(handle="nav_user")
    client = signed_in(user, language) if who == "signed_in" else in_language(language)
    pages = NAV_PAGES + ANON_PAGES + (SIGNED_IN_PAGES if who == "signed_in" else [])
    pages.append(f"/@{user.handle}/")
    for url in pages:
        response = client.get(url.format(handle=user.handle), follow=True)
        assert response.status_code == 200, (url, response.status_code)
        assert f'<html lang="{language}" ' in response.content.decode(), url


# --- every error at once, resend code (issue #23 finding 14) ------------------------------------------------------
def _to_code_step(client, phone, sms_code):
    client.post("/signup/", {"step": "phone", "phone": phone})
    return sms_code(phone)


def _error_of(text: str, field: str) -> str:
    """The error shown under ``field`` (``_field.html`` renders it right after the input)."""
    match = re.search(rf'id="id_{field}"(?:(?!</div>).)*?<p class="error"[^>]*>(.*?)</p>', text, re.S)
    return match.group(1) if match else ""


def test_signup_reports_every_error_at_once_by_its_field(sms_code):
    UserFactory(handle="taken_at_once")
    client = Client()
    code = _to_code_step(client, "+60123450120", sms_code)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post(
        "/signup/", {"step": "code", "phone": "+60123450120", "code": wrong, "handle": "taken_at_once"}
    )
    text = page_text(response)
    assert "taken" in _error_of(text, "handle")
    assert "not right" in _error_of(text, "code")
    assert "agree" in text  # the agreement's own error, beside the others
    assert not User.objects.filter(phone="+60123450120").exists()

    # a right code is not used up while other fields are wrong: fixing them with the same code signs up
    response = client.post(
        "/signup/", {"step": "code", "phone": "+60123450120", "code": code, "handle": "taken_at_once"}
    )
    assert response.status_code == 200 and "taken" in _error_of(page_text(response), "handle")
    response = client.post(
        "/signup/",
        {"step": "code", "phone": "+60123450120", "code": code, "handle": "free_now", "agree_terms": "on"},
    )
    assert response.status_code == 302 and User.objects.filter(handle="free_now").exists()


def test_signup_form_errors_and_service_errors_show_together(sms_code):
    UserFactory(handle="taken_too")
    client = Client()
    _to_code_step(client, "+60123450121", sms_code)
    response = client.post(
        "/signup/", {"step": "code", "phone": "+60123450121", "code": "", "handle": "taken_too"}
    )
    text = page_text(response)
    assert _error_of(text, "code") and "taken" in _error_of(text, "handle") and "agree" in text


RESEND_WAIT = {
    "zh-hans": "秒后可以重新获取验证码",
    "en": "You can ask for a new one in",
    "ms": "Anda boleh meminta kod baharu dalam",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_resend_code_is_rate_limited_like_sending_and_shows_the_wait(language, sms_code):
    from django.core.cache import cache

    client = in_language(language)
    first = _to_code_step(client, "+60123450122", sms_code)
    page = page_text(client.post("/signup/", {"step": "phone", "phone": "+60123450199"}))
    assert 'data-testid="resend-code"' in page and 'value="resend"' in page
    response = client.post("/signup/", {"step": "resend", "phone": "+60123450122"})
    text = page_text(response)
    assert response.status_code == 200 and RESEND_WAIT[language] in text
    assert re.search(r"\b(60|59|58)\b", text)  # the wait in seconds
    assert 'value="+60123450122"' in text  # still on the code step for that number
    assert PhoneCode.objects.filter(phone="+60123450122").count() == 1

    cache.clear()  # the burst window passed
    response = client.post("/signup/", {"step": "resend", "phone": "+60123450122"})
    assert response.status_code == 200 and 'name="step" value="code"' in response.content.decode()
    second = sms_code("+60123450122")
    assert PhoneCode.objects.filter(phone="+60123450122").count() == 2 and second  # a new code was sent
    assert first is not None

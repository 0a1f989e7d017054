"""Accounts under attack (the security issue): the per-account login lockout, API tokens that expire, are listed
and revoked (and all revoked by a password change or reset), no account enumeration through the token endpoint,
and no API write accepted on a bare session cookie (CSRF)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meadow.accounts.models import ApiToken, User
from meadow.accounts.services import _token_create
from meadow.api import api
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "blue meadow 2026!"
TOKEN_URL = "/api/v1/auth/token"


def post(client: Client, url: str, data: dict | None = None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    return body["error"]


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def live_tokens(user: User) -> list[int]:
    return sorted(ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True))


# --- 4. the per-account lockout holds however the login is spelled -------------------------------------------------
SPELLINGS = [
    "lock_me",
    "@lock_me",
    "LOCK_ME",
    " @Lock_Me ",
    "ｌｏｃｋ＿ｍｅ",  # full-width letters
    "Lock.Me@Example.COM",
    "+60123457788",
    "012-345 7788",
    "(012) 345 7788",
    "０１２３４５７７８８",  # full-width digits
]


@pytest.fixture
def locked_target(db):
    return UserFactory(handle="lock_me", email="lock.me@example.com", phone="+60123457788")


def test_token_lockout_is_per_account_whatever_the_spelling(anon, locked_target):
    assert len(SPELLINGS) == 10  # the per-account limit
    for spelling in SPELLINGS:
        response = post(anon, TOKEN_URL, {"login": spelling, "password": "not the password"})
        assert response.status_code == 400 and error(response)["code"] == "bad_credentials", spelling
    tokens_before = ApiToken.objects.count()

    # The 11th attempt, with the right password and yet another spelling, is refused.
    response = post(anon, TOKEN_URL, {"login": "+60 12-345 7788", "password": PASSWORD})

    assert response.status_code == 429, response.content
    assert error(response)["code"] == "rate_limited" and int(response["Retry-After"]) >= 1
    assert ApiToken.objects.count() == tokens_before


def test_every_spelling_names_the_same_account(anon, locked_target):
    for spelling in SPELLINGS:
        response = post(anon, TOKEN_URL, {"login": spelling, "password": PASSWORD})
        assert response.status_code == 200, (spelling, response.content)
        assert response.json()["handle"] == "lock_me"


@pytest.mark.parametrize(
    "spellings",
    [
        ["+60129990001", "012-999 0001", "(012) 999 0001", "０１２９９９０００１", "+60 12 999 0001"] * 2,
        ["ghost_user", "@ghost_user", "GHOST_USER", "@Ghost_User", "ｇｈｏｓｔ＿ｕｓｅｒ"] * 2,
        ["Ghost@Example.com", "ghost@example.com", "GHOST@EXAMPLE.COM", " ghost@example.COM "] * 3,
    ],
    ids=["phone", "handle", "email"],
)
def test_unknown_logins_are_counted_by_their_normalised_form(anon, spellings):
    for spelling in spellings[:10]:
        assert post(anon, TOKEN_URL, {"login": spelling, "password": "x" * 10}).status_code == 400
    response = post(anon, TOKEN_URL, {"login": spellings[0], "password": "x" * 10})
    assert response.status_code == 429 and error(response)["code"] == "rate_limited"


def test_web_login_lockout_is_per_account_whatever_the_spelling(locked_target):
    client = Client()
    for spelling in SPELLINGS:
        response = client.post("/login/", {"login": spelling, "password": "not the password"})
        assert "The login or the password is not right." in response.content.decode(), spelling

    response = client.post("/login/", {"login": "+60 12-345 7788", "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many attempts" in response.content.decode()
    assert client.get("/api/v1/me").status_code == 401  # not signed in


def test_the_lockout_is_shared_by_every_door(anon, locked_target, staff_user):
    """Attempts through the API count for the web login, allauth's login and the admin's (one account limit)."""
    for spelling in SPELLINGS:
        post(anon, TOKEN_URL, {"login": spelling, "password": "not the password"})

    allauth = Client()
    response = allauth.post("/accounts/login/", {"login": "lock.me@example.com", "password": PASSWORD})
    assert response.status_code == 200 and "Too many attempts" in response.content.decode()
    assert allauth.get("/api/v1/me").status_code == 401

    web = Client()
    response = web.post("/login/", {"login": "LOCK_ME", "password": PASSWORD})
    assert "Too many attempts" in response.content.decode()
    assert web.get("/api/v1/me").status_code == 401

    # The admin's login form too (a staff account, locked the same way), answered as a form error, not a 500.
    User.objects.filter(pk=locked_target.pk).update(is_staff=True)
    admin = Client()
    response = admin.post("/admin/login/", {"username": "Lock_Me", "password": PASSWORD})
    assert response.status_code == 200 and "Too many attempts" in response.content.decode()
    assert admin.get("/api/v1/me").status_code == 401


# --- 8. no account enumeration --------------------------------------------------------------------------------------
class CountingHasher(MD5PasswordHasher):
    """The real MD5 hasher (fast for tests), counting the hashes it computes."""

    algorithm = "counting_md5"
    computed = 0

    def encode(self, password, salt):
        type(self).computed += 1
        return super().encode(password, salt)


@pytest.mark.parametrize(
    ("known", "unknown"),
    [
        ("known_one", "nobody_here"),
        ("known.one@example.com", "nobody.here@example.com"),
        ("+60123450998", "+60123450999"),
    ],
    ids=["handle", "email", "phone"],
)
def test_unknown_login_and_wrong_password_answer_the_same_and_both_hash(anon, known, unknown):
    with override_settings(PASSWORD_HASHERS=[f"{__name__}.CountingHasher"]):
        UserFactory(handle="known_one", email="known.one@example.com", phone="+60123450998")
        CountingHasher.computed = 0
        real = post(anon, TOKEN_URL, {"login": known, "password": "wrong password"})
        hashed_for_real = CountingHasher.computed
        CountingHasher.computed = 0
        fake = post(anon, TOKEN_URL, {"login": unknown, "password": "wrong password"})
        hashed_for_fake = CountingHasher.computed

    assert (real.status_code, real.json()) == (fake.status_code, fake.json())
    assert real.status_code == 400 and error(real)["code"] == "bad_credentials"
    # The same work either way: the default hasher runs once whether or not the account exists.
    assert hashed_for_real == hashed_for_fake == 1


def test_web_login_hashes_for_an_unknown_login_too():
    with override_settings(PASSWORD_HASHERS=[f"{__name__}.CountingHasher"]):
        UserFactory(handle="known_two")
        CountingHasher.computed = 0
        Client().post("/login/", {"login": "known_two", "password": "wrong password"})
        hashed_for_real = CountingHasher.computed
        CountingHasher.computed = 0
        Client().post("/login/", {"login": "nobody_two", "password": "wrong password"})
        hashed_for_fake = CountingHasher.computed
    assert hashed_for_real >= 1 and hashed_for_fake == hashed_for_real


def test_token_by_phone_answers_the_same_for_unknown_and_registered_numbers(anon, sms_code):
    registered, unknown = "+60123451001", "+60123451002"
    UserFactory(phone=registered)

    # Without a code requested: the same answer.
    answers = [post(anon, TOKEN_URL, {"phone": p, "code": "123456"}) for p in (registered, unknown)]
    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].json() == answers[1].json()
    assert error(answers[0])["code"] == "code_missing"

    # With a code sent to each number, a wrong code: the same answer (never "no account").
    for phone in (registered, unknown):
        assert post(anon, "/api/v1/auth/phone/code", {"phone": phone}).status_code == 202
    codes = {phone: sms_code(phone) for phone in (registered, unknown)}
    answers = [
        post(anon, TOKEN_URL, {"phone": p, "code": f"{(int(codes[p]) + 1) % 1_000_000:06d}"})
        for p in (registered, unknown)
    ]
    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].json() == answers[1].json()
    assert error(answers[0])["code"] == "code_wrong"
    assert not ApiToken.objects.exists()


# --- 6. tokens expire, are listed and revoked -------------------------------------------------------------------------
def issue(client: Client, user: User, name: str = "") -> str:
    response = post(client, TOKEN_URL, {"login": user.handle, "password": PASSWORD, "name": name})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def test_a_token_carries_its_times_and_expires_after_the_configured_days(anon, user):
    before = timezone.now()
    issue(anon, user, "Pixel 9")
    token = ApiToken.objects.get(user=user)
    assert before <= token.created_at <= timezone.now()
    assert token.expires_at - token.created_at == timedelta(days=settings.MEADOW_API_TOKEN_DAYS)
    assert settings.MEADOW_API_TOKEN_DAYS == 90  # the documented default

    with override_settings(MEADOW_API_TOKEN_DAYS=7):
        issue(anon, user)
    newest = ApiToken.objects.filter(user=user).latest("id")
    assert newest.expires_at - newest.created_at == timedelta(days=7)


def test_an_expired_token_answers_401(anon, user):
    raw = issue(anon, user)
    client = bearer(raw)
    assert client.get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and error(response)["code"] == "unauthenticated"
    assert post(client, "/api/v1/users/someone/follow").status_code == 401


def _token_updates(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "accounts_apitoken"')]


def test_last_used_is_written_at_most_once_a_minute(anon, user):
    client = bearer(issue(anon, user))
    token = ApiToken.objects.get(user=user)
    assert token.last_used_at is None

    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and len(_token_updates(first)) == 1
    used = token.last_used_at

    with CaptureQueriesContext(connection) as again:
        for _ in range(3):
            assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    assert _token_updates(again) == [] and token.last_used_at == used

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=used - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as later:
        assert client.get("/api/v1/me").status_code == 200
    token.refresh_from_db()
    assert len(_token_updates(later)) == 1 and token.last_used_at > used - timedelta(seconds=61)


def test_list_my_tokens_never_shows_a_secret(anon, user, other_user):
    phone_raw = issue(anon, user, "Pixel 9")
    issue(anon, user, "iPad")
    revoked = _token_create(user=user, name="Old phone")
    ApiToken.objects.filter(user=user, name="Old phone").update(revoked_at=timezone.now())
    _token_create(user=user, name="Expired")
    ApiToken.objects.filter(user=user, name="Expired").update(expires_at=timezone.now() - timedelta(days=1))
    _token_create(user=other_user, name="Someone else's")

    response = bearer(phone_raw).get("/api/v1/me/tokens")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_cursor"] is None
    assert [item["name"] for item in body["items"]] == ["iPad", "Pixel 9"]
    for item in body["items"]:
        assert set(item) == {"id", "name", "created_at", "last_used_at", "expires_at", "current"}
    assert [item["current"] for item in body["items"]] == [False, True]
    text = response.content.decode()
    for token in ApiToken.objects.all():
        assert token.key_hash not in text and token.prefix not in text
    assert phone_raw not in text and revoked not in text


def test_list_my_tokens_pages_with_a_cursor(user):
    for i in range(3):
        _token_create(user=user, name=f"Device {i}")
    client = Client()
    client.force_login(user)
    first = client.get("/api/v1/me/tokens", {"limit": 2}).json()
    assert [i["name"] for i in first["items"]] == ["Device 2", "Device 1"]
    second = client.get("/api/v1/me/tokens", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["name"] for i in second["items"]] == ["Device 0"] and second["next_cursor"] is None
    assert client.get("/api/v1/me/tokens", {"limit": 0}).status_code == 400


def test_revoke_one_of_my_tokens(anon, user):
    keep, drop = issue(anon, user, "Pixel 9"), issue(anon, user, "iPad")
    drop_id = ApiToken.objects.get(user=user, name="iPad").pk

    response = bearer(keep).delete(f"/api/v1/me/tokens/{drop_id}")

    assert response.status_code == 204
    assert bearer(drop).get("/api/v1/me").status_code == 401
    assert bearer(keep).get("/api/v1/me").status_code == 200
    assert bearer(keep).delete(f"/api/v1/me/tokens/{drop_id}").status_code == 204  # again: a no-op
    # revoking the token the request carries signs this app out
    keep_id = ApiToken.objects.get(user=user, name="Pixel 9").pk
    assert bearer(keep).delete(f"/api/v1/me/tokens/{keep_id}").status_code == 204
    assert bearer(keep).get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("token_id", ["999999", "0", "-1", str(2**64), "abc"])
def test_revoke_a_missing_or_bad_token_id(api_for, user, token_id):
    client = api_for(user)
    before = live_tokens(user)
    response = client.delete(f"/api/v1/me/tokens/{token_id}")
    assert response.status_code in {400, 404}, response.content
    assert error(response)["code"] in {"not_found", "invalid"}
    assert live_tokens(user) == before


def test_revoke_token_authorization_matrix(api_for, user, other_user, staff_user):
    raw = _token_create(user=user, name="Pixel 9")
    target = ApiToken.objects.get(user=user, name="Pixel 9")
    url = f"/api/v1/me/tokens/{target.pk}"
    everyone_before = {u.pk: live_tokens(u) for u in (user, other_user, staff_user)}

    def unchanged():
        assert {u.pk: live_tokens(u) for u in (user, other_user, staff_user)} == everyone_before
        assert bearer(raw).get("/api/v1/me").status_code == 200

    response = Client().delete(url)
    assert response.status_code == 401 and error(response)["code"] == "unauthenticated"
    everyone_before[user.pk] = live_tokens(user)
    unchanged()
    for caller in (other_user, staff_user):  # another account's token id: 404, nothing revoked
        client = api_for(caller)
        everyone_before[caller.pk] = live_tokens(caller)  # the client's own token
        response = client.delete(url)
        assert response.status_code == 404 and error(response)["code"] == "not_found"
        unchanged()
        assert target.pk not in [i["id"] for i in client.get("/api/v1/me/tokens").json()["items"]]
    response = api_for(user).delete(url)
    assert response.status_code == 204
    assert bearer(raw).get("/api/v1/me").status_code == 401


def test_list_tokens_is_401_for_anonymous_callers():
    response = Client().get("/api/v1/me/tokens")
    assert response.status_code == 401 and error(response)["code"] == "unauthenticated"


# --- 6. a password change or reset revokes the other tokens and sessions --------------------------------------------
def signed_in(user: User) -> Client:
    client = Client()
    assert client.post("/login/", {"login": user.handle, "password": PASSWORD}).status_code == 302
    return client


def test_password_change_revokes_tokens_and_other_sessions_but_keeps_this_one(anon, user, other_user):
    app = bearer(issue(anon, user, "Pixel 9"))
    other_browser = signed_in(user)
    someone_else = bearer(issue(anon, other_user))
    this_browser = signed_in(user)
    assert app.get("/api/v1/me").status_code == 200
    assert other_browser.get("/api/v1/me").status_code == 200

    response = this_browser.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert app.get("/api/v1/me").status_code == 401
    assert live_tokens(user) == []
    assert other_browser.get("/api/v1/me").status_code == 401
    assert this_browser.get("/api/v1/me").json()["handle"] == user.handle  # the changing session stays in
    assert someone_else.get("/api/v1/me").status_code == 200  # other accounts are not touched


def test_password_reset_revokes_tokens_and_sessions(anon, user):
    app = bearer(issue(anon, user, "Pixel 9"))
    browser = signed_in(user)

    stranger = Client()
    assert stranger.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_page = stranger.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = stranger.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert app.get("/api/v1/me").status_code == 401
    assert live_tokens(user) == []
    assert browser.get("/api/v1/me").status_code == 401


def test_staff_setting_a_password_in_the_admin_revokes_that_accounts_tokens(anon, user, other_user):
    app = bearer(issue(anon, user, "Pixel 9"))
    bystander = bearer(issue(anon, other_user))
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert app.get("/api/v1/me").status_code == 401 and live_tokens(user) == []
    assert bystander.get("/api/v1/me").status_code == 200


# --- 6. the Settings page lists the signed-in apps and signs them out -----------------------------------------------
def test_settings_page_lists_apps_and_signs_one_out(anon, user):
    raw = issue(anon, user, "Pixel 9")
    issue(anon, user, "iPad")
    browser = signed_in(user)

    page = browser.get("/settings/")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="apps"' in html and html.count('data-testid="token-row"') == 2
    assert "Pixel 9" in html and "iPad" in html
    for token in ApiToken.objects.filter(user=user):
        assert token.key_hash not in html and token.prefix not in html
    pixel = ApiToken.objects.get(user=user, name="Pixel 9")
    response = browser.post(f"/settings/apps/{pixel.pk}/sign-out/")
    assert response.status_code == 302 and response["Location"] == "/settings/#apps"
    assert bearer(raw).get("/api/v1/me").status_code == 401
    html = browser.get("/settings/").content.decode()
    assert "The app is signed out." in html and "Pixel 9" not in html


@pytest.mark.parametrize(
    ("language", "heading", "sign_out"),
    [
        ("zh-hans", "已登录的应用", "退出登录"),
        ("ms", "Aplikasi yang dilog masuk", "Log keluar"),
        ("en", "Signed-in apps", "Sign out"),
    ],
)
def test_settings_apps_section_in_each_language(anon, user, language, heading, sign_out):
    issue(anon, user, "Pixel 9")
    browser = signed_in(user)
    html = browser.get("/settings/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert heading in html and sign_out in html


@pytest.mark.parametrize(
    ("language", "used"),
    [("en", "March 4, 2026"), ("zh-hans", "2026年3月4日"), ("ms", "4 Mar 2026")],
)
def test_settings_apps_last_used_date_is_unambiguous(anon, user, language, used):
    # "Last used 03/04/2026" read as 3 April in Malaysia and as March 4 in the US: spell the month out, like
    # "Signed in" and "Expires" beside it.
    issue(anon, user, "Pixel 9")
    ApiToken.objects.filter(user=user).update(last_used_at=timezone.make_aware(datetime(2026, 3, 4, 2, 6)))
    html = signed_in(user).get("/settings/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert used in html
    assert "03/04/2026" not in html and "04/03/2026" not in html and "2026-03-04" not in html


def test_settings_sign_out_authorization_matrix(user, other_user, staff_user):
    raw = _token_create(user=user, name="Pixel 9")
    token = ApiToken.objects.get(user=user)
    url = f"/settings/apps/{token.pk}/sign-out/"

    response = Client().post(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    for caller in (other_user, staff_user):
        client = Client()
        client.force_login(caller)
        assert client.post(url).status_code == 404
        assert client.get(url).status_code == 405
    assert live_tokens(user) == [token.pk] and bearer(raw).get("/api/v1/me").status_code == 200


# --- 9. no API write is accepted on a session cookie without the CSRF token -----------------------------------------
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def unsafe_operations() -> list[tuple[str, str]]:
    """Every write operation the API serves, read from the NinjaAPI object's routers."""
    api.urls  # noqa: B018 — builds the routers
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in sorted(set(operation.methods) & UNSAFE):
                    found.append((method, "/api/v1" + prefix + path))
    return sorted(set(found))


def test_the_walk_finds_the_api_writes():
    operations = unsafe_operations()
    assert len(operations) >= 60
    for expected in [
        ("POST", "/api/v1/impressions"),
        ("POST", "/api/v1/notes/{note_id}/read"),
        ("POST", "/api/v1/products/{product_id}/tag-clicks"),
        ("DELETE", "/api/v1/me/tokens/{token_id}"),
        ("POST", "/api/v1/auth/token"),
    ]:
        assert expected in operations


def _fill(path: str, handle: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: handle if m.group(1) == "handle" else ("accept" if m.group(1) == "decision" else "1"),
        path,
    )


@pytest.mark.parametrize(("method", "path"), unsafe_operations())
def test_no_write_accepts_a_session_cookie_without_csrf(user, other_user, method, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = (User.objects.get(pk=user.pk).bio, ApiToken.objects.count())

    response = client.generic(
        method, _fill(path, other_user.handle), json.dumps({}), content_type="application/json"
    )

    assert response.status_code == 403, (method, path, response.status_code, response.content[:300])
    assert error(response)["code"] == "csrf_failed"
    assert (User.objects.get(pk=user.pk).bio, ApiToken.objects.count()) == before


@pytest.fixture
def tagged_note(user, private_media):
    from meadow.notes.tests.factories import NoteFactory
    from meadow.store.models import NoteProductTag
    from meadow.store.tests.factories import make_product

    note = NoteFactory(author=UserFactory())
    product = make_product()
    NoteProductTag.objects.create(note=note, product=product)
    return note, product


def _engagement_state(note, product) -> tuple:
    from meadow.engagement.models import EngagementEvent

    product.refresh_from_db()
    return (EngagementEvent.objects.filter(note=note).count(), product.tag_clicks)


def _csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    secret = "b" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    return client, secret


def test_the_three_reader_signals_refuse_a_session_without_csrf(user, tagged_note):
    note, product = tagged_note
    client, secret = _csrf_client(user)
    calls = [
        ("/api/v1/impressions", {"note_ids": [note.pk]}),
        (f"/api/v1/notes/{note.pk}/read", {}),
        (f"/api/v1/products/{product.pk}/tag-clicks", {"note": note.pk}),
    ]
    before = _engagement_state(note, product)
    for url, body in calls:
        response = post(client, url, body)
        assert response.status_code == 403 and error(response)["code"] == "csrf_failed", url
    assert _engagement_state(note, product) == before

    # The same calls with the token (as the web UI sends it) are recorded, for the signed-in reader.
    for url, body in calls:
        response = post(client, url, body, HTTP_X_CSRFTOKEN=secret)
        assert response.status_code in {200, 204}, (url, response.content)
    events, clicks = _engagement_state(note, product)
    assert events == before[0] + 2 and clicks == before[1] + 1
    from meadow.engagement.models import EngagementEvent

    assert EngagementEvent.objects.filter(note=note, user=user).count() == 2


def test_anonymous_readers_still_send_signals_without_a_session(tagged_note):
    note, product = tagged_note
    client = Client(enforce_csrf_checks=True)
    assert post(client, "/api/v1/impressions", {"note_ids": [note.pk]}).status_code == 200
    assert post(client, f"/api/v1/notes/{note.pk}/read").status_code == 200
    assert post(client, f"/api/v1/products/{product.pk}/tag-clicks", {"note": note.pk}).status_code == 204
    assert _engagement_state(note, product) == (2, 1)


def test_a_bearer_token_needs_no_csrf_even_for_the_reader_signals(api_for, user, tagged_note):
    note, product = tagged_note
    client = api_for(user)
    client.handler.enforce_csrf_checks = True
    assert post(client, "/api/v1/impressions", {"note_ids": [note.pk]}).status_code == 200
    assert post(client, f"/api/v1/notes/{note.pk}/read").status_code == 200
    response = post(client, f"/api/v1/products/{product.pk}/tag-clicks", {"note": note.pk})
    assert response.status_code == 204
    assert _engagement_state(note, product) == (2, 1)


def test_an_authorization_header_of_another_scheme_is_never_logged(client, settings, caplog, user):
    """Under DEBUG (the embedded default), Django Ninja logged an unexpected scheme's header whole: a Basic
    password or a token sent as "Token …" ended up in the logs."""
    from meadow.accounts.services import _token_create

    settings.DEBUG = True
    token = _token_create(user=user)
    for header in ("Basic YnJrX3Byb2JlOlNlY3JldC1QYXNzdzByZCE=", f"Token {token}", f"bearer{token}"):
        with caplog.at_level("DEBUG"):
            response = client.get("/api/v1/me", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
    assert "YnJrX3Byb2Jl" not in caplog.text and token not in caplog.text
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

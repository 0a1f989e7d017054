"""What the attacker's second run found in sign-in (issue #15 leftovers): the lockout could be used to lock the
owner out and counted successes; `meadow changepassword` left API tokens alive; the admin's sign-in did not
cancel a scheduled account deletion."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from meadow.accounts.models import ApiToken, User
from meadow.core import ratelimit
from meadow.privacy.models import AccountDeletion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "blue meadow 2026!"
TOKEN_URL = "/api/v1/auth/token"


def post(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data), content_type="application/json")


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


@pytest.fixture
def owner(db):
    return UserFactory(handle="real_owner", email="owner@example.com", phone="+60123458899")


# --- 1. the lockout cannot be turned against the owner, and successes never count ----------------------------------
def test_a_stranger_failing_locks_only_their_own_address_not_the_owner(owner):
    stranger = from_address("203.0.113.9")
    for _ in range(10):
        assert post(stranger, TOKEN_URL, {"login": "real_owner", "password": "guess"}).status_code == 400
    assert post(stranger, TOKEN_URL, {"login": "@Real_Owner", "password": PASSWORD}).status_code == 429

    # the owner, somewhere else, still signs in with the password: through the API, the web and allauth
    assert (
        post(
            from_address("198.51.100.7"), TOKEN_URL, {"login": "real_owner", "password": PASSWORD}
        ).status_code
        == 200
    )
    web = from_address("198.51.100.8")
    assert web.post("/login/", {"login": "real_owner", "password": PASSWORD}).status_code == 302
    allauth = from_address("198.51.100.9")
    assert (
        allauth.post("/accounts/login/", {"login": "owner@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_successful_sign_ins_never_count(owner):
    client = from_address("198.51.100.7")
    for _ in range(15):  # more than the per-account limit of 10
        response = post(client, TOKEN_URL, {"login": "real_owner", "password": PASSWORD})
        assert response.status_code == 200, response.content
    for _ in range(5):
        assert Client().post("/login/", {"login": "real_owner", "password": PASSWORD}).status_code == 302
    # a typo afterwards is just a wrong password, not a lockout
    response = post(client, TOKEN_URL, {"login": "real_owner", "password": "typo"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_credentials"


def test_the_account_wide_ceiling_leaves_the_sms_code_and_a_reset_open(owner, monkeypatch, sms_code):
    monkeypatch.setitem(ratelimit.RATES, "login:account:all", ratelimit.Rate(12, 3600))
    for i in range(12):  # a guesser spread over many addresses, each under its own limit
        response = post(
            from_address(f"203.0.113.{i + 1}"), TOKEN_URL, {"login": "real_owner", "password": "x"}
        )
        assert response.status_code == 400
    owner_client = from_address("198.51.100.7")
    response = post(owner_client, TOKEN_URL, {"login": "real_owner", "password": PASSWORD})
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"

    # the owner signs in with a one-time SMS code meanwhile
    assert post(owner_client, "/api/v1/auth/phone/code", {"phone": "+60123458899"}).status_code == 202
    response = post(owner_client, TOKEN_URL, {"phone": "+60123458899", "code": sms_code("+60123458899")})
    assert response.status_code == 200 and response.json()["handle"] == "real_owner"

    # and after a password reset (any password change) the new password works at once
    owner.refresh_from_db()
    owner.set_password(NEW_PASSWORD)
    owner.save(update_fields=["password"])
    assert post(owner_client, TOKEN_URL, {"login": "real_owner", "password": NEW_PASSWORD}).status_code == 200


def test_a_signed_in_password_reconfirmation_has_its_own_tight_limit(owner):
    client = Client()
    client.force_login(owner)
    for _ in range(10):
        response = post(client, "/api/v1/me/deletion", {"password": "wrong"})
        assert response.status_code == 400, response.content
    assert post(client, "/api/v1/me/deletion", {"password": PASSWORD}).status_code == 429


def test_reconfirming_with_the_right_password_or_none_never_counts(owner):
    client = Client()
    client.force_login(owner)
    for _ in range(12):  # more than the limit of 10
        assert post(client, "/api/v1/me/deletion", {}).status_code == 400  # no password given: not a guess
        assert post(client, "/api/v1/me/deletion", {"password": PASSWORD}).status_code == 202
        assert client.delete("/api/v1/me/deletion").status_code == 204
    assert post(client, "/api/v1/me/deletion", {"password": "wrong"}).status_code == 400  # not 429


# --- 2. every password change revokes the account's tokens, however it happens ---------------------------------------
def _token(user: User) -> str:
    response = post(Client(), TOKEN_URL, {"login": user.handle, "password": PASSWORD, "name": "Pixel"})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def test_meadow_changepassword_revokes_the_accounts_tokens(owner, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    raw, bystander = _token(owner), _token(UserFactory())
    app = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert app.get("/api/v1/me").status_code == 200
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)

    call_command("changepassword", "real_owner", stdout=None)

    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert app.get("/api/v1/me").status_code == 401
    assert ApiToken.objects.get(prefix=raw[:10]).revoked_at is not None  # recorded on first use
    assert Client(HTTP_AUTHORIZATION=f"Bearer {bystander}").get("/api/v1/me").status_code == 200
    # the Settings list shows no token issued under the old password
    browser = Client()
    browser.force_login(owner)
    assert browser.get("/api/v1/me/tokens").json()["items"] == []


def test_a_password_set_in_code_revokes_too_and_new_tokens_work(owner):
    old = Client(HTTP_AUTHORIZATION=f"Bearer {_token(owner)}")
    owner.set_password(NEW_PASSWORD)
    owner.save()
    assert old.get("/api/v1/me").status_code == 401
    response = post(Client(), TOKEN_URL, {"login": "real_owner", "password": NEW_PASSWORD})
    fresh = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert fresh.get("/api/v1/me").json()["handle"] == "real_owner"


# --- 3. every sign-in door cancels a scheduled deletion ----------------------------------------------------------------
def _scheduled(user: User) -> AccountDeletion:
    return AccountDeletion.objects.create(user=user, scheduled_for=timezone.now() + timedelta(days=14))


def _status(user: User) -> str:
    return AccountDeletion.objects.get(user=user).status


def test_signing_in_to_the_admin_cancels_a_scheduled_deletion(db):
    staff = UserFactory(handle="staff_person", is_staff=True)
    _scheduled(staff)
    admin = Client()
    response = admin.post("/admin/login/?next=/admin/", {"username": "staff_person", "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:1500]
    assert admin.get("/api/v1/me").json()["handle"] == "staff_person"
    assert _status(staff) == "cancelled"


def test_a_failed_admin_sign_in_cancels_nothing(db):
    staff = UserFactory(handle="staff_person", is_staff=True)
    _scheduled(staff)
    response = Client().post("/admin/login/", {"username": "staff_person", "password": "wrong"})
    assert response.status_code == 200
    assert _status(staff) == "scheduled"


def test_signing_in_through_allauth_cancels_a_scheduled_deletion(owner):
    _scheduled(owner)
    response = Client().post("/accounts/login/", {"login": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert _status(owner) == "cancelled"


# --- 8. token names carry no bidi controls or other invisible characters ---------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Pixel\u202e9 enohp", "Pixel9 enohp"),  # right-to-left override
        ("\u2067iPad\u2069 \u200eMini\u200f", "iPad Mini"),  # isolates, LRM/RLM
        ("Work\u200b\u200bLaptop\ufeff\u00ad", "WorkLaptop"),  # zero-width space, BOM, soft hyphen
        ("Phone\U000e0041\U000e0042", "Phone"),  # tag characters
        ("My\nphone\t2", "My phone 2"),
        ("\u202e\u200b", ""),
        ("家里的 iPad 👨\u200d👩\u200d👧", "家里的 iPad 👨\u200d👩\u200d👧"),  # emoji joiners stay
    ],
)
def test_token_names_are_stripped_of_invisible_characters(owner, given, stored):
    response = post(Client(), TOKEN_URL, {"login": "real_owner", "password": PASSWORD, "name": given})
    assert response.status_code == 200, response.content
    assert ApiToken.objects.get(prefix=response.json()["token"][:10]).name == stored
    listed = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}").get("/api/v1/me/tokens").json()
    assert [item["name"] for item in listed["items"]] == [stored]

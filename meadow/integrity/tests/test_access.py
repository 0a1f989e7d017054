"""Sign-up and sign-in record the network (a /24 or /64 prefix, never the address) and a device fingerprint
(User-Agent + the first-party device cookie, which a new client is given)."""

from __future__ import annotations

import pytest
from django.test import Client

from meadow.accounts.models import AccessRecord
from meadow.accounts.services import DEVICE_COOKIE, network_prefix
from meadow.integrity.tests.conftest import Actor
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]


def test_network_prefix_keeps_no_address():
    assert network_prefix("203.0.113.77") == "203.0.113.0/24"
    assert network_prefix("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_prefix("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert network_prefix("not an address") == "" and network_prefix(None) == ""


def test_signup_and_token_record_network_and_device():
    actor = Actor("203.0.113.77", "Mozilla/5.0 test").signup()
    records = list(AccessRecord.objects.filter(user=actor.user).order_by("id"))
    assert [r.kind for r in records] == ["signup", "login"]
    assert all(r.network == "203.0.113.0/24" for r in records)
    # a first visit presents no device id: its User-Agent on its network stands in (marked "~"); it is given
    # the cookie, which came back with the token request
    assert records[0].device.startswith("~") and records[1].device and not records[1].device.startswith("~")
    assert "203.0.113.77" not in str(AccessRecord.objects.values_list())
    assert actor.client.cookies[DEVICE_COOKIE]["httponly"]
    other = Actor("203.0.113.78", "Mozilla/5.0 test").signup()  # same network and browser, another device
    first, second = AccessRecord.objects.filter(user=other.user).order_by("id")
    assert first.device == records[0].device  # no id presented: the same User-Agent on the same /24
    assert second.device != records[1].device  # with their cookies: two devices


def test_a_session_sign_in_is_recorded():
    user = UserFactory()
    client = Client(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Mozilla/5.0 web")
    r = client.post("/login/", {"login": user.handle, "password": "correct horse battery"})
    assert r.status_code == 302
    record = AccessRecord.objects.get(user=user)
    assert record.kind == "signup" and record.network == "10.1.2.0/24"
    assert record.device.startswith("~")  # no device id: the User-Agent on its network (a weak fingerprint)


def test_an_api_client_presents_its_device_in_a_header():
    """Apps keep no cookie jar: the X-Meadow-Device header is their device, so one phone signing up several
    accounts shows as one device, and another phone of the same model on the same network as another."""

    def signup(ip: str, device: str, n: int) -> AccessRecord:
        client = Client(
            REMOTE_ADDR=ip, HTTP_USER_AGENT="MeadowApp/2.1 (Android 14)", HTTP_X_MEADOW_DEVICE=device
        )
        r = client.post(
            "/api/v1/auth/signup",
            {"handle": f"app{n}", "email": f"app{n}@example.com", "password": "correct horse battery",
             "agree_terms": True},
            content_type="application/json",
        )  # fmt: skip
        assert r.status_code == 201, r.content
        return AccessRecord.objects.get(user__handle=f"app{n}", kind="signup")

    one = signup("198.51.100.7", "install-4f1c", 1)
    two = signup("198.51.100.9", "install-4f1c", 2)
    three = signup("198.51.100.9", "install-77aa", 3)
    assert one.device == two.device and not one.device.startswith("~")
    assert three.device != one.device
    odd = signup("198.51.100.9", "<script>\x00" + "z" * 200, 4)  # cleaned and cut, still a device
    assert odd.device and not odd.device.startswith("~")


def test_deleting_the_account_erases_its_networks_devices_and_follow_log():
    from meadow.accounts.models import FollowEvent
    from meadow.privacy.erasure import erase_account, erase_follows

    actor = Actor("203.0.113.77", "Mozilla/5.0 test").signup()
    star = UserFactory()
    actor.follow(star)
    assert FollowEvent.objects.filter(follower=actor.user).exists()
    erase_follows(actor.user)
    erase_account(actor.user)
    assert not AccessRecord.objects.filter(user=actor.user).exists()
    assert not FollowEvent.objects.filter(follower=actor.user).exists()
    assert erase_follows(actor.user) == 0  # idempotent

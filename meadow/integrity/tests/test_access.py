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
    assert records[0].device and records[0].device == records[1].device  # the cookie came back with the token
    assert "203.0.113.77" not in str(AccessRecord.objects.values_list())
    assert actor.client.cookies[DEVICE_COOKIE]["httponly"]
    other = Actor("203.0.113.78", "Mozilla/5.0 test").signup()  # same network and browser, another device
    assert AccessRecord.objects.filter(user=other.user).first().device != records[0].device


def test_a_session_sign_in_is_recorded():
    user = UserFactory()
    client = Client(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Mozilla/5.0 web")
    r = client.post("/login/", {"login": user.handle, "password": "correct horse battery"})
    assert r.status_code == 302
    record = AccessRecord.objects.get(user=user)
    assert record.kind == "signup" and record.network == "10.1.2.0/24"
    assert record.device == ""  # no device cookie: no device (a User-Agent alone identifies nothing)

"""Which address the rate limits key on: a client cannot pick it with X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from meadow.core.ratelimit import client_ip

XFF = "HTTP_X_FORWARDED_FOR"


def req(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta[XFF] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_a_configured_header_the_socket_address_counts():
    assert client_ip(req("198.51.100.9", "1.2.3.4")) == "198.51.100.9"


@override_settings(MEADOW_TRUSTED_PROXY_HEADER=XFF, MEADOW_TRUSTED_PROXIES=["10.0.0.0/8", "::1"])
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.9", "1.2.3.4", "198.51.100.9"),  # not our proxy: the header is the client's words
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),  # our proxy saw 203.0.113.7
        ("10.0.0.5", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own XFF is left of it
        ("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two of our proxies
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),  # garbage: trust nothing
        ("10.0.0.5", "10.0.0.7", "10.0.0.5"),  # only proxies in the chain
        ("::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_header_counts_only_from_a_trusted_proxy_and_from_the_right(remote, forwarded, expected):
    assert client_ip(req(remote, forwarded)) == expected


def _codes_until_limited(client: Client, spoof) -> int:
    for attempt in range(1, 30):
        response = client.post(
            "/api/v1/auth/phone/code",
            {"phone": f"+6012{attempt:07d}"},
            content_type="application/json",
            **spoof(attempt),
        )
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limited"
            return attempt
        assert response.status_code == 202, response.content
    return 0


@pytest.mark.django_db
@override_settings(MEADOW_TRUSTED_PROXY_HEADER=XFF, MEADOW_TRUSTED_PROXIES=["10.0.0.1"])
def test_a_spoofed_header_from_a_direct_client_cannot_escape_the_rate_limit():
    """20 code requests an hour per address: a client talking to Meadow directly (not through the proxy) that
    sends a new X-Forwarded-For each time is still one address."""
    client = Client(REMOTE_ADDR="198.51.100.9")
    assert _codes_until_limited(client, lambda n: {XFF: f"192.0.2.{n}"}) == 21


@pytest.mark.django_db
@override_settings(MEADOW_TRUSTED_PROXY_HEADER=XFF, MEADOW_TRUSTED_PROXIES=["10.0.0.1"])
def test_behind_the_proxy_a_forged_first_entry_does_not_change_the_key():
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert _codes_until_limited(client, lambda n: {XFF: f"192.0.2.{n}, 203.0.113.7"}) == 21

"""Open redirects: every ``next``, ``return_url`` and Referer Meadow follows stays on the site, whatever a browser
would make of it (tabs and newlines dropped, ``\\`` read as ``/``, encoded slashes, other schemes)."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client

from meadow.core.redirects import local_path, safe_redirect_target
from meadow.orders.models import Payment, SandboxIntent
from meadow.orders.tests.factories import ADDRESS, make_sku
from tests.factories import UserFactory

PASSWORD = "correct horse battery"

PAYLOADS = [
    "//evil.example",
    "//evil.example/phish",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example/phish",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\x08//evil.example",
    "\x00",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "/\u00a0/evil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example/",
    "HTTPS://evil.example",
    "ftp://evil.example",
    "%2f%2fevil.example",
    "/%2f%2fevil.example",
    "/%2F/evil.example",
    "/%5cevil.example",
    "%0d%0a//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%6aavascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example@testserver",
    "http://testserver@evil.example/",
    "/.//evil.example",
    "/./evil.example//x",
    "/a/..//evil.example",
    "/%2e//evil.example",
]
SAFE = ["/orders/12/", "/search/?q=%E6%A0%87%E7%AD%BE", "/notes/5/#comments", "/"]


def _off_site(location: str) -> bool:
    """Would a browser leave the site (or run script) following ``location``?"""
    cleaned = "".join(c for c in location if c not in "\t\r\n").strip().replace("\\", "/")
    parts = urlsplit(cleaned)
    return (bool(parts.scheme or parts.netloc) and parts.netloc != "testserver") or cleaned.startswith("//")


@pytest.mark.parametrize("url", PAYLOADS)
def test_the_normaliser_refuses_every_known_payload(url):
    assert safe_redirect_target(url, allowed_hosts={"testserver"}) is None
    assert local_path(url) is None


@pytest.mark.parametrize("url", SAFE)
def test_the_normaliser_keeps_paths_of_this_site(url):
    assert safe_redirect_target(url, allowed_hosts={"testserver"}) == url
    assert local_path(url) == url
    assert safe_redirect_target("http://testserver/orders/", allowed_hosts={"testserver"}) is not None
    assert local_path("http://testserver/orders/") is None  # a return_url is a path, not a full URL


@pytest.fixture
def pending_order(db, api_for):
    buyer = UserFactory()
    api = api_for(buyer)
    sku = make_sku(price="25.00")
    r = api.post(
        "/api/v1/orders",
        json.dumps({"items": [{"sku": sku.pk, "quantity": 1}], "address": ADDRESS}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    return api, r.json()["orders"][0]["id"]


@pytest.mark.parametrize("url", PAYLOADS)
def test_a_payment_with_an_off_site_return_url_is_refused_and_opens_nothing(pending_order, url):
    api, order_id = pending_order
    r = api.post(
        "/api/v1/payments",
        json.dumps({"orders": [order_id], "return_url": url}),
        content_type="application/json",
    )
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["message"]
    if "\x00" in url:  # JSON parsers refuse NUL before the service sees it
        assert error["code"] in {"bad_json", "bad_return_url"}
    else:
        assert (error["code"], error["field"]) == ("bad_return_url", "return_url")
    assert not Payment.objects.exists() and not SandboxIntent.objects.exists()


def test_a_payment_with_a_path_return_url_goes_back_there(pending_order):
    api, order_id = pending_order
    r = api.post(
        "/api/v1/payments",
        json.dumps({"orders": [order_id], "return_url": f"/orders/{order_id}/"}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    hosted = Client()
    done = hosted.post(r.json()["redirect_url"], {"outcome": "fail"})
    assert done.status_code == 302 and done["Location"] == f"/orders/{order_id}/"
    page = hosted.get(r.json()["redirect_url"])
    assert f'href="/orders/{order_id}/"'.encode() in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/\t/example.org/phish", "//evil.example", "javascript:alert(1)"])
def test_the_hosted_page_never_links_or_sends_off_site(url):
    """An intent stored with a bad return_url (before this check, or by a careless caller) is still safe."""
    SandboxIntent.objects.create(
        intent_id="pi_sbx_old", reference="old", amount=Decimal("25.00"), currency="MYR", return_url=url
    )
    client = Client()
    r = client.post("/pay/sandbox/pi_sbx_old/", {"outcome": "fail"})
    assert r.status_code == 302 and r["Location"] == "/"
    page = client.get("/pay/sandbox/pi_sbx_old/")
    assert page.status_code == 200 and b'data-testid="sandbox-done"' in page.content
    assert b"evil.example" not in page.content and b"example.org" not in page.content
    assert b"javascript:" not in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAYLOADS)
def test_login_next_stays_on_site(url):
    UserFactory(handle="next_user")
    client = Client()
    r = client.post("/login/", {"login": "next_user", "password": PASSWORD, "next": url})
    assert r.status_code == 302 and r["Location"] == "/"
    page = Client().get("/login/", {"next": url})
    assert b'<input type="hidden" name="next" value="">' in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAYLOADS)
def test_language_switch_next_stays_on_site(url):
    r = Client().post("/i18n/setlang/", {"language": "ms", "next": url})
    assert r.status_code == 302 and not _off_site(r["Location"]), r["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAYLOADS)
def test_cart_and_buy_now_ignore_an_off_site_referer_or_next(url):
    buyer = UserFactory()
    client = Client()
    client.force_login(buyer)
    r = client.post("/cart/add/", {"sku": "", "next": url}, headers={"Referer": url})
    assert r.status_code == 302 and not _off_site(r["Location"]), r["Location"]
    r = client.post("/buy/", {"sku": ""}, headers={"Referer": url})
    assert r.status_code in (302, 404)
    if r.status_code == 302:
        assert not _off_site(r["Location"]), r["Location"]

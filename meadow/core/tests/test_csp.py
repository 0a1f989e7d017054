"""The Content-Security-Policy: every HTML page carries it (anonymous and signed in), scripts run only from our
origin or with the response's nonce, the pages hold no inline script or handler the policy would block, the
route-specific additions (WebSocket origin, OAuth form-action) and the violation-report endpoint."""

from __future__ import annotations

import json
import logging
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from meadow.engagement.models import Board
from meadow.notes.tests.factories import NoteFactory
from meadow.orders.tests.factories import make_sku
from meadow.orders.tests.test_pages import checkout_via_pages
from meadow.store.tests.factories import make_product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def policy_of(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.wsgi_request.path} ({response.status_code}) has no Content-Security-Policy"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class InlineCode(HTMLParser):
    """What the policy would block in a page: inline scripts without the nonce, event-handler attributes
    (onclick=, hx-on…), javascript: URLs, and <style> elements without the nonce."""

    def __init__(self, nonce: str | None) -> None:
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []
        self._script_src: bool | None = None

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            executable = (attrs_d.get("type") or "text/javascript").lower() in {
                "text/javascript",
                "module",
                "application/javascript",
            }
            if (
                executable
                and not attrs_d.get("src")
                and (not self.nonce or attrs_d.get("nonce") != self.nonce)
            ):
                self.problems.append("inline <script> without the response's nonce")
        if tag == "style" and (not self.nonce or attrs_d.get("nonce") != self.nonce):
            self.problems.append("<style> without the response's nonce")


def assert_strict(response) -> None:
    policy = policy_of(response)
    script_src = policy["script-src"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, script_src
    assert "'self'" in script_src
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"][0] == "'self'"
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy.get("style-src", [])
    assert policy["report-uri"] == ["/csp-report/"] and policy["report-to"] == ["csp"]
    assert response["Reporting-Endpoints"] == 'csp="http://testserver/csp-report/"'
    nonces = [v[len("'nonce-") : -1] for v in script_src if v.startswith("'nonce-")]
    nonce = nonces[0] if nonces else None
    if "text/html" in response.get("Content-Type", ""):
        checker = InlineCode(nonce)
        checker.feed(response.content.decode())
        assert not checker.problems, f"{response.wsgi_request.path}: {checker.problems}"


@pytest.fixture
def world(db):
    author = UserFactory()
    note = NoteFactory(author=author, body="Nasi lemak #food")
    product = make_product(image=True)
    board = Board.objects.create(owner=author, name="Trips")
    return {"author": author, "note": note, "product": product, "board": board}


def pages(world) -> list[str]:
    author, note = world["author"], world["note"]
    return [
        "/",
        "/?tab=following",
        "/search/?q=nasi",
        "/store/",
        "/terms/",
        "/privacy/",
        reverse("web:note", args=[note.pk]),
        reverse("web:profile", args=[author.handle]),
        reverse("web:followers", args=[author.handle]),
        reverse("web:profile_saved", args=[author.handle]),
        "/topics/food/",  # 404 until a note uses it: the not-found page carries the policy too
        reverse("web:product", args=[world["product"].pk]),
        reverse("web:shop", args=[world["product"].shop_id]),
        reverse("web:board", args=[world["board"].pk]),
        "/login/",
        "/signup/",
        "/accounts/login/",
        "/accounts/password/reset/",
        "/api/v1/docs",
        "/admin/login/",
        "/no-such-page/",
    ]


SIGNED_IN_PAGES = [
    "/me/",
    "/me/edit/",
    "/me/requests/",
    "/me/status/",
    "/me/creator/",
    "/welcome/",
    "/settings/",
    "/publish/",
    "/notifications/",
    "/messages/",
    "/cart/",
    "/orders/",
    "/addresses/",
    "/business/",
    "/accounts/email/",
]
SELLER_PAGES = ["/seller/", "/seller/orders/", "/seller/refunds/", "/seller/sales/", "/seller/products/new/"]


def test_every_page_carries_the_strict_policy_for_anonymous_readers(world):
    client = Client()
    for path in pages(world):
        response = client.get(path, follow=True)
        assert response.status_code in {200, 404}, (path, response.status_code)
        assert_strict(response)


def test_every_page_carries_the_strict_policy_signed_in(world):
    client = Client()
    client.force_login(world["author"])
    for path in pages(world) + SIGNED_IN_PAGES:
        response = client.get(path, follow=True)
        assert response.status_code in {200, 404}, (path, response.status_code)
        assert_strict(response)
    seller = Client()
    seller.force_login(world["product"].shop.owner)
    for path in [*SELLER_PAGES, reverse("web:seller_product", args=[world["product"].pk])]:
        response = seller.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_strict(response)
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    for path in ["/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{world['author'].pk}/change/"]:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_the_nonce_is_fresh_per_response_and_matches_the_pages_style_block(world):
    client = Client()
    first, second = client.get("/search/?q=nasi"), client.get("/search/?q=nasi")
    nonce_1 = next(v for v in policy_of(first)["style-src"] if v.startswith("'nonce-"))[7:-1]
    nonce_2 = next(v for v in policy_of(second)["style-src"] if v.startswith("'nonce-"))[7:-1]
    assert nonce_1 != nonce_2 and len(nonce_1) >= 22
    assert f'<style nonce="{nonce_1}">'.encode() in first.content


def test_the_sandbox_payment_page_and_its_post_redirect_stay_on_our_origin(user):
    client = Client()
    client.force_login(user)
    pay_url, _key = checkout_via_pages(client, make_sku())
    page = Client().get(pay_url)
    assert page.status_code == 200
    assert_strict(page)
    assert policy_of(page)["form-action"] == ["'self'"]
    r = client.post(pay_url, {"outcome": "pay"})
    assert r.status_code == 302 and r["Location"].startswith("/")  # form-action 'self' allows the redirect


def test_the_swagger_ui_is_served_from_our_origin():
    response = Client().get("/api/v1/docs")
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert_strict(response)
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_the_websocket_origin_is_named_in_connect_src():
    policy = policy_of(Client().get("/"))
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    secure = policy_of(Client().get("/", secure=True))
    assert "wss://testserver" in secure["connect-src"] and "ws://testserver" not in secure["connect-src"]


def test_oauth_provider_login_page_allows_only_its_provider_in_form_action(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": [{"client_id": "id", "secret": "secret"}]}}
    response = Client().get("/accounts/google/login/")
    assert response.status_code == 200
    assert policy_of(response)["form-action"] == ["'self'", "https://accounts.google.com"]
    assert policy_of(Client().get("/accounts/login/"))["form-action"] == ["'self'"]


# --- the report endpoint ------------------------------------------------------------------------------------
REPORT = {
    "csp-report": {
        "document-uri": "http://testserver/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "source-file": "http://testserver/",
        "line-number": 12,
        "original-policy": "default-src 'self'",
    }
}


def test_a_violation_report_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="meadow.csp"):
        r = Client().post("/csp-report/", json.dumps(REPORT), content_type="application/csp-report")
    assert r.status_code == 204
    [record] = [rec for rec in caplog.records if rec.name == "meadow.csp"]
    assert "script-src-elem" in record.getMessage() and '"line-number": "12"' in record.getMessage()
    assert "original-policy" not in record.getMessage()


def test_reporting_api_batches_are_logged(caplog):
    batch = [
        {
            "type": "csp-violation",
            "body": {"documentURL": "http://testserver/a", "effectiveDirective": "img-src"},
        },
        {
            "type": "csp-violation",
            "body": {"documentURL": "http://testserver/b", "effectiveDirective": "style-src"},
        },
    ]
    with caplog.at_level(logging.WARNING, logger="meadow.csp"):
        r = Client().post("/csp-report/", json.dumps(batch), content_type="application/reports+json")
    assert r.status_code == 204
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "meadow.csp"]
    assert len(messages) == 2 and "img-src" in messages[0] and "style-src" in messages[1]


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps({"hello": "world"}), json.dumps([{"type": "deprecation", "body": {}}]), "[]", ""],
)
def test_a_body_that_is_not_a_report_is_refused_in_the_error_shape(body, caplog):
    with caplog.at_level(logging.WARNING, logger="meadow.csp"):
        r = Client(HTTP_ACCEPT_LANGUAGE="ms").post(
            "/csp-report/", body, content_type="application/csp-report"
        )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_report" and error["field"] is None
    assert error["message"] == "Ini bukan laporan Content-Security-Policy."
    assert not [rec for rec in caplog.records if rec.name == "meadow.csp"]


def test_an_oversized_report_is_refused(caplog):
    big = {"csp-report": {"blocked-uri": "x" * 20_000}}
    with caplog.at_level(logging.WARNING, logger="meadow.csp"):
        r = Client().post("/csp-report/", json.dumps(big), content_type="application/csp-report")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert not [rec for rec in caplog.records if rec.name == "meadow.csp"]


def test_the_report_endpoint_only_takes_posts():
    assert Client().get("/csp-report/").status_code == 405


def test_reports_are_rate_limited_per_address(caplog):
    client = Client()
    body = json.dumps(REPORT)
    for _ in range(60):
        assert client.post("/csp-report/", body, content_type="application/csp-report").status_code == 204
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="meadow.csp"):
        r = client.post("/csp-report/", body, content_type="application/csp-report")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r["Retry-After"]) > 0
    assert not [rec for rec in caplog.records if rec.name == "meadow.csp"]  # nothing logged past the limit
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/csp-report/", body, content_type="application/csp-report").status_code == 204


def _policy_in(env: dict[str, str]) -> dict:
    import os
    import subprocess
    import sys
    import tempfile

    code = (
        "import json; from meadow import settings as s; "
        "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES'], default=repr))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DJANGO_"))}
    base["MEADOW_DATA_DIR"] = tempfile.mkdtemp(prefix="meadow-csp-")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


KEY = "k3Jx9-Qw2Lr8Vt5Zp0Nb7Hc4Md1Fs6Ga3Ye9Ui2Oo5Pa8Sd1Fg4Hj7Kl0Zx3Cv6Bn9Mq"


def test_the_policy_is_the_same_in_every_profile_and_operators_extend_it_by_environment():
    development = _policy_in({"MEADOW_ENV": "development"})
    production = _policy_in(
        {"MEADOW_ENV": "production", "SECRET_KEY": KEY, "ALLOWED_HOSTS": "meadow.example"}
    )
    test = _policy_in({"MEADOW_ENV": "test"})
    assert development == production == test
    assert development["script-src"] == ["'self'", "csp.constants.NONCE"]
    cdn = _policy_in(
        {
            "MEADOW_ENV": "production",
            "SECRET_KEY": KEY,
            "ALLOWED_HOSTS": "meadow.example",
            "MEADOW_CSP_IMG_SRC": "https://media.example https://img.example",
        }
    )
    assert cdn["img-src"] == ["'self'", "data:", "blob:", "https://media.example", "https://img.example"]
    assert cdn["script-src"] == development["script-src"]

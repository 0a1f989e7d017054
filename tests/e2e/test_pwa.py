"""The installable web app in a real browser (issue #23), with Lighthouse's installability checks done by hand:
the manifest is linked and valid (name, short_name, start_url in scope, display standalone, theme colour, icons
of 192 and 512 px — "any" and "maskable" — that load as PNGs of the sizes they claim), a service worker controls
the page, and the start URL answers 200 with the network gone. Offline, a navigation shows the offline page in
the language the person reads Meadow in."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

OFFLINE_TITLE = {"en": "You are offline", "zh-hans": "你已离线", "ms": "Anda di luar talian"}
MANIFEST_NAME = {
    "en": "Meadow — notes, discovery and shops",
    "zh-hans": "Meadow — 笔记、发现与好店",
    "ms": "Meadow — nota, penemuan dan kedai",
}


@pytest.fixture
def context(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-US", service_workers="allow"
    )
    yield context
    context.close()


def _controlled(page, live_server) -> None:
    """Open the home page until the service worker controls it (the first visit installs it)."""
    page.goto(f"{live_server.url}/")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def installability_problems(page, live_server) -> list[str]:
    """What Lighthouse's "installable" audit would flag, checked on the open page."""
    problems: list[str] = []
    href = page.locator("link[rel=manifest]").get_attribute("href")
    if not href:
        return ["no <link rel=manifest>"]
    response = page.request.get(f"{live_server.url}{href}")
    if response.status != 200 or "manifest+json" not in response.headers.get("content-type", ""):
        problems.append(f"manifest answered {response.status} {response.headers.get('content-type')}")
    manifest = json.loads(response.body())
    for field in ("name", "short_name", "start_url", "display", "theme_color", "background_color", "icons"):
        if not manifest.get(field):
            problems.append(f"manifest has no {field}")
    if manifest.get("display") not in {"standalone", "fullscreen", "minimal-ui"}:
        problems.append(f"display is {manifest.get('display')}")
    if not manifest.get("start_url", "").startswith(manifest.get("scope", "/")):
        problems.append("start_url is outside the scope")
    found: set[tuple[int, str]] = set()
    for icon in manifest.get("icons", []):
        got = page.request.get(f"{live_server.url}{icon['src']}")
        if got.status != 200 or got.headers.get("content-type") != icon["type"]:
            problems.append(f"icon {icon['src']}: {got.status} {got.headers.get('content-type')}")
            continue
        width, height = Image.open(io.BytesIO(got.body())).size
        if f"{width}x{height}" != icon["sizes"]:
            problems.append(f"icon {icon['src']} is {width}x{height}, claims {icon['sizes']}")
        found.add((width, icon.get("purpose", "any")))
    for need in ((192, "any"), (512, "any"), (192, "maskable"), (512, "maskable")):
        if need not in found:
            problems.append(f"no {need[0]} px {need[1]} icon")
    if not page.locator('meta[name="theme-color"]').count():
        problems.append("no theme-color meta")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        problems.append("no service worker controls the page")
    return problems


def test_meadow_is_installable_and_its_start_url_works_offline(context, live_server):
    page = context.new_page()
    _controlled(page, live_server)

    assert installability_problems(page, live_server) == []
    touch = page.locator('link[rel="apple-touch-icon"]').get_attribute("href")
    assert page.request.get(f"{live_server.url}{touch}").status == 200
    scope = page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.scope)")
    assert scope == f"{live_server.url}/"

    manifest = json.loads(page.request.get(f"{live_server.url}/manifest.webmanifest?lang=en").body())
    context.set_offline(True)
    response = page.goto(f"{live_server.url}{manifest['start_url']}")
    assert response is not None and response.status == 200
    assert response.from_service_worker
    expect(page.get_by_test_id("offline-page")).to_be_visible()
    expect(page.get_by_role("heading", name=OFFLINE_TITLE["en"])).to_be_visible()
    # the shell's stylesheet came from the cache: the page is styled offline
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.offline-page')).textAlign") == "center"
    )


@pytest.mark.parametrize("language", ["zh-hans", "ms"])
def test_offline_page_is_in_the_readers_language(context, live_server, language):
    page = context.new_page()
    _controlled(page, live_server)
    page.locator("#lang-top").select_option(language)  # the language menu (submits itself)
    page.wait_for_function(f"() => document.documentElement.lang === '{language}'")
    page.goto(f"{live_server.url}/search/")  # a page seen in that language: the worker remembers it
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href.endswith(f"lang={language}")
    assert json.loads(page.request.get(f"{live_server.url}{href}").body())["name"] == MANIFEST_NAME[language]

    context.set_offline(True)
    page.goto(f"{live_server.url}/store/")
    expect(page.get_by_role("heading", name=OFFLINE_TITLE[language])).to_be_visible()
    assert page.evaluate("() => document.documentElement.lang") == language

    context.set_offline(False)
    page.get_by_test_id("offline-retry").click()  # "Try again" reloads the page asked for
    expect(page.get_by_test_id("offline-page")).to_have_count(0)
    assert page.url == f"{live_server.url}/store/"


def test_the_worker_never_caches_pages_or_the_api(context, live_server):
    page = context.new_page()
    _controlled(page, live_server)
    page.request.get(f"{live_server.url}/api/v1/push/key")
    page.goto(f"{live_server.url}/search/")
    page.evaluate("() => fetch('/api/v1/feed/discover').then((r) => r.status)")
    cached = page.evaluate(
        """async () => {
          const names = await caches.keys();
          const urls = [];
          for (const name of names) {
            for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
          }
          return {names, urls};
        }"""
    )
    assert len(cached["names"]) == 1 and cached["names"][0].startswith("meadow-shell-")
    assert not [u for u in cached["urls"] if u.startswith("/api/")]
    pages = {u for u in cached["urls"] if not u.startswith("/static/")}
    assert pages == {"/offline/", "/__meadow/language"}, pages


def test_the_worker_shows_a_push_and_opens_its_url_when_clicked(context, live_server):
    """A push as the browser hands it to the worker (a PushEvent with the decrypted payload): the notification
    shows the payload's title and body, and clicking it closes it and opens the payload's page."""
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    _controlled(page, live_server)
    [worker] = context.service_workers
    payload = {
        "title": "Lily",
        "body": "Lily menghantar mesej kepada anda",
        "url": "/search/?q=durian",
        "tag": "m-1",
    }
    shown = worker.evaluate(
        """async (payload) => {
          self.dispatchEvent(new PushEvent("push", { data: JSON.stringify(payload) }));
          for (let i = 0; i < 50; i++) {
            const found = await self.registration.getNotifications({ tag: payload.tag });
            if (found.length) return found.map((n) => ({ title: n.title, body: n.body, url: n.data.url }));
            await new Promise((r) => setTimeout(r, 100));
          }
          return [];
        }""",
        payload,
    )
    assert shown == [{"title": "Lily", "body": payload["body"], "url": payload["url"]}]

    # A synthetic click grants no user activation, so the browser would refuse to open a real window: the
    # worker's call is recorded instead (the URL it asks for is what this test checks).
    opened = worker.evaluate(
        """async (tag) => {
          const asked = [];
          self.clients.openWindow = (url) => { asked.push(url); return Promise.resolve(null); };
          const [notification] = await self.registration.getNotifications({ tag });
          const click = new NotificationEvent("notificationclick", { notification });
          self.dispatchEvent(click);
          for (let i = 0; i < 50 && !asked.length; i++) await new Promise((r) => setTimeout(r, 50));
          const left = await self.registration.getNotifications({ tag });
          return { asked, left: left.length };
        }""",
        payload["tag"],
    )
    assert opened == {"asked": [f"{live_server.url}/search/?q=durian"], "left": 0}


def test_push_settings_page_saves_kinds_and_explains_a_refused_permission(context, live_server):
    from meadow.notifications.models import PushPreferences, PushSubscription
    from tests.e2e.conftest import login
    from tests.factories import UserFactory

    person = UserFactory(handle="pushy")
    page = context.new_page()
    login(page, live_server, "pushy")
    page.goto(f"{live_server.url}/settings/")
    page.get_by_test_id("push-settings-link").click()
    page.get_by_test_id("push-kind-messages").check()
    page.get_by_test_id("push-kind-orders").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("push-kind-messages")).to_be_checked()
    stored = PushPreferences.objects.get(user=person)
    assert (stored.messages, stored.replies, stored.follows, stored.orders) == (True, False, False, True)

    context.clear_permissions()  # the person says no to the browser's question
    page.get_by_test_id("push-enable").click()
    expect(page.get_by_test_id("push-status")).to_contain_text("blocks notifications from Meadow")
    assert PushSubscription.objects.count() == 0

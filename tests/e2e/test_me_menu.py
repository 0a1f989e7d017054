"""Issue #23, finding 2: a phone has no left rail, so the Me page's menu reaches every page the desktop rail does —
My orders, Account status, Settings, Log out, the creator centre, and the seller desk or business page — by clicks
from the Me tab, at 390 px and at 1440 px; "My orders" is linked in the desktop rail too."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _open_me_menu(page, live_server):
    page.goto(f"{live_server.url}/")
    nav = page.locator(".tabbar") if page.viewport_name == "phone" else page.locator(".rail")
    nav.get_by_role("link", name="Me", exact=True).click()
    expect(page).to_have_url(re.compile(r"/@[\w.]+/$"))
    menu = page.get_by_test_id("me-menu")
    menu.locator("summary").click()
    expect(menu.locator(".menu-panel")).to_be_visible()
    return menu


@pytest.mark.parametrize(
    ("item", "url"),
    [
        ("My orders", r"/orders/$"),
        ("Account status", r"/me/status/$"),
        ("Settings", r"/settings/$"),
        ("Creator centre", r"/me/creator/$"),
        ("Business account", r"/business/$"),
    ],
)
def test_every_rail_page_is_reachable_from_the_me_menu(page, live_server, shot, item, url):
    user = UserFactory(handle=f"me_{page.viewport_name}")
    login(page, live_server, user.handle)
    menu = _open_me_menu(page, live_server)
    if item == "My orders":
        shot("me-menu-open")
    link = menu.get_by_role("link", name=item, exact=True)
    expect(link).to_be_visible()
    # what a person sees: the link itself is at its centre (not clipped by the profile card, not under the tab bar)
    assert link.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return e.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"
    )
    link.click()
    expect(page).to_have_url(re.compile(url))
    expect(page.locator("main")).not_to_contain_text("Page not found")


def test_the_seller_reaches_the_seller_desk_and_everyone_logs_out(page, live_server):
    seller = UserFactory(handle=f"seller_{page.viewport_name}", is_verified_enterprise=True)
    login(page, live_server, seller.handle)
    menu = _open_me_menu(page, live_server)
    menu.get_by_role("link", name="Your shop", exact=True).click()
    expect(page).to_have_url(re.compile(r"/seller/$"))
    menu = _open_me_menu(page, live_server)
    menu.get_by_role("link", name="Orders to ship").click()
    expect(page).to_have_url(re.compile(r"/seller/orders/$"))
    menu = _open_me_menu(page, live_server)
    menu.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    page.goto(f"{live_server.url}/me/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_my_orders_is_in_the_desktop_rail(browser, live_server):
    from tests.e2e.conftest import DESKTOP

    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        user = UserFactory(handle="rail_orders")
        login(page, live_server, user.handle)
        page.locator(".rail").get_by_role("link", name="My orders").click()
        expect(page).to_have_url(re.compile(r"/orders/$"))
    finally:
        context.close()

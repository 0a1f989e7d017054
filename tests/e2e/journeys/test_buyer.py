"""Journey: a buyer searches for a product, adds it to the cart, checks out with a Malaysian address (postcode and
state), pays on the sandbox provider's page, finds the order under My orders and a notification in their
language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from meadow.orders.models import Order
from meadow.orders.tests.factories import make_shop, make_sku
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer(journey):
    page, t = journey.page, journey.t
    seller = UserFactory(handle="kedai.batik", display_name="Kedai Batik Mei", is_verified_enterprise=True)
    make_sku(
        shop=make_shop(owner=seller, name="Kedai Batik Mei"),
        price="49.90",
        stock=5,
        name="Indigo / M",
        title="Hand-drawn batik tote",
    )
    buyer = UserFactory(
        handle=f"siti_{journey.language.replace('-', '')}_{journey.width}", display_name="Siti"
    )
    journey.login(buyer.handle)

    # search (the top bar's box on a phone, the rail's Search page on a desktop), the Products tab
    if journey.phone:
        box = page.locator(".topbar .top-search input[name=q]")
    else:
        journey.go("Search")
        box = page.locator(".search-box input[name=q]")
    expect(box).to_be_visible()
    box.fill("batik tote")
    box.press("Enter", no_wait_after=True)
    # (the results are what matters, not the page's load event: on a loaded machine a phone's search page has
    # been seen to answer and render but not fire "load" within 30 s)
    page.wait_for_url(re.compile(r"/search/\?"), wait_until="commit", timeout=60_000)
    page.locator(".search-tabs").get_by_role("link", name=t("Products"), exact=True).click()
    result = page.locator("main").get_by_role("link", name=re.compile("Hand-drawn batik tote"))
    expect(result).to_be_visible()
    journey.shot("1-search-products")
    result.click()

    # the product page: into the cart
    box = page.get_by_test_id("buy-box")
    expect(box.get_by_test_id("sku-option")).to_contain_text("Indigo / M")
    box.get_by_test_id("buy-quantity").fill("2")
    box.get_by_test_id("add-to-cart").click()
    cart = page.locator("[data-testid=cart-link]:visible").first
    expect(cart.get_by_test_id("cart-count")).to_have_text("1")  # the badge counts lines, not units
    journey.shot("2-product")
    cart.click()
    expect(page.locator("h1")).to_have_text(t("Cart"))
    expect(page.get_by_test_id("cart-item")).to_contain_text("Hand-drawn batik tote")
    expect(page.get_by_test_id("cart-item").locator("input[name=quantity]")).to_have_value("2")
    page.get_by_test_id("cart-checkout").click()

    # checkout: a Malaysian address — a bad postcode first: a clear error in their language, nothing lost
    expect(page.get_by_test_id("checkout")).to_be_visible()
    expect(page.get_by_test_id("checkout-total")).to_have_text("RM 99.80")
    form = page.get_by_test_id("address-form")
    form.locator("[name=recipient_name]").fill("Siti Aminah")
    form.locator("[name=phone]").fill("012-345 6789")
    form.locator("[name=line1]").fill("12, Jalan Telawi 3")
    form.locator("[name=postcode]").fill("591")
    form.locator("[name=city]").fill("Kuala Lumpur")
    form.locator("[name=state]").select_option("KUL")
    journey.see("Postcode", form)
    page.get_by_test_id("place-order").click()
    postcode_error = (
        page.locator(".field-error").filter(has=page.locator("[name=postcode]")).locator(".error")
    )
    expect(postcode_error).to_be_visible()
    assert postcode_error.inner_text() != "" and not Order.objects.filter(buyer=buyer).exists()
    expect(page.locator("[name=line1]")).to_have_value("12, Jalan Telawi 3")
    expect(page.locator("[name=state]")).to_have_value("KUL")
    journey.shot("3-checkout-bad-postcode")
    page.locator("[name=postcode]").fill("59100")
    page.get_by_test_id("place-order").click()

    # the sandbox provider's page, then a paid order
    expect(page.get_by_test_id("sandbox-amount")).to_have_text("MYR 99.80")
    page.get_by_test_id("sandbox-pay-button").click()
    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))
    expect(page.get_by_test_id("order-status")).to_have_text(t("Paid", "order status"))
    journey.shot("4-paid")
    order.refresh_from_db()
    assert order.status == "paid" and order.shipping_address["postcode"] == "59100"

    # My orders, from the Me menu (a phone has no rail)
    journey.me_menu_go("My orders")
    expect(page.locator("h1")).to_have_text(t("My orders"))
    expect(page.get_by_test_id("order-card").first).to_contain_text("Hand-drawn batik tote")
    journey.shot("5-my-orders")

    # the notification, in their language
    page.locator(
        "[data-testid=notifications-link]:visible, [data-testid=notifications-top]:visible"
    ).first.click()
    expect(page).to_have_url(re.compile(r"/notifications/"))
    expect(page.get_by_test_id("notification").first).to_contain_text(
        t("Order #%(id)d is paid.") % {"id": order.pk}
    )
    journey.shot("6-notification")

"""种草 → paid order: a reader taps a product tag in a note, buys the product from its page ("Buy now"), enters a
Malaysian address, pays on the sandbox provider's hosted page and lands on a paid order; the seller, signed in
in a second browser context, ships it with a carrier and tracking number — phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from meadow.notes.models import Note
from meadow.notes.services import note_publish
from meadow.notes.tests.factories import jpeg
from meadow.orders.models import Order, Payment, PaymentEvent
from meadow.orders.tests.factories import make_shop, make_sku
from meadow.store.models import Product
from meadow.store.services import note_products_set
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_from_a_notes_product_tag_to_a_paid_order_then_the_seller_ships_it(
    page, browser, live_server, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    v = page.viewport_name
    seller = UserFactory(handle=f"kedai_{v}", display_name="Kedai Batik Mei", is_verified_enterprise=True)
    shop = make_shop(owner=seller, name="Kedai Batik Mei")
    sku = make_sku(shop=shop, price="49.90", stock=5, name="Indigo / M", title="Hand-drawn batik tote")
    author = UserFactory(handle=f"mei_{v}", display_name="Mei")
    buyer = UserFactory(handle=f"siti_{v}", display_name="Siti")
    note = note_publish(
        author=author,
        title="My new batik tote 👜",
        body="Hand-drawn in Kelantan, fits a laptop. #batik",
        images=[jpeg(size=(900, 1200), color=(40, 70, 140))],
    )
    assert note.status == Note.Status.PUBLISHED
    note_products_set(note=note, product_ids=[sku.product_id])

    login(page, live_server, buyer.handle)
    page.goto(f"{live_server.url}/notes/{note.pk}/")
    page.get_by_test_id("product-tag").first.click()
    expect(page.get_by_test_id("product-page")).to_be_visible()
    assert Product.objects.get(pk=sku.product_id).tag_clicks == 1
    box = page.get_by_test_id("buy-box")
    expect(box.get_by_test_id("sku-option")).to_contain_text("Indigo / M")
    box.get_by_test_id("buy-quantity").fill("2")
    shot("commerce-product")
    box.get_by_test_id("buy-now").click()

    expect(page.get_by_test_id("checkout")).to_be_visible()
    expect(page.get_by_test_id("checkout-total")).to_have_text("RM 99.80")
    page.get_by_label("Recipient").fill("Siti Aminah")
    page.get_by_label("Phone").fill("012-345 6789")
    page.get_by_label("Address line 1").fill("12, Jalan Telawi 3")
    page.get_by_label("Postcode").fill("59100")
    page.get_by_label("City").fill("Kuala Lumpur")
    page.get_by_label("State").select_option("KUL")
    shot("commerce-checkout")
    page.get_by_test_id("place-order").click()

    expect(page.get_by_test_id("sandbox-pay")).to_be_visible()
    expect(page.get_by_test_id("sandbox-amount")).to_have_text("MYR 99.80")
    order = Order.objects.get(buyer=buyer)
    assert order.status == "pending_payment"
    sku.refresh_from_db()
    assert sku.stock == 3  # reserved at checkout
    shot("commerce-sandbox")
    page.get_by_test_id("sandbox-pay-button").click()

    expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("order-total")).to_have_text("RM 99.80")
    shot("commerce-paid")
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    assert Payment.objects.get(orders=order).status == "succeeded"
    assert PaymentEvent.objects.filter(intent_id=Payment.objects.get().intent_id).count() == 2

    # The seller, in another browser context, ships it from the order desk.
    context = browser.new_context(viewport=page.viewport_size, locale="en-US")
    desk = context.new_page()
    desk.set_default_timeout(30_000)
    login(desk, live_server, seller.handle)
    desk.goto(f"{live_server.url}/seller/orders/")
    card = desk.locator(f'[data-testid="seller-order"][data-order-id="{order.pk}"]')
    expect(card).to_contain_text("Hand-drawn batik tote")
    card.get_by_test_id("carrier").fill("Pos Laju")
    card.get_by_test_id("tracking-number").fill("ER123456789MY")
    card.get_by_test_id("ship").click()
    expect(desk.locator(f'[data-testid="seller-order"][data-order-id="{order.pk}"]')).to_have_count(0)
    context.close()

    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "Pos Laju", "ER123456789MY")
    page.reload()
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("tracking")).to_contain_text("ER123456789MY")
    shot("commerce-shipped")

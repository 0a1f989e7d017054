"""Journey: a verified shop adds a product from its seller desk, sees the paid order for it under Orders to ship,
ships it with a carrier and a tracking number, and the buyer — in another browser — is notified in their
language."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from conftest import bearer_client
from meadow.notes.tests.factories import image_bytes
from meadow.orders.models import Order
from meadow.orders.services import sandbox_confirm
from meadow.orders.tests.factories import ADDRESS, make_shop
from meadow.store.models import Product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _buy_and_pay(buyer, sku_id: int) -> Order:
    """The buyer's side, seeded: checkout through the API and the sandbox provider's confirmation."""
    api = bearer_client(buyer)
    body = {"items": [{"sku": sku_id, "quantity": 1}], "address": ADDRESS}
    r = api.post("/api/v1/orders", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    order_id = r.json()["orders"][0]["id"]
    r = api.post("/api/v1/payments", json.dumps({"orders": [order_id]}), content_type="application/json")
    assert r.status_code in (200, 201), r.content
    sandbox_confirm(intent_id=r.json()["intent"], succeed=True)
    order = Order.objects.get(pk=order_id)
    assert order.status == "paid"
    return order


def test_seller(journey):
    page, t = journey.page, journey.t
    suffix = f"{journey.language.replace('-', '')}_{journey.width}"
    seller = UserFactory(handle=f"kedai_{suffix}", display_name="Kedai Mei", is_verified_enterprise=True)
    make_shop(owner=seller, name="Kedai Mei")
    buyer = UserFactory(handle=f"siti_{suffix}", display_name="Siti")
    journey.login(seller.handle)

    # the seller desk, from the Me menu; a new product with a variant and an image
    journey.me_menu_go("Your shop")
    expect(page.get_by_test_id("seller-dashboard")).to_be_visible()
    new = page.get_by_test_id("new-product")
    expect(new).to_have_text(t("Add a product"))
    new.click()
    form = page.get_by_test_id("product-form")
    form.locator("[name=title]").fill("Songket cushion cover")
    form.locator("[name=status]").select_option("on_sale")
    row = page.get_by_test_id("variant-row").first
    row.locator("[name=sku_name]").fill("Gold / 45 cm")
    row.locator("[name=sku_price]").fill("59.00")
    row.locator("[name=sku_stock]").fill("4")
    form.locator("input[name=images]").set_input_files(
        {"name": "cushion.jpg", "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", size=(600, 600))}
    )
    journey.shot("1-new-product")
    page.get_by_test_id("save-product").click()
    expect(page.locator(".flash")).to_contain_text(t("Product saved."))
    product = Product.objects.get(title="Songket cushion cover")
    sku = product.skus.get()
    assert (sku.name, str(sku.price), sku.stock) == ("Gold / 45 cm", "59.00", 4)

    # a buyer buys and pays (seeded); the seller finds it under Orders to ship
    order = _buy_and_pay(buyer, sku.pk)
    journey.me_menu_go("Orders to ship")
    card = page.locator(f'[data-testid="seller-order"][data-order-id="{order.pk}"]')
    expect(card).to_contain_text("Songket cushion cover")
    expect(card).to_contain_text("59100 Kuala Lumpur, W.P. Kuala Lumpur")  # the address, the state by name
    card.get_by_test_id("carrier").fill("Pos Laju")
    card.get_by_test_id("tracking-number").fill("ER123456789MY")
    journey.shot("2-orders-to-ship")
    card.get_by_test_id("ship").click()
    expect(page.locator(f'[data-testid="seller-order"][data-order-id="{order.pk}"]')).to_have_count(0)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "Pos Laju", "ER123456789MY")
    journey.shot("3-shipped")

    # the buyer, in another browser, is notified in their language
    buyer_page = journey.new_page()
    journey.login(buyer.handle, buyer_page)
    buyer_page.locator(
        "[data-testid=notifications-link]:visible, [data-testid=notifications-top]:visible"
    ).first.click()
    expect(buyer_page).to_have_url(re.compile(r"/notifications/"))
    shipped = t("Order #%(id)d has shipped with %(carrier)s, tracking number %(tracking)s.") % {
        "id": order.pk,
        "carrier": "Pos Laju",
        "tracking": "ER123456789MY",
    }
    expect(buyer_page.get_by_test_id("notification").filter(has_text=shipped)).to_have_count(1)
    journey.shot("4-buyer-notified", buyer_page)

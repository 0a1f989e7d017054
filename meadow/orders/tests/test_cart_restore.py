"""Cancelling an unpaid order — by the buyer at the payment step, or by the payment window closing — puts its
items back in the buyer's cart: merged with what is there, capped by stock, only while still buyable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meadow.orders.models import CartItem, Order
from meadow.orders.services import QUANTITY_MAX, orders_expire_overdue
from meadow.orders.tests.factories import make_sku
from meadow.orders.tests.test_checkout import buy, post

pytestmark = pytest.mark.django_db


def cart(client) -> dict[int, int]:
    return {i["sku"]: i["quantity"] for i in client.get("/api/v1/cart").json()["items"]}


def test_the_buyer_cancelling_at_the_payment_step_gets_the_items_back_in_the_cart(buyer_api, sku, shop):
    other = make_sku(shop=shop, name="Blue / L", title="Batik scarf", stock=5)
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 3}, {"sku": other.pk, "quantity": 2}]).json()[
        "orders"
    ][0]
    post(buyer_api, "/api/v1/cart/items", {"sku": sku.pk, "quantity": 1})  # added again meanwhile
    assert cart(buyer_api) == {sku.pk: 1}
    r = post(buyer_api, f"/api/v1/orders/{order['id']}/cancel", {"reason": ""})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert cart(buyer_api) == {sku.pk: 4, other.pk: 2}  # merged: 1 already there + 3 from the order


def test_the_cancel_button_on_the_order_page_refills_the_cart(client, user, sku, buyer_api):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}]).json()["orders"][0]
    client.force_login(user)
    r = client.post(f"/orders/{order['id']}/do/cancel/", {"reason": ""})
    assert r.status_code == 302
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    assert dict(CartItem.objects.filter(user=user).values_list("sku_id", "quantity")) == {sku.pk: 2}
    assert "Batik tote" in client.get("/cart/").content.decode()


def test_the_payment_window_closing_refills_the_cart_capped_by_stock(buyer_api, user, sku, shop):
    gone = make_sku(shop=shop, name="Green / S", title="Old tote", stock=5)
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 3}, {"sku": gone.pk, "quantity": 1}]).json()[
        "orders"
    ][0]
    # Meanwhile: someone else bought most of the stock, and the other SKU was withdrawn.
    from meadow.store.models import Sku

    Sku.objects.filter(pk=sku.pk).update(stock=0)  # 7 left after the order; 3 come back → 3 in stock
    Sku.objects.filter(pk=gone.pk).update(is_active=False)
    post(
        buyer_api, "/api/v1/cart/items", {"sku": sku.pk, "quantity": 2}
    )  # a cart may hold more than the stock
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now() - timedelta(minutes=1))
    assert orders_expire_overdue() == 1
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    # 2 in the cart + 3 from the order = 5, but only the 3 returned units are in stock; the withdrawn SKU is not back
    assert dict(CartItem.objects.filter(user=user).values_list("sku_id", "quantity")) == {sku.pk: 3}


def test_a_cart_quantity_above_the_stock_is_not_lowered(buyer_api, user, sku):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    CartItem.objects.create(user=user, sku=sku, quantity=QUANTITY_MAX)
    post(buyer_api, f"/api/v1/orders/{order['id']}/cancel", {"reason": ""})
    assert CartItem.objects.get(user=user, sku=sku).quantity == QUANTITY_MAX


def test_the_seller_cancelling_leaves_the_buyers_cart_alone(buyer_api, seller_api, user, sku):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}]).json()["orders"][0]
    assert post(seller_api, f"/api/v1/orders/{order['id']}/cancel", {"reason": "No stock"}).status_code == 200
    assert not CartItem.objects.filter(user=user).exists()

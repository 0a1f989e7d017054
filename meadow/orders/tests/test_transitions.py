"""The order state machine through the API: who may do what from which state, and what it leaves behind."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meadow.notifications.models import Notification
from meadow.notifications.text import notification_summary
from meadow.orders.models import Order, Refund, RefundRequest, SandboxIntent
from meadow.orders.services import sandbox_confirm
from meadow.orders.tests.factories import make_shop, make_sku
from meadow.orders.tests.test_checkout import buy, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(buyer_api, sku, django_capture_on_commit_callbacks):
    """A paid order of 2 units (the sandbox's webhook delivered inline, as on the embedded default)."""
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}]).json()["orders"][0]
    payment = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]}).json()
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_confirm(intent_id=payment["intent"], succeed=True)
    assert Order.objects.get(pk=order["id"]).status == "paid"
    return Order.objects.get(pk=order["id"])


def snapshot(order: Order) -> dict:
    return Order.objects.filter(pk=order.pk).values().get()


def test_the_happy_path_ship_deliver_complete(paid_order, buyer_api, seller_api, user, seller):
    url = f"/api/v1/orders/{paid_order.pk}"
    r = post(seller_api, f"{url}/ship", {"tracking_number": "MY123456789", "carrier": "Pos Laju"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["tracking_number"], r.json()["carrier"]) == (
        "shipped",
        "MY123456789",
        "Pos Laju",
    )
    assert post(seller_api, f"{url}/deliver", {}).json()["status"] == "delivered"
    assert post(buyer_api, f"{url}/complete", {}).json()["status"] == "completed"
    texts = [notification_summary(n) for n in Notification.objects.filter(recipient=user, kind="order")]
    assert any("shipped with Pos Laju" in t for t in texts) and any("is paid" in t for t in texts)
    assert Notification.objects.filter(recipient=seller, kind="order").count() >= 2


def test_a_buyer_cannot_ship_and_nothing_changes(paid_order, buyer_api):
    before = snapshot(paid_order)
    r = post(buyer_api, f"/api/v1/orders/{paid_order.pk}/ship", {"tracking_number": "X1", "carrier": "J&T"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert snapshot(paid_order) == before


def test_a_seller_cannot_confirm_receipt(paid_order, seller_api):
    post(seller_api, f"/api/v1/orders/{paid_order.pk}/ship", {"tracking_number": "X1", "carrier": "J&T"})
    r = post(seller_api, f"/api/v1/orders/{paid_order.pk}/complete", {})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("action", "body"),
    [("deliver", {}), ("complete", {}), ("ship", {"tracking_number": "A", "carrier": "B"})],
)
def test_illegal_transitions_are_409_naming_from_and_to(buyer_api, seller_api, sku, action, body):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    client = buyer_api if action == "complete" else seller_api
    before = Order.objects.filter(pk=order["id"]).values().get()
    r = post(client, f"/api/v1/orders/{order['id']}/{action}", body)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "illegal_transition" and "Awaiting payment" in error["message"]
    assert Order.objects.filter(pk=order["id"]).values().get() == before


def test_cannot_cancel_after_shipping(paid_order, seller_api, buyer_api):
    post(seller_api, f"/api/v1/orders/{paid_order.pk}/ship", {"tracking_number": "A1", "carrier": "DHL"})
    r = post(buyer_api, f"/api/v1/orders/{paid_order.pk}/cancel", {"reason": "changed my mind"})
    assert r.status_code == 409 and "Shipped" in r.json()["error"]["message"]
    assert Order.objects.get(pk=paid_order.pk).status == "shipped"


def test_authorization_matrix_on_an_order(
    paid_order, anon, api_for, other_user, staff_user, buyer_api, seller_api
):
    url = f"/api/v1/orders/{paid_order.pk}"
    before = snapshot(paid_order)
    assert anon.get(url).status_code == 401
    for stranger in (api_for(other_user), api_for(staff_user)):
        assert stranger.get(url).status_code == 404
        assert post(stranger, f"{url}/cancel", {}).status_code == 404
        assert post(stranger, f"{url}/ship", {"tracking_number": "A", "carrier": "B"}).status_code == 404
        assert stranger.get("/api/v1/orders").json()["items"] == []
    assert snapshot(paid_order) == before
    assert buyer_api.get(url).status_code == 200
    assert seller_api.get(url).status_code == 200


def test_a_seller_sees_only_their_own_shops_orders(paid_order, api_for, buyer_api, seller_api):
    other_shop = make_shop(name="Another shop")
    theirs = make_sku(shop=other_shop)
    other_order = buy(buyer_api, [{"sku": theirs.pk, "quantity": 1}]).json()["orders"][0]
    mine = seller_api.get("/api/v1/seller/orders").json()["items"]
    assert [o["id"] for o in mine] == [paid_order.pk]
    assert seller_api.get(f"/api/v1/orders/{other_order['id']}").status_code == 404
    other_seller = api_for(other_shop.owner)
    assert [o["id"] for o in other_seller.get("/api/v1/seller/orders").json()["items"]] == [other_order["id"]]
    assert other_seller.get(f"/api/v1/orders/{paid_order.pk}").status_code == 404
    assert seller_api.get("/api/v1/seller/orders?status=paid").json()["items"][0]["id"] == paid_order.pk
    assert seller_api.get("/api/v1/seller/orders?status=shipped").json()["items"] == []


def test_buyer_cancels_a_paid_order_stock_returns_and_money_is_refunded(
    paid_order, buyer_api, sku, django_capture_on_commit_callbacks
):
    sku.refresh_from_db()
    assert sku.stock == 8
    with django_capture_on_commit_callbacks(execute=True):
        r = post(buyer_api, f"/api/v1/orders/{paid_order.pk}/cancel", {"reason": "Ordered the wrong size"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancelled_by"] == "buyer"
    sku.refresh_from_db()
    assert sku.stock == 10
    refund = Refund.objects.get(order=paid_order)
    assert (refund.status, refund.amount, refund.reason) == ("succeeded", Decimal("25.00"), "cancelled")
    assert SandboxIntent.objects.get().refunded == Decimal("25.00")
    again = post(buyer_api, f"/api/v1/orders/{paid_order.pk}/cancel", {})
    assert again.status_code == 409
    sku.refresh_from_db()
    assert sku.stock == 10 and Refund.objects.count() == 1


def test_seller_cancels_an_unpaid_order(buyer_api, seller_api, sku, user):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 4}]).json()["orders"][0]
    r = post(seller_api, f"/api/v1/orders/{order['id']}/cancel", {"reason": "Out of stock in the warehouse"})
    assert r.status_code == 200 and r.json()["cancelled_by"] == "seller"
    sku.refresh_from_db()
    assert sku.stock == 10 and not Refund.objects.exists()
    assert any(
        "cancelled" in notification_summary(n)
        for n in Notification.objects.filter(recipient=user, kind="order")
    )


def test_refund_request_approved_refunds_through_the_gateway(
    paid_order, buyer_api, seller_api, sku, django_capture_on_commit_callbacks
):
    url = f"/api/v1/orders/{paid_order.pk}"
    post(seller_api, f"{url}/ship", {"tracking_number": "A1", "carrier": "DHL"})
    assert post(seller_api, f"{url}/refund-request", {"reason": "x"}).status_code == 403
    r = post(buyer_api, f"{url}/refund-request", {"reason": "Arrived torn"})
    assert r.status_code == 201 and r.json()["refund_request"]["status"] == "pending"
    assert (
        post(buyer_api, f"{url}/refund-request", {"reason": "again"}).json()["error"]["code"]
        == "refund_pending"
    )
    pending = seller_api.get("/api/v1/seller/refund-requests?status=pending").json()["items"]
    assert [(p["order"], p["amount"]) for p in pending] == [(paid_order.pk, "25.00")]
    assert post(buyer_api, f"{url}/refund-decision", {"decision": "approve"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = post(seller_api, f"{url}/refund-decision", {"decision": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "refunded"
    assert Refund.objects.get(order=paid_order).status == "succeeded"
    sku.refresh_from_db()
    assert sku.stock == 8  # shipped goods are not back on the shelf


def test_refund_request_rejected_needs_a_reason(paid_order, buyer_api, seller_api, user):
    url = f"/api/v1/orders/{paid_order.pk}"
    post(buyer_api, f"{url}/refund-request", {"reason": "Changed my mind"})
    r = post(seller_api, f"{url}/refund-decision", {"decision": "reject"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    assert RefundRequest.objects.get().status == "pending"
    r = post(seller_api, f"{url}/refund-decision", {"decision": "reject", "reason": "Opened and used"})
    assert r.status_code == 200 and r.json()["status"] == "paid"
    assert r.json()["refund_request"]["decision_reason"] == "Opened and used"
    assert not Refund.objects.exists()
    assert any(
        "Opened and used" in notification_summary(n) for n in Notification.objects.filter(recipient=user)
    )
    assert post(seller_api, f"{url}/refund-decision", {"decision": "approve"}).json()["error"]["code"] == (
        "no_refund_request"
    )


def test_refund_request_on_an_unpaid_order_is_illegal(buyer_api, sku):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    r = post(buyer_api, f"/api/v1/orders/{order['id']}/refund-request", {"reason": "?"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"


def test_order_list_query_count_does_not_grow_with_page_size(buyer_api, sku, django_assert_max_num_queries):
    for _ in range(3):
        buy(buyer_api, [{"sku": sku.pk, "quantity": 1}])
    with django_assert_max_num_queries(8) as small:
        assert len(buyer_api.get("/api/v1/orders?limit=2").json()["items"]) == 2
    for _ in range(6):
        buy(buyer_api, [{"sku": sku.pk, "quantity": 1}])
    with django_assert_max_num_queries(8) as large:
        page = buyer_api.get("/api/v1/orders?limit=9").json()
    assert len(page["items"]) == 9
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_order_pages_name_the_shipping_state_not_its_code(paid_order, seller, user):
    """Journey finding (issue #23): the seller's desk and the buyer's order page showed "KUL"; a person reads the
    state's name."""
    from django.test import Client

    for person, url in ((seller, "/seller/orders/"), (user, f"/orders/{paid_order.pk}/")):
        client = Client()
        client.force_login(person)
        page = client.get(url).content.decode()
        assert "59100 Kuala Lumpur, W.P. Kuala Lumpur" in page and "Kuala Lumpur, KUL" not in page

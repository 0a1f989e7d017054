"""The pages: buy now → checkout → sandbox hosted page → paid order; cart; seller desk, refunds and sales chart."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from meadow.orders.models import Address, CartItem, Order, RefundRequest
from meadow.orders.tests.factories import ADDRESS, make_sku

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def checkout_via_pages(client, sku, quantity=2, django_capture_on_commit_callbacks=None):
    r = client.post(reverse("web:buy_now"), {"sku": sku.pk, "quantity": quantity})
    assert r.status_code == 302 and r["Location"].startswith("/checkout/?")
    page = client.get(r["Location"])
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)
    r = client.post(
        reverse("web:checkout"),
        {"sku": sku.pk, "quantity": quantity, "address": "new", "idempotency_key": key, **ADDRESS},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    return r["Location"], key


def test_buy_now_checkout_sandbox_pay_paid_order(user, sku, django_capture_on_commit_callbacks):
    client = login(user)
    pay_url, _key = checkout_via_pages(client, sku)
    assert pay_url.startswith("/pay/sandbox/pi_sbx_")
    order = Order.objects.get(buyer=user)
    assert Address.objects.filter(user=user, is_default=True).count() == 1
    page = Client().get(pay_url)  # the provider's page needs no Meadow session
    assert page.status_code == 200 and b"MYR 25.00" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(pay_url, {"outcome": "pay"})
    assert r.status_code == 302 and r["Location"] == reverse("web:order", args=[order.pk])
    order.refresh_from_db()
    assert order.status == "paid"
    detail = client.get(r["Location"])
    assert b'data-testid="order-status">Paid' in detail.content


def test_double_submit_with_the_same_form_makes_one_order(user, sku):
    client = login(user)
    Address.objects.create(user=user, is_default=True, **{**ADDRESS, "phone": "+60123456789"})
    page = client.get(reverse("web:checkout") + f"?sku={sku.pk}&quantity=1").content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page).group(1)
    form = {"sku": sku.pk, "quantity": 1, "address": str(Address.objects.get().pk), "idempotency_key": key}
    first = client.post(reverse("web:checkout"), form)
    second = client.post(reverse("web:checkout"), form)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Order.objects.count() == 1


def test_checkout_shows_address_errors_and_keeps_the_input(user, sku):
    client = login(user)
    r = client.post(
        reverse("web:checkout"),
        {"sku": sku.pk, "quantity": 1, "address": "new", **{**ADDRESS, "postcode": "123"}},
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "5 digits" in body and "Jalan Telawi" in body
    assert not Order.objects.exists()


def test_checkout_reports_every_address_error_at_once_by_its_field(user, sku):
    """Issue #23 finding 14: all wrong fields are reported together, each under its own field, not one per try."""
    client = login(user)
    r = client.post(
        reverse("web:checkout"),
        {
            "sku": sku.pk,
            "quantity": 1,
            "address": "new",
            **{
                **ADDRESS,
                "recipient_name": "",
                "postcode": "123",
                "city": "",
                "state": "Atlantis",
                "phone": "1",
            },
        },
    )
    assert r.status_code == 400
    assert set(r.context["errors"]) == {"recipient_name", "postcode", "city", "state", "phone"}
    body = r.content.decode()
    for message in (
        "Recipient is required.",
        "5 digits",
        "City is required.",
        "Choose a Malaysian state.",
        "valid phone",
    ):
        assert message in body
    assert body.count('class="error" role="alert"') == 5
    assert "Jalan Telawi" in body and not Order.objects.exists()


def test_a_postcode_outside_its_state_is_reported_with_the_other_errors(user, sku):
    client = login(user)
    r = client.post(
        reverse("web:checkout"),
        {"sku": sku.pk, "quantity": 1, "address": "new", **{**ADDRESS, "postcode": "88000", "line1": ""}},
    )
    assert r.status_code == 400 and set(r.context["errors"]) == {"postcode", "line1"}


def test_anonymous_buy_now_goes_to_login_then_checkout(anon, sku):
    r = anon.post(reverse("web:buy_now"), {"sku": sku.pk, "quantity": 1})
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=/checkout/")
    assert anon.get(reverse("web:cart")).status_code == 302
    assert anon.get(reverse("web:seller_orders")).status_code == 302


def test_cart_page_add_update_remove(user, sku):
    client = login(user)
    r = client.post(reverse("web:cart_add"), {"sku": sku.pk, "quantity": 2})
    assert r.status_code == 302 and CartItem.objects.get(user=user).quantity == 2
    page = client.get(reverse("web:cart"))
    assert b"RM 25.00" in page.content and b'data-testid="cart-count">1' in page.content
    client.post(reverse("web:cart_item", args=[sku.pk]), {"quantity": 3})
    assert CartItem.objects.get(user=user).quantity == 3
    client.post(reverse("web:cart_item", args=[sku.pk]), {"remove": "1"})
    assert not CartItem.objects.exists()


def test_cart_checkout_via_pages(user, sku):
    client = login(user)
    client.post(reverse("web:cart_add"), {"sku": sku.pk, "quantity": 1})
    page = client.get(reverse("web:checkout"))
    assert b"RM 12.50" in page.content
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)
    r = client.post(reverse("web:checkout"), {"address": "new", "idempotency_key": key, **ADDRESS})
    assert r.status_code == 302 and r["Location"].startswith("/pay/sandbox/")
    assert Order.objects.filter(buyer=user).count() == 1 and not CartItem.objects.exists()


def test_order_pages_are_private(user, other_user, staff_user, sku):
    client = login(user)
    checkout_via_pages(client, sku)
    order = Order.objects.get()
    assert client.get(reverse("web:order", args=[order.pk])).status_code == 200
    for stranger in (other_user, staff_user):
        c = login(stranger)
        assert c.get(reverse("web:order", args=[order.pk])).status_code == 404
        assert c.post(reverse("web:order_action", args=[order.pk, "cancel"])).status_code == 404
        assert c.get(reverse("web:orders")).content.count(b'data-testid="order-card"') == 0
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_seller_ships_from_the_desk_and_decides_a_refund(
    user, seller, sku, django_capture_on_commit_callbacks
):
    buyer = login(user)
    pay_url, _key = checkout_via_pages(buyer, sku)
    with django_capture_on_commit_callbacks(execute=True):
        buyer.post(pay_url, {"outcome": "pay"})
    order = Order.objects.get()
    desk = login(seller)
    page = desk.get(reverse("web:seller_orders"))
    assert page.status_code == 200 and f'data-order-id="{order.pk}"'.encode() in page.content
    assert login(user).get(reverse("web:seller_orders")).content.count(b'data-testid="seller-order"') == 0
    r = desk.post(
        reverse("web:order_action", args=[order.pk, "ship"]),
        {"carrier": "Pos Laju", "tracking_number": "ER123456789MY", "next": reverse("web:seller_orders")},
    )
    assert r.status_code == 302 and r["Location"] == reverse("web:seller_orders")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("shipped", "ER123456789MY")
    # a buyer posting the ship action changes nothing
    buyer.post(reverse("web:order_action", args=[order.pk, "deliver"]))
    order.refresh_from_db()
    assert order.status == "shipped"

    buyer.post(reverse("web:order_action", args=[order.pk, "refund-request"]), {"reason": "Wrong colour"})
    assert RefundRequest.objects.get().status == "pending"
    refunds = desk.get(reverse("web:seller_refunds"))
    assert b"Wrong colour" in refunds.content
    desk.post(
        reverse("web:order_action", args=[order.pk, "refund-decision"]),
        {"decision": "reject", "reason": "Used"},
    )
    assert RefundRequest.objects.get().status == "rejected"

    sales = desk.get(reverse("web:seller_sales"))
    assert sales.status_code == 200 and b"<svg" in sales.content
    assert b'data-testid="sales-revenue">RM 25.00' in sales.content


def test_sandbox_page_fail_keeps_the_order_and_a_second_click_changes_nothing(
    user, sku, django_capture_on_commit_callbacks
):
    """A failed payment leaves the order pending with its stock reserved (issue #23, finding 7); clicking Pay on
    the failed intent's page afterwards changes nothing — a retry is a new payment from the order page."""
    client = login(user)
    pay_url, _key = checkout_via_pages(client, sku)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(pay_url, {"outcome": "fail"})
    order = Order.objects.get()
    assert order.status == "pending_payment"
    sku.refresh_from_db()
    assert sku.stock == 8  # the two bought stay reserved for the buyer
    with django_capture_on_commit_callbacks(execute=True):
        client.post(pay_url, {"outcome": "pay"})
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert b"has failed" in client.get(pay_url).content
    assert Client().get("/pay/sandbox/pi_nope/").status_code == 404


def test_buy_box_renders_for_a_product(sku, user):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    sold_out = make_sku(shop=sku.product.shop, stock=0, name="Gone")
    sold_out.product = sku.product
    sold_out.save()
    html = render_to_string("orders/_buy_box.html", {"product": sku.product}, request=request)
    assert f'value="{sku.pk}" checked' in html
    assert f'value="{sold_out.pk}" disabled' in html and "Sold out" in html

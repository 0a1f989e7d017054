"""A cancelled or expired order cannot be paid: the sandbox provider's page refuses up front with a clear
message, instead of capturing the money and refunding it afterwards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from meadow.orders import services
from meadow.orders.models import Order, Payment, Refund, SandboxIntent
from meadow.orders.tests.factories import make_sku
from meadow.orders.tests.test_checkout import buy, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(user, api_for):
    sku = make_sku(price="25.00", stock=5)
    client = api_for(user)
    order = buy(client, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    payment = post(client, "/api/v1/payments", {"orders": [order["id"]]}).json()
    return client, Order.objects.get(pk=order["id"]), payment["intent"]


def _page(intent: str) -> str:
    return f"/pay/sandbox/{intent}/"


def _nothing_taken(order: Order, intent: str) -> None:
    row = SandboxIntent.objects.get(intent_id=intent)
    assert row.status != "succeeded" and row.refunded == Decimal("0.00")
    assert not Refund.objects.filter(order=order).exists()
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_a_cancelled_orders_payment_page_refuses_to_pay(started, django_capture_on_commit_callbacks):
    client, order, intent = started
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post(client, f"/api/v1/orders/{order.pk}/cancel", {"reason": "changed my mind"}).status_code
            == 200
        )

    assert SandboxIntent.objects.get(intent_id=intent).status == "canceled"
    assert Payment.objects.get(intent_id=intent).status == "failed"  # no longer an open payment
    browser = Client()
    page = browser.get(_page(intent))
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="sandbox-pay-button"' not in body
    assert "the order was cancelled and can no longer be paid" in body

    with django_capture_on_commit_callbacks(execute=True):
        refused = browser.post(_page(intent), {"outcome": "pay"})
    assert refused.status_code == 409
    assert "the order was cancelled and can no longer be paid" in refused.content.decode()
    _nothing_taken(order, intent)


def test_an_expired_orders_payment_page_refuses_even_before_the_expiry_job_runs(
    started, django_capture_on_commit_callbacks
):
    _client, order, intent = started
    assert SandboxIntent.objects.get(intent_id=intent).expires_at == order.payment_due_at
    Order.objects.filter(pk=order.pk).update(payment_due_at=timezone.now() - timedelta(seconds=1))
    SandboxIntent.objects.filter(intent_id=intent).update(expires_at=timezone.now() - timedelta(seconds=1))

    browser = Client()
    page = browser.get(_page(intent)).content.decode()
    assert "the time to pay for the order is over" in page and 'data-testid="sandbox-pay-button"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        refused = browser.post(_page(intent), {"outcome": "pay"})
    assert refused.status_code == 409
    assert SandboxIntent.objects.get(intent_id=intent).status == "requires_confirmation"  # nothing captured

    with django_capture_on_commit_callbacks(execute=True):
        assert services.orders_expire_overdue() == 1
    assert SandboxIntent.objects.get(intent_id=intent).status == "canceled"
    _nothing_taken(order, intent)


def test_a_payable_order_still_pays_and_a_second_click_goes_back(started, django_capture_on_commit_callbacks):
    _client, order, intent = started
    browser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        first = browser.post(_page(intent), {"outcome": "pay"})
    assert first.status_code == 302
    assert browser.post(_page(intent), {"outcome": "pay"}).status_code == 302  # decided: back to the shop
    assert SandboxIntent.objects.get(intent_id=intent).status == "succeeded"
    assert Order.objects.get(pk=order.pk).status == "paid"

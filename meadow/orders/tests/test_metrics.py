"""meadow_orders_placed_total and meadow_payments_total move when an order is placed and a payment webhook is
applied; a refused checkout (sold out) counts nothing."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from meadow.orders.services import sandbox_confirm
from meadow.orders.tests import test_payments
from meadow.orders.tests.test_checkout import buy
from meadow.orders.tests.test_payments import checkout_and_pay_intent, deliver

pytestmark = pytest.mark.django_db
webhooks = test_payments.webhooks  # the fixture that holds the sandbox's webhook deliveries


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_orders_and_payment_outcomes_are_counted(
    buyer_api, sku, webhooks, django_capture_on_commit_callbacks
):
    orders, succeeded = (
        value("meadow_orders_placed_total"),
        value("meadow_payments_total", outcome="succeeded"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        _order, payment = checkout_and_pay_intent(buyer_api, sku)
    assert value("meadow_orders_placed_total") == orders + 1
    with django_capture_on_commit_callbacks(execute=True):
        assert buy(buyer_api, [{"sku": sku.pk, "quantity": 10}]).status_code == 409  # 9 left: sold out
    assert value("meadow_orders_placed_total") == orders + 1
    sandbox_confirm(intent_id=payment["intent"], succeed=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(webhooks[0]) == "processing"
        assert deliver(webhooks[1]) == "succeeded"
        assert deliver(webhooks[1]) == "duplicate"  # a repeat is not applied, so not counted
    assert value("meadow_payments_total", outcome="succeeded") == succeeded + 1
    assert value("meadow_payments_total", outcome="processing") >= 1

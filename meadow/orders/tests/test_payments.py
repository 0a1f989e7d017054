"""Payments through the sandbox gateway: the intent, the hosted page, signed webhooks delivered late, twice or
out of order, forged signatures, replays, expiry and refunds."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from meadow.core import tasks as core_tasks
from meadow.orders.gateway import SIGNATURE_HEADER, sign
from meadow.orders.models import Order, Payment, PaymentEvent, Refund, SandboxIntent
from meadow.orders.services import orders_expire_overdue, sandbox_confirm
from meadow.orders.tasks import orders_expire_unpaid, sandbox_webhook_deliver
from meadow.orders.tests.test_checkout import buy, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhooks(monkeypatch):
    """Hold the sandbox's webhook deliveries instead of running them, so a test delivers them when, how often
    and in which order it likes (a delivery is a task: late, twice, out of order all happen)."""
    held: list[dict] = []
    real = core_tasks.enqueue

    def enqueue(task, **kwargs):
        if task.name == sandbox_webhook_deliver.name:
            held.append(kwargs["event"])
        else:
            real(task, **kwargs)

    monkeypatch.setattr(core_tasks, "enqueue", enqueue)
    return held


def deliver(event: dict) -> str:
    return sandbox_webhook_deliver(event)


def signed(event: dict, *, timestamp: int | None = None, secret: bytes | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    return body, {SIGNATURE_HEADER: sign(body, timestamp=timestamp, secret=secret)}


def post_webhook(client, body: bytes, headers: dict):
    return client.post(
        "/api/v1/payments/webhook",
        body,
        content_type="application/json",
        headers=dict(headers),
    )


def checkout_and_pay_intent(buyer_api, sku, quantity=1, key="pay-1"):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": quantity}]).json()["orders"][0]
    r = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]}, **{"Idempotency-Key": key})
    assert r.status_code == 201, r.content
    return order, r.json()


def state(order_id):
    order = Order.objects.get(pk=order_id)
    return order.status


def test_pay_through_the_hosted_page_and_signed_webhook(buyer_api, sku, webhooks, client):
    order, payment = checkout_and_pay_intent(buyer_api, sku, quantity=2)
    assert payment["intent"].startswith("pi_sbx_") and payment["amount"] == "25.00"
    assert payment["redirect_url"] == f"/pay/sandbox/{payment['intent']}/"
    assert payment["status"] == "requires_confirmation"
    assert sandbox_confirm(intent_id=payment["intent"], succeed=True) is True
    assert sandbox_confirm(intent_id=payment["intent"], succeed=False) is False  # decided once
    assert [e["type"] for e in webhooks] == ["payment.processing", "payment.succeeded"]
    assert state(order["id"]) == "pending_payment"  # nothing happens until the webhook arrives

    assert deliver(webhooks[0]) == "processing"
    assert deliver(webhooks[1]) == "succeeded"
    assert state(order["id"]) == "paid"
    assert Payment.objects.get().status == "succeeded"
    sku.refresh_from_db()
    assert sku.stock == 8  # the reservation became a sale


def test_a_duplicated_or_replayed_webhook_changes_nothing(buyer_api, sku, webhooks, anon):
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    sandbox_confirm(intent_id=payment["intent"], succeed=True)
    succeeded = webhooks[1]
    assert deliver(succeeded) == "succeeded"
    paid_at = Order.objects.get(pk=order["id"]).paid_at
    snapshot = list(Order.objects.values()), list(Payment.objects.values("status", "updated_at"))

    assert deliver(succeeded) == "duplicate"  # the task ran twice
    body, headers = signed(succeeded)
    r = post_webhook(anon, body, headers)  # a replay through the endpoint, freshly signed
    assert r.status_code == 200 and r.json() == {"received": True, "outcome": "duplicate"}
    assert (list(Order.objects.values()), list(Payment.objects.values("status", "updated_at"))) == snapshot
    assert Order.objects.get(pk=order["id"]).paid_at == paid_at
    assert PaymentEvent.objects.filter(event_id=succeeded["id"]).count() == 1
    sku.refresh_from_db()
    assert sku.stock == 9 and not Refund.objects.exists()


def test_a_captured_request_replayed_after_the_tolerance_window_is_refused(buyer_api, sku, webhooks, anon):
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    sandbox_confirm(intent_id=payment["intent"], succeed=True)
    body, headers = signed(webhooks[1], timestamp=int(time.time()) - 3600)
    r = post_webhook(anon, body, headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    assert state(order["id"]) == "pending_payment" and not PaymentEvent.objects.exists()


@pytest.mark.parametrize("how", ["wrong_secret", "tampered_body", "no_header", "garbage_header"])
def test_a_forged_webhook_is_refused_and_nothing_changes(buyer_api, sku, webhooks, anon, how):
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    forged = {
        "id": "evt_forged",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"intent": payment["intent"], "amount": payment["amount"], "currency": "MYR"},
    }
    body, headers = signed(forged, secret=b"not-the-secret" if how == "wrong_secret" else None)
    if how == "tampered_body":
        body = body.replace(b'"25.00"', b'"0.01"').replace(payment["amount"].encode(), b"0.01")
    elif how == "no_header":
        headers = {}
    elif how == "garbage_header":
        headers = {SIGNATURE_HEADER: "t=abc,v1=zz"}
    r = post_webhook(anon, body, headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    assert state(order["id"]) == "pending_payment"
    assert not PaymentEvent.objects.exists() and Payment.objects.get().status == "requires_confirmation"


def test_a_webhook_signed_with_the_published_development_key_is_refused(
    buyer_api, sku, webhooks, anon, settings
):
    """Outside production the secret came from the development SECRET_KEY printed in settings.py, so anyone
    could sign "payment.succeeded": it now comes from the per-instance secret under MEADOW_DATA_DIR."""
    import hashlib
    import hmac

    settings.SECRET_KEY = "django-insecure-meadow-development-key-never-use-in-production"
    settings.MEADOW_SANDBOX_WEBHOOK_SECRET = ""
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    forged = {
        "id": "evt_forged_dev_key",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"intent": payment["intent"], "amount": payment["amount"], "currency": "MYR"},
    }
    public_key = settings.SECRET_KEY.encode()
    derived = hmac.new(public_key, b"meadow.sandbox.webhook", hashlib.sha256).hexdigest().encode()
    body, headers = signed(forged, secret=derived)
    r = post_webhook(anon, body, headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    assert state(order["id"]) == "pending_payment" and not PaymentEvent.objects.exists()
    sandbox_confirm(intent_id=payment["intent"], succeed=True)  # the sandbox's own deliveries still work
    for event in webhooks:
        deliver(event)
    assert state(order["id"]) == "paid"


def test_out_of_order_processing_after_succeeded_does_not_go_back(buyer_api, sku, webhooks):
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    sandbox_confirm(intent_id=payment["intent"], succeed=True)
    processing, succeeded = webhooks
    assert deliver(succeeded) == "succeeded"
    assert deliver(processing) == "stale"
    assert Payment.objects.get().status == "succeeded" and state(order["id"]) == "paid"


def test_failed_payment_keeps_the_order_pending_and_the_buyer_can_try_again(buyer_api, sku, webhooks):
    """Issue #23, finding 7: a failed payment used to cancel the order at once. Now it closes that payment only;
    the order stays pending (stock still reserved) for its window, and a new payment can succeed."""
    order, payment = checkout_and_pay_intent(buyer_api, sku, quantity=4)
    sku.refresh_from_db()
    assert sku.stock == 6
    sandbox_confirm(intent_id=payment["intent"], succeed=False)
    assert [deliver(e) for e in webhooks] == ["processing", "failed"]
    assert deliver(webhooks[1]) == "duplicate"
    found = Order.objects.get(pk=order["id"])
    assert (found.status, found.cancel_reason) == ("pending_payment", "")
    assert Payment.objects.get(intent_id=payment["intent"]).status == "failed"
    sku.refresh_from_db()
    assert sku.stock == 6  # still reserved for the buyer
    webhooks.clear()
    retry = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]})
    assert retry.status_code in (200, 201), retry.content
    assert retry.json()["intent"] != payment["intent"]
    again = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]})
    assert again.json()["intent"] == retry.json()["intent"]  # still at most one open payment per order
    sandbox_confirm(intent_id=retry.json()["intent"], succeed=True)
    for event in webhooks:
        deliver(event)
    assert state(order["id"]) == "paid"
    sku.refresh_from_db()
    assert sku.stock == 6  # sold once, never released


def test_a_failed_payment_then_the_window_closing_releases_stock_once(buyer_api, sku, webhooks):
    order, payment = checkout_and_pay_intent(buyer_api, sku, quantity=4)
    sandbox_confirm(intent_id=payment["intent"], succeed=False)
    for event in webhooks:
        deliver(event)
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now() - timedelta(seconds=1))
    assert orders_expire_unpaid() == 1 and orders_expire_unpaid() == 0
    found = Order.objects.get(pk=order["id"])
    assert (found.status, found.cancel_reason) == ("cancelled", "payment_timeout")
    sku.refresh_from_db()
    assert sku.stock == 10  # released exactly once


def test_reservation_timeout_releases_stock_idempotently(buyer_api, sku, settings):
    order = buy(buyer_api, [{"sku": sku.pk, "quantity": 3}]).json()["orders"][0]
    sku.refresh_from_db()
    assert sku.stock == 7
    assert orders_expire_overdue() == 0  # not yet due
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now() - timedelta(seconds=1))
    assert orders_expire_unpaid() == 1
    assert orders_expire_unpaid() == 0  # the beat running again changes nothing
    sku.refresh_from_db()
    assert sku.stock == 10 and state(order["id"]) == "cancelled"
    r = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_payable"


def test_the_timeout_setting_sets_the_deadline(buyer_api, sku, settings):
    settings.MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    order = Order.objects.get(pk=buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]["id"])
    assert timedelta(minutes=29) < order.payment_due_at - order.created_at <= timedelta(minutes=30, seconds=5)


def test_payment_that_arrives_after_expiry_is_refunded(
    buyer_api, sku, webhooks, django_capture_on_commit_callbacks
):
    order, payment = checkout_and_pay_intent(buyer_api, sku, quantity=2)
    sandbox_confirm(intent_id=payment["intent"], succeed=True)  # the buyer paid …
    Order.objects.filter(pk=order["id"]).update(payment_due_at=timezone.now() - timedelta(minutes=1))
    orders_expire_overdue()  # … but the webhook was late and the reservation expired first
    sku.refresh_from_db()
    assert sku.stock == 10
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(webhooks[1]) == "succeeded_with_refunds"
    found = Order.objects.get(pk=order["id"])
    assert found.status == "cancelled"  # never resurrected: its stock may already be sold
    refund = Refund.objects.get(order=found)
    assert (refund.reason, refund.status, refund.amount) == ("late_payment", "succeeded", Decimal("25.00"))
    assert SandboxIntent.objects.get(intent_id=payment["intent"]).refunded == Decimal("25.00")
    sku.refresh_from_db()
    assert sku.stock == 10
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(webhooks[1]) == "duplicate"
    assert Refund.objects.count() == 1
    assert SandboxIntent.objects.get(intent_id=payment["intent"]).refunded == Decimal("25.00")
    # the buyer sees it: the order lists the refund, the payment says what came back (the capture succeeded)
    seen = buyer_api.get(f"/api/v1/orders/{order['id']}").json()
    assert [(r["amount"], r["reason"], r["status"]) for r in seen["refunds"]] == [
        ("25.00", "late_payment", "succeeded")
    ]
    paid = buyer_api.get(f"/api/v1/payments/{payment['id']}").json()
    assert (paid["status"], paid["amount"], paid["refunded"]) == ("succeeded", "25.00", "25.00")


def test_payment_start_is_idempotent_and_private(buyer_api, api_for, other_user, sku):
    order, payment = checkout_and_pay_intent(buyer_api, sku, key="p-key")
    again = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]}, **{"Idempotency-Key": "p-key"})
    assert again.status_code == 201 and again.json() == payment
    no_key = post(buyer_api, "/api/v1/payments", {"orders": [order["id"]]})
    assert no_key.json()["intent"] == payment["intent"]  # the open payment is reused
    assert Payment.objects.count() == 1 and SandboxIntent.objects.count() == 1
    other = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    reused = post(buyer_api, "/api/v1/payments", {"orders": [other["id"]]}, **{"Idempotency-Key": "p-key"})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    intruder = api_for(other_user)
    assert post(intruder, "/api/v1/payments", {"orders": [order["id"]]}).status_code == 404
    assert intruder.get(f"/api/v1/payments/{payment['id']}").status_code == 404
    assert buyer_api.get(f"/api/v1/payments/{payment['id']}").json()["intent"] == payment["intent"]


def test_unknown_intent_events_are_stored_and_ignored(anon):
    event = {
        "id": "evt_x",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"intent": "pi_unknown", "amount": "1.00", "currency": "MYR"},
    }
    body, headers = signed(event)
    r = post_webhook(anon, body, headers)
    assert r.status_code == 200 and r.json()["outcome"] == "unknown_intent"


def test_an_amount_mismatch_marks_the_orders_for_review(buyer_api, sku, webhooks):
    order, payment = checkout_and_pay_intent(buyer_api, sku)
    event = {
        "id": "evt_mismatch",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"intent": payment["intent"], "amount": "0.01", "currency": "MYR"},
    }
    assert deliver(event) == "amount_mismatch"
    found = Order.objects.get(pk=order["id"])
    assert found.status == "pending_payment" and found.needs_review


@pytest.mark.parametrize(
    ("language", "button", "said"),
    [
        ("en", "Try again", "nothing was charged"),
        ("zh-hans", "重试", "未扣款"),
        ("ms", "Cuba lagi", "tiada caj dikenakan"),
    ],
)
def test_the_order_page_after_a_failed_payment_offers_try_again(
    buyer_api, user, sku, webhooks, language, button, said
):
    from django.test import Client

    order, payment = checkout_and_pay_intent(buyer_api, sku)
    sandbox_confirm(intent_id=payment["intent"], succeed=False)
    for event in webhooks:
        deliver(event)
    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/orders/{order['id']}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="payment-failed"' in page and said in page
    assert 'data-testid="pay"' in page and button in page
    assert 'http-equiv="refresh"' not in page  # not "waiting for confirmation" for ever
    r = browser.post(f"/orders/{order['id']}/pay/")
    assert r.status_code == 302 and "/pay/sandbox/" in r["Location"]  # a new payment, on the provider's page

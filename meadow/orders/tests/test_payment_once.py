"""A buyer is charged once per order: parallel payment starts (double clicks, parallel API calls without an
Idempotency-Key) open one payment, and a second capture for an order another payment already paid — a stale
intent confirmed late at the provider — is refunded automatically and recorded where buyer, seller and staff see
it. The threaded tests run on the profile the suite runs on: SQLite (one writer at a time, ``BEGIN IMMEDIATE``)
by default, PostgreSQL (row locks) with MEADOW_TEST_POSTGRES=1."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum
from django.test import Client

from meadow.orders import services
from meadow.orders.models import Order, Payment, Refund, SandboxIntent
from meadow.orders.services import sandbox_confirm
from meadow.orders.tests.factories import ADDRESS, make_sku
from meadow.orders.tests.test_checkout import buy, post
from tests.factories import UserFactory

THREADS = 24


def _captured_net(order: Order) -> Decimal:
    """Money the provider kept for ``order``: captured by succeeded payments minus what was refunded for it."""
    captured = sum(
        (p.amount for p in Payment.objects.filter(orders=order, status="succeeded")), start=Decimal("0.00")
    )
    refunded = Refund.objects.filter(order=order, status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
    return captured - refunded


def _race(fn, n: int = THREADS):
    start = threading.Barrier(n)

    def run(i):
        try:
            start.wait(timeout=30)
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.django_db(transaction=True)
def test_parallel_payment_starts_through_the_api_open_one_payment(
    threaded_db, api_for, django_capture_on_commit_callbacks
):
    sku = make_sku(price="25.00", stock=5)
    buyer = UserFactory()
    client = api_for(buyer)
    order = buy(client, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]

    def start(_i):
        r = client.post(
            "/api/v1/payments", json.dumps({"orders": [order["id"]]}), content_type="application/json"
        )
        return r.status_code, r.json()

    results = _race(start)
    assert {status for status, _ in results} == {201}, results
    assert len({body["id"] for _, body in results}) == 1
    assert len({body["intent"] for _, body in results}) == 1
    assert Payment.objects.count() == 1 and SandboxIntent.objects.count() == 1
    payment = Payment.objects.get()
    assert payment.amount == Decimal("25.00") and payment.intent_id and payment.redirect_url

    # Confirming every intent the buyer could have been shown charges RM 25, once.
    with django_capture_on_commit_callbacks(execute=True):
        for intent in SandboxIntent.objects.values_list("intent_id", flat=True):
            sandbox_confirm(intent_id=intent, succeed=True)
    stored = Order.objects.get(pk=order["id"])
    assert stored.status == "paid"
    assert _captured_net(stored) == Decimal("25.00")


@pytest.mark.django_db(transaction=True)
def test_parallel_payment_starts_through_the_service_open_one_payment(threaded_db):
    sku = make_sku(price="25.00", stock=5)
    buyer = UserFactory()
    checkout = services.order_place(buyer=buyer, items=[{"sku": sku.pk, "quantity": 1}], address=ADDRESS)
    order = checkout.orders.get()

    def start(i):
        return services.payment_start(buyer=buyer, order_ids=[order.pk], return_url=f"/orders/{order.pk}/").pk

    assert len(set(_race(start))) == 1
    assert Payment.objects.count() == 1 and SandboxIntent.objects.count() == 1
    assert (
        Payment.objects.filter(orders=order, status__in=["requires_confirmation", "processing"]).count() == 1
    )


@pytest.mark.django_db
def test_a_stale_second_capture_is_refunded_from_that_payment_and_recorded(
    user, api_for, staff_user, django_capture_on_commit_callbacks
):
    """A second intent for an already paid order (made before this fix, or by a provider that captured twice):
    its capture goes back in full, the order stays paid by the first payment, and everyone can see it."""
    sku = make_sku(price="25.00", stock=5)
    client = api_for(user)
    order = buy(client, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    first = post(client, "/api/v1/payments", {"orders": [order["id"]]}).json()
    stored = Order.objects.get(pk=order["id"])
    # The stale intent, opened the way the old code did (a second payment row for the same order).
    gateway_intent = SandboxIntent.objects.create(
        intent_id="pi_sbx_stale", reference="stale", amount=Decimal("25.00"), currency="MYR", return_url="/"
    )
    stale = Payment.objects.create(
        buyer=user, gateway="sandbox", intent_id=gateway_intent.intent_id, amount=Decimal("25.00")
    )
    stale.orders.set([stored])

    with django_capture_on_commit_callbacks(execute=True):
        sandbox_confirm(intent_id=first["intent"], succeed=True)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_confirm(intent_id="pi_sbx_stale", succeed=True)

    stored.refresh_from_db()
    assert stored.status == "paid" and stored.needs_review
    assert Payment.objects.get(pk=stale.pk).status == "succeeded"
    refund = Refund.objects.get(order=stored)
    assert (refund.payment_id, refund.reason, refund.status, refund.amount) == (
        stale.pk,
        "duplicate_payment",
        "succeeded",
        Decimal("25.00"),
    )
    assert SandboxIntent.objects.get(intent_id="pi_sbx_stale").refunded == Decimal("25.00")
    assert SandboxIntent.objects.get(intent_id=first["intent"]).refunded == Decimal("0.00")
    assert _captured_net(stored) == Decimal("25.00")

    # The buyer sees it on the order page, and staff in the admin's refunds.
    web = Client()
    web.force_login(user)
    page = web.get(f"/orders/{stored.pk}/")
    assert page.status_code == 200 and b'data-testid="refund-info"' in page.content
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    admin = Client()
    admin.force_login(staff_user)
    listing = admin.get("/admin/orders/refund/")
    assert listing.status_code == 200 and b"Paid twice" in listing.content

    # Cancelling the paid order afterwards refunds the payment that paid it — RM 25 more, RM 50 in all.
    with django_capture_on_commit_callbacks(execute=True):
        r = post(client, f"/api/v1/orders/{stored.pk}/cancel", {"reason": "changed my mind"})
    assert r.status_code == 200, r.content
    assert SandboxIntent.objects.get(intent_id=first["intent"]).refunded == Decimal("25.00")
    assert _captured_net(Order.objects.get(pk=stored.pk)) == Decimal("0.00")


@pytest.mark.django_db
def test_paying_again_while_a_payment_is_open_reuses_it_and_after_payment_is_refused(user, api_for):
    sku = make_sku(price="25.00", stock=5)
    client = api_for(user)
    order = buy(client, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    first = post(client, "/api/v1/payments", {"orders": [order["id"]]}).json()
    for _ in range(3):
        again = post(client, "/api/v1/payments", {"orders": [order["id"]]})
        assert again.status_code == 201 and again.json()["intent"] == first["intent"]
    assert Payment.objects.count() == 1
    Payment.objects.update(status="succeeded")
    Order.objects.update(status="paid")
    r = post(client, "/api/v1/payments", {"orders": [order["id"]]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_payable"
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_provider_outage_answers_502_and_leaves_the_order_payable(user, api_for, monkeypatch):
    from meadow.orders.gateway import GatewayError, SandboxGateway

    sku = make_sku(price="25.00", stock=5)
    client = api_for(user)
    order = buy(client, [{"sku": sku.pk, "quantity": 1}]).json()["orders"][0]
    real = SandboxGateway.create_intent

    def down(self, **kwargs):
        raise GatewayError("provider unreachable")

    monkeypatch.setattr(SandboxGateway, "create_intent", down)
    r = post(client, "/api/v1/payments", {"orders": [order["id"]]})
    assert r.status_code == 502 and r.json()["error"]["code"] == "payment_unavailable"
    assert r.json()["error"]["message"]
    assert Payment.objects.get().status == "failed" and not SandboxIntent.objects.exists()
    assert Order.objects.get(pk=order["id"]).status == "pending_payment"
    assert client.get(f"/api/v1/payments/{Payment.objects.get().pk}").json()["intent"] == ""

    monkeypatch.setattr(SandboxGateway, "create_intent", real)
    r = post(client, "/api/v1/payments", {"orders": [order["id"]]})
    assert r.status_code == 201 and r.json()["intent"].startswith("pi_sbx_")
    assert Payment.objects.filter(status="requires_confirmation").count() == 1

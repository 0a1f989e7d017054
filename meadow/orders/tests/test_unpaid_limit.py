"""Stock cannot be locked up by one account: the units a buyer holds in unpaid orders are capped per SKU
(``MEADOW_UNPAID_MAX_UNITS_PER_SKU``) and in total (``MEADOW_UNPAID_MAX_UNITS``), on the API and the web
checkout, and parallel checkouts by one buyer cannot together pass the cap (threads on the suite's database:
SQLite by default, PostgreSQL with MEADOW_TEST_POSTGRES=1)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from meadow.orders.models import Order, OrderLine
from meadow.orders.tests.factories import ADDRESS, make_sku
from meadow.orders.tests.test_checkout import buy, post
from meadow.store.models import Sku
from tests.factories import UserFactory


@pytest.fixture
def caps(settings):
    settings.MEADOW_UNPAID_MAX_UNITS_PER_SKU = 3
    settings.MEADOW_UNPAID_MAX_UNITS = 5
    return settings


def _held(buyer) -> int:
    return sum(
        OrderLine.objects.filter(order__buyer=buyer, order__status="pending_payment").values_list(
            "quantity", flat=True
        )
    )


@pytest.mark.django_db
def test_the_api_caps_unpaid_units_per_sku_and_in_total(caps, user, api_for, shop):
    client = api_for(user)
    a, b, c = (make_sku(shop=shop, stock=50, name=n) for n in ("A", "B", "C"))
    assert buy(client, [{"sku": a.pk, "quantity": 2}]).status_code == 201

    r = buy(client, [{"sku": a.pk, "quantity": 2}])  # 2 + 2 > 3 of one SKU
    assert r.status_code == 409
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("unpaid_limit", "items")
    assert "A (Batik tote)" in error["message"] and "3" in error["message"]
    a.refresh_from_db()
    assert a.stock == 48 and Order.objects.count() == 1  # nothing more reserved, nothing lost

    assert buy(client, [{"sku": b.pk, "quantity": 3}]).status_code == 201  # 5 units held in all
    r = buy(client, [{"sku": c.pk, "quantity": 1}])
    assert r.status_code == 409 and r.json()["error"]["code"] == "unpaid_limit"
    assert "5" in r.json()["error"]["message"]
    c.refresh_from_db()
    assert c.stock == 50 and Order.objects.count() == 2 and _held(user) == 5

    # Another buyer is not affected.
    assert buy(api_for(UserFactory()), [{"sku": c.pk, "quantity": 3}]).status_code == 201

    # Cancelling an unpaid order frees its share of the cap.
    first = Order.objects.filter(buyer=user).order_by("pk").first()
    assert post(client, f"/api/v1/orders/{first.pk}/cancel", {}).status_code == 200
    assert buy(client, [{"sku": c.pk, "quantity": 2}]).status_code == 201
    assert _held(user) == 5


@pytest.mark.django_db
def test_overdue_orders_do_not_count_and_are_released(caps, user, api_for, sku):
    client = api_for(user)
    assert buy(client, [{"sku": sku.pk, "quantity": 3}]).status_code == 201
    Order.objects.update(payment_due_at=timezone.now() - timedelta(minutes=1))
    r = buy(client, [{"sku": sku.pk, "quantity": 3}])
    assert r.status_code == 201, r.content
    assert Order.objects.filter(status="cancelled", cancel_reason="payment_timeout").count() == 1
    sku.refresh_from_db()
    assert sku.stock == 7  # the overdue order's units went back before the new ones were taken


@pytest.mark.django_db
def test_the_error_is_translated(caps, user, api_for, sku):
    client = api_for(user)
    assert buy(client, [{"sku": sku.pk, "quantity": 3}]).status_code == 201
    messages = set()
    for language in ("en", "ms", "zh-hans"):
        r = client.post(
            "/api/v1/orders",
            json.dumps({"items": [{"sku": sku.pk, "quantity": 1}], "address": ADDRESS}),
            content_type="application/json",
            headers={"Accept-Language": language},
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "unpaid_limit"
        messages.add(r.json()["error"]["message"])
    assert len(messages) == 3
    with translation.override("zh-hans"):
        assert any("付款" in m for m in messages)


@pytest.mark.django_db
def test_the_web_checkout_and_buy_now_show_the_limit(caps, user, sku):
    client = Client()
    client.force_login(user)
    form = {"sku": sku.pk, "quantity": 3, "address": "new", **ADDRESS}
    assert client.post(reverse("web:checkout"), form).status_code == 302
    r = client.post(reverse("web:checkout"), {**form, "quantity": 1, "address": "new"})
    assert r.status_code == 400
    assert "waiting for payment" in r.content.decode()
    assert Order.objects.count() == 1
    sku.refresh_from_db()
    assert sku.stock == 7


@pytest.mark.django_db(transaction=True)
def test_parallel_checkouts_by_one_buyer_cannot_pass_the_cap(threaded_db, settings, api_for):
    settings.MEADOW_UNPAID_MAX_UNITS_PER_SKU = 5
    settings.MEADOW_UNPAID_MAX_UNITS = 7
    sku = make_sku(stock=100)
    other = make_sku(stock=100, name="Other")
    buyer = UserFactory()
    client = api_for(buyer)
    n = 20
    start = threading.Barrier(n)

    def checkout(i):
        try:
            start.wait(timeout=30)
            items = [{"sku": sku.pk if i % 2 else other.pk, "quantity": 1}]
            r = client.post(
                "/api/v1/orders",
                json.dumps({"items": items, "address": ADDRESS}),
                content_type="application/json",
                headers={"Idempotency-Key": f"k-{i}"},
            )
            return r.status_code, r.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(checkout, range(n)))
    created = [body for status, body in results if status == 201]
    refused = [body for status, body in results if status == 409]
    assert len(created) == 7 and len(refused) == 13, results
    assert {b["error"]["code"] for b in refused} == {"unpaid_limit"}
    assert _held(buyer) == 7
    per_sku = {
        s.pk: OrderLine.objects.filter(sku=s, order__status="pending_payment").count() for s in (sku, other)
    }
    assert max(per_sku.values()) <= 5
    assert sum(100 - s.stock for s in Sku.objects.filter(pk__in=[sku.pk, other.pk])) == 7

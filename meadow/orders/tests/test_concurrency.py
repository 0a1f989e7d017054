"""No overselling under real concurrency (PostgreSQL): 100 checkouts race for the last 3 units.

SQLite serialises every writer (one database lock), so this race can only be shown on PostgreSQL, where row locks
and conditional UPDATEs do the work; CI runs the suite with MEADOW_TEST_POSTGRES=1. The threads go through the
public API, each with its own database connection; at most ``MEADOW_TEST_CHECKOUT_THREADS`` (default 30) run at
the same moment so the suite stays within PostgreSQL's default 100 connections while other tests run."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from meadow.orders.models import Order, Payment
from meadow.orders.services import sandbox_confirm
from meadow.orders.tests.factories import ADDRESS, make_sku
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("MEADOW_TEST_POSTGRES"),
        reason="needs PostgreSQL row locks for real concurrency (SQLite serialises writers); CI runs it on PG",
    ),
]

THREADS = int(os.environ.get("MEADOW_TEST_CHECKOUT_THREADS", "30"))


def _checkout(client, sku_id: int, key: str, start: threading.Barrier | None):
    try:
        if start is not None:
            start.wait(timeout=30)
        r = client.post(
            "/api/v1/orders",
            json.dumps({"items": [{"sku": sku_id, "quantity": 1}], "address": ADDRESS}),
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )
        return r.status_code, r.json()
    finally:
        connections.close_all()


def test_100_concurrent_checkouts_for_the_last_3_units(api_for, django_capture_on_commit_callbacks):
    assert connection.vendor == "postgresql"
    sku = make_sku(stock=3, name="Last three")
    buyers = [UserFactory() for _ in range(100)]
    clients = [api_for(b) for b in buyers]
    start = threading.Barrier(min(THREADS, 100))
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(_checkout, c, sku.pk, f"k-{i}", start if i < THREADS else None)
            for i, c in enumerate(clients)
        ]
        results = [f.result() for f in futures]

    created = [body for status, body in results if status == 201]
    sold_out = [body for status, body in results if status == 409]
    assert len(created) == 3
    assert len(sold_out) == 97
    assert {b["error"]["code"] for b in sold_out} == {"sold_out"}
    assert all("Last three" in b["error"]["message"] for b in sold_out)
    sku.refresh_from_db()
    assert sku.stock == 0
    assert Order.objects.count() == 3

    # The three winners pay; the webhook (delivered inline after commit) marks exactly those three paid.
    winners = {o["orders"][0]["buyer"]: o["orders"][0]["id"] for o in created}
    for buyer, client in zip(buyers, clients, strict=True):
        if buyer.handle not in winners:
            continue
        payment = client.post(
            "/api/v1/payments",
            json.dumps({"orders": [winners[buyer.handle]]}),
            content_type="application/json",
        ).json()
        sandbox_confirm(intent_id=payment["intent"], succeed=True)
    assert Order.objects.filter(status="paid").count() == 3
    assert Payment.objects.filter(status="succeeded").count() == 3
    sku.refresh_from_db()
    assert sku.stock == 0


def test_concurrent_retries_with_one_idempotency_key_make_one_order(api_for):
    sku = make_sku(stock=50)
    client = api_for(UserFactory())
    workers = min(THREADS, 10)
    start = threading.Barrier(workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda _: _checkout(client, sku.pk, "one-key", start), range(workers)))
    statuses = [status for status, _body in results]
    assert set(statuses) <= {201, 409}
    ids = {body["checkout"] for status, body in results if status == 201}
    assert len(ids) == 1
    assert Order.objects.count() == 1
    sku.refresh_from_db()
    assert sku.stock == 49

"""Spend never passes the daily budget, the total budget or the balance under real concurrency: 60 clicks, 50 at
the same moment, each thread through the public API with its own database connection. On PostgreSQL (row locks,
conditional UPDATEs re-checked on the new row) with MEADOW_TEST_POSTGRES=1, and on SQLite (a file database with the
project's settings, as ``make run`` uses) otherwise."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from meadow.ads.models import AdAccount, Campaign, CampaignDay, Impression, LedgerEntry
from meadow.ads.services import impression_token, reconcile
from meadow.ads.tests.conftest import active_campaign, fund
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLICKS = 60
THREADS = 50


def _click(client: Client, token: str, start: threading.Barrier | None):
    try:
        if start is not None:
            start.wait(timeout=60)
        r = client.post("/api/v1/ads/clicks", json.dumps({"token": token}), content_type="application/json")
        return r.status_code, r.json()
    finally:
        connections.close_all()


@pytest.mark.parametrize(
    ("daily", "total", "balance", "limit"),
    [
        ("20.00", "30.00", "25.00", "20.00"),
        ("30.00", "12.00", "25.00", "12.00"),
        ("30.00", "30.00", "15.00", "15.00"),
    ],
    ids=["daily", "total", "balance"],
)
def test_concurrent_clicks_never_overspend(threaded_db, api_for, daily, total, balance, limit):
    advertiser = UserFactory(is_verified_enterprise=True)
    fund(advertiser, balance)
    campaign = active_campaign(advertiser, bid="1.00", daily=daily, total=total)
    readers = [UserFactory() for _ in range(CLICKS)]
    tokens = [
        impression_token(
            Impression.objects.create(
                campaign=campaign, reader=r, surface="discover", slot=0, price=Decimal("1.00")
            )
        )
        for r in readers
    ]
    clients = [api_for(r) for r in readers]
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(_click, c, t, start if i < THREADS else None)
            for i, (c, t) in enumerate(zip(clients, tokens, strict=True))
        ]
        results = [f.result() for f in futures]

    assert {status for status, _body in results} == {200}
    charged = [body for _s, body in results if body["charged"]]
    assert len(charged) == int(Decimal(limit))  # every click that fits is charged, and not one more
    campaign.refresh_from_db()
    day = CampaignDay.objects.get(campaign=campaign)
    account = AdAccount.objects.get(user=advertiser)
    assert campaign.spent == Decimal(limit) and day.spent == Decimal(limit)
    assert campaign.spent <= campaign.total_budget and day.spent <= campaign.daily_budget
    assert account.balance == Decimal(balance) - Decimal(limit) >= 0
    assert campaign.clicks == CLICKS and day.clicks == CLICKS
    assert LedgerEntry.objects.filter(kind="charge").count() == len(charged)
    assert reconcile() == []
    # the same tokens again, concurrently: nothing more is charged
    with ThreadPoolExecutor(max_workers=10) as pool:
        again = list(
            pool.map(lambda ct: _click(ct[0], ct[1], None), zip(clients[:20], tokens[:20], strict=True))
        )
    assert all(body == {"charged": False, "amount": "0.00"} for _s, body in again)
    assert Campaign.objects.get(pk=campaign.pk).spent == Decimal(limit)

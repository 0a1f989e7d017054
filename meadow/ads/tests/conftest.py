from __future__ import annotations

import json
from decimal import Decimal

import pytest

from meadow.ads.models import AdAccount, Campaign, LedgerEntry
from meadow.notes.tests.factories import NoteFactory
from meadow.orders.tests.conftest import threaded_db  # noqa: F401  (a fixture, shared)
from tests.factories import UserFactory


def post(client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


def fund(user, amount: str = "100.00") -> AdAccount:
    """Credit a balance as a paid top-up would (ledger entry and balance together)."""
    from meadow.ads.services import _credit, account_for

    account = account_for(user)
    n = LedgerEntry.objects.count()
    _credit(account_id=account.pk, kind=LedgerEntry.Kind.TOPUP, amount=Decimal(amount), reference=f"test:{n}")
    account.refresh_from_db()
    return account


def active_campaign(
    advertiser=None, *, bid="1.00", daily="50.00", total="100.00", targeting=None, **kw
) -> Campaign:
    from meadow.ads.services import account_for

    advertiser = advertiser or UserFactory(is_verified_enterprise=True)
    note = kw.pop("note", None) or NoteFactory(
        author=advertiser, title="Batik tote sale", body="Handmade in Penang."
    )
    return Campaign.objects.create(
        account=account_for(advertiser),
        name=kw.pop("name", "Spring"),
        objective="reads",
        note=note,
        bid=Decimal(bid),
        daily_budget=Decimal(daily),
        total_budget=Decimal(total),
        targeting=targeting or {},
        status=Campaign.Status.ACTIVE,
        **kw,
    )


@pytest.fixture
def advertiser(db):
    return UserFactory(is_verified_enterprise=True)

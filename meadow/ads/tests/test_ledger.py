"""Top-ups through the orders' sandbox gateway and webhook, the balance, and the ledger's reconciliation."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from meadow.ads.models import AdAccount, LedgerEntry, TopUp
from meadow.ads.services import click_charge, refund_credit
from meadow.ads.tests.conftest import active_campaign, fund, post
from meadow.orders.services import sandbox_confirm
from meadow.orders.tasks import sandbox_webhook_deliver

pytestmark = pytest.mark.django_db


def _pay(topup_id: int, capture, *, succeed: bool = True) -> None:
    intent = TopUp.objects.get(pk=topup_id).intent_id
    with capture(execute=True):
        assert sandbox_confirm(intent_id=intent, succeed=succeed)


def test_topup_paid_through_the_gateway_grows_the_balance_once(
    user, api_for, django_capture_on_commit_callbacks
):
    api = api_for(user)
    r = post(api, "/api/v1/ads/topups", {"amount": "25.50"})
    assert r.status_code == 201, r.content
    body = r.json()
    topup = TopUp.objects.get(pk=body["id"])
    assert body["pay_url"] == f"/pay/sandbox/{topup.intent_id}/"
    assert api.get("/api/v1/ads/balance").json() == {"balance": "0.00", "currency": "MYR"}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sandbox_confirm(intent_id=topup.intent_id, succeed=True)
    for cb in callbacks:
        cb()  # deliver processing then succeeded
    assert api.get("/api/v1/ads/balance").json() == {"balance": "25.50", "currency": "MYR"}
    # the provider delivers the succeeded event again (a new event id): the ledger entry is unique per top-up
    from meadow.orders.gateway import SandboxGateway

    event = SandboxGateway.event_payload(
        TopUp.objects.get(pk=topup.pk), "payment.succeeded", created=int(time.time())
    )
    assert sandbox_webhook_deliver(event) == "stale"
    assert api.get("/api/v1/ads/balance").json()["balance"] == "25.50"
    assert LedgerEntry.objects.filter(kind="topup").count() == 1


def test_failed_topup_adds_nothing(user, api_for, django_capture_on_commit_callbacks):
    api = api_for(user)
    topup = post(api, "/api/v1/ads/topups", {"amount": 10}).json()
    _pay(topup["id"], django_capture_on_commit_callbacks, succeed=False)
    assert TopUp.objects.get(pk=topup["id"]).status == "failed"
    assert api.get("/api/v1/ads/balance").json()["balance"] == "0.00"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("9.99", "amount_too_small"),
        ("10.001", None),
        ("abc", None),
        ("100000.01", "amount_too_large"),
        (10.5, None),
    ],
)
def test_bad_topup_amounts_are_400_with_a_code(user, api_for, amount, code):
    r = post(api_for(user), "/api/v1/ads/topups", {"amount": amount})
    assert r.status_code == 400
    if code:
        assert r.json()["error"]["code"] == code
    assert TopUp.objects.count() == 0


def test_topup_needs_an_account(anon):
    assert post(anon, "/api/v1/ads/topups", {"amount": "10.00"}).status_code == 401


def test_reconcile_holds_through_topups_charges_refunds_and_finds_a_tampered_balance(advertiser, capsys):
    account = fund(advertiser, "20.00")
    campaign = active_campaign(advertiser, bid="1.00")
    from meadow.ads.services import ads_serve
    from tests.factories import UserFactory

    reader = UserFactory()
    served = ads_serve(reader_user=reader, surface="discover", slots=1)
    assert len(served) == 1
    charged, amount = click_charge(token=served[0].token, reader_user=reader)
    assert charged and amount == Decimal("0.10")
    refund_credit(account=account, amount=Decimal("0.10"), reference="test-refund", campaign=campaign)
    account.refresh_from_db()
    assert account.balance == Decimal("20.00")
    call_command("ads_reconcile")
    assert "difference 0.00" in capsys.readouterr().out

    AdAccount.objects.filter(pk=account.pk).update(balance=Decimal("21.00"))
    with pytest.raises(CommandError):
        call_command("ads_reconcile")
    assert "difference 1.00" in capsys.readouterr().err

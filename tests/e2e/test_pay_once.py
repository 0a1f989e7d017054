"""A double click on the order page's "Pay now" opens one payment: the button disables itself after the first
submit (a static script, no inline JS), and the server holds the promise on its own — two parallel form posts
that bypass the script still make one payment and one intent at the provider."""

from __future__ import annotations

import pytest
from django.db import connection
from playwright.sync_api import expect

from meadow.orders.models import Payment, SandboxIntent
from meadow.orders.services import order_place
from meadow.orders.tests.factories import ADDRESS, make_sku
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_double_click_on_pay_opens_one_payment(page, live_server):
    v = page.viewport_name
    buyer = UserFactory(handle=f"payer_{v}")
    sku = make_sku(price="25.00", stock=5)
    order = order_place(buyer=buyer, items=[{"sku": sku.pk, "quantity": 1}], address=ADDRESS).orders.get()

    login(page, live_server, buyer.handle)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    # The page's static script lets the first submit through and stops a second one, and disables the button.
    prevented = page.evaluate(
        """async () => {
            const form = document.querySelector('[data-testid="pay"]').form;
            const seen = [];
            document.addEventListener("submit", (e) => { seen.push(e.defaultPrevented); e.preventDefault(); });
            for (let i = 0; i < 2; i++) form.dispatchEvent(new Event("submit", {bubbles: true, cancelable: true}));
            await new Promise((resolve) => setTimeout(resolve, 50));
            return seen;
        }"""
    )
    assert prevented == [False, True]
    expect(page.get_by_test_id("pay")).to_be_disabled()

    page.reload()
    page.get_by_test_id("pay").dblclick()
    expect(page.get_by_test_id("sandbox-pay")).to_be_visible()
    assert Payment.objects.filter(orders=order).count() == 1
    assert SandboxIntent.objects.count() == 1
    first = Payment.objects.get()

    # Without the script's help: ten posts of the Pay form. On PostgreSQL they go at the same moment; the test
    # live server on SQLite shares one in-memory connection between its threads (not how `make run` works), so
    # there they go back to back — the threaded tests in meadow/orders/tests/test_payment_once.py race them on
    # a real SQLite file.
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("pay")).to_be_enabled()
    locations = page.evaluate(
        """async (parallel) => {
            const form = document.querySelector('[data-testid="pay"]').form;
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
            const answers = [];
            if (parallel) answers.push(...(await Promise.all(Array.from({length: 10}, send))));
            else for (let i = 0; i < 10; i++) answers.push(await send());
            return answers.map((r) => r.type);
        }""",
        connection.vendor == "postgresql",
    )
    assert locations == ["opaqueredirect"] * 10  # each was sent to the provider's page …
    assert Payment.objects.count() == 1 and SandboxIntent.objects.count() == 1  # … of the same intent
    assert Payment.objects.get().intent_id == first.intent_id

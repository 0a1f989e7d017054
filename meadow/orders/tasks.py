"""Background work of orders and payments. Every task is idempotent and safe to run twice or late."""

from __future__ import annotations

import json
from typing import Any

from celery import shared_task


@shared_task(name="meadow.orders.tasks.orders_expire_unpaid")
def orders_expire_unpaid() -> int:
    """Beat (every minute): cancel unpaid orders past ``MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES``, release stock."""
    from meadow.orders.services import orders_expire_overdue

    return orders_expire_overdue()


@shared_task(name="meadow.orders.tasks.refund_process")
def refund_process(refund_id: int) -> str:
    from meadow.orders.services import refund_process as process

    return process(refund_id=refund_id)


@shared_task(name="meadow.orders.tasks.sandbox_webhook_deliver")
def sandbox_webhook_deliver(event: dict[str, Any]) -> str:
    """The sandbox provider delivering one webhook event: signed at delivery time (as real providers sign each
    attempt) and handed to the same receiver as ``POST /api/v1/payments/webhook``. Being a task, it may run
    late, twice, or after a later event — the receiver copes with all three."""
    from meadow.orders.gateway import SIGNATURE_HEADER, sign
    from meadow.orders.services import payment_webhook_receive

    body = json.dumps(event, separators=(",", ":")).encode()
    return payment_webhook_receive(body=body, headers={SIGNATURE_HEADER: sign(body)})


@shared_task(name="meadow.orders.tasks.idempotency_purge")
def idempotency_purge() -> int:
    from meadow.orders.services import idempotency_purge as purge

    return purge()

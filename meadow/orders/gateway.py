"""Payment gateways. Meadow talks to a payment provider only through ``PaymentGateway``; the provider is chosen by
``MEADOW_PAYMENT_GATEWAY`` (a dotted path; the sandbox by default).

``SandboxGateway`` behaves like a real provider (Stripe, Billplz, iPay88 work the same way):

* ``create_intent`` returns a payment intent id and the URL of a hosted confirmation page
  (``/pay/sandbox/<intent>/``) where the buyer chooses *Pay* or *Fail*, like Stripe's test page;
* the outcome reaches Meadow only as webhook events (``payment.processing``, then ``payment.succeeded`` or
  ``payment.failed``), signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` with
  ``MEADOW_SANDBOX_WEBHOOK_SECRET`` and sent in the ``Meadow-Signature: t=<unix>,v1=<hex>`` header; an event
  older than the tolerance window is refused, so a captured request cannot be replayed later;
* delivery is a background task: it may arrive late, twice, or out of order, and Meadow must cope;
* ``refund`` gives money back (idempotent by the caller's key, never more than was paid).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from meadow.core.secrets import derived_secret

SIGNATURE_HEADER = "Meadow-Signature"


class WebhookInvalid(Exception):
    """The webhook's signature, timestamp or body is not acceptable; nothing may change."""


class GatewayError(Exception):
    """The provider refused an operation (e.g. a refund over the amount paid)."""


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: str
    amount: Decimal
    currency: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str  # payment.processing | payment.succeeded | payment.failed
    intent_id: str
    amount: Decimal
    currency: str
    created: int  # unix seconds at the provider
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    id: str
    amount: Decimal
    status: str  # succeeded | failed


class PaymentGateway(ABC):
    name: str = ""

    @abstractmethod
    def create_intent(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        return_url: str,
        idempotency_key: str,
        expires_at: datetime | None = None,
    ) -> Intent:
        """Create (or, for a repeated ``idempotency_key``, return) an intent to collect ``amount``; the buyer
        cannot confirm it after ``expires_at``."""

    def cancel_intent(self, *, intent_id: str) -> bool:
        """Cancel an intent the buyer has not confirmed yet, so its hosted page refuses to take the money (the
        order was cancelled or expired). Returns whether it was cancelled. A provider that cannot cancel keeps
        this default: the automatic refund of a capture for an order that is no longer payable is the backstop."""
        return False

    @abstractmethod
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Check the signature and age of a webhook delivery and parse it; raise ``WebhookInvalid`` if not."""

    @abstractmethod
    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        """Give ``amount`` of a succeeded intent back (idempotent by ``idempotency_key``)."""


def webhook_secret() -> bytes:
    """``MEADOW_SANDBOX_WEBHOOK_SECRET`` when set; in production, derived from ``SECRET_KEY`` (secret there, and
    shared by every host); elsewhere derived from the per-instance secret under ``MEADOW_DATA_DIR``
    (``meadow.core.secrets``) — never from the development ``SECRET_KEY``, which is published."""
    configured = getattr(settings, "MEADOW_SANDBOX_WEBHOOK_SECRET", "")
    if configured:
        return configured.encode()
    if getattr(settings, "PRODUCTION", False):
        key = settings.SECRET_KEY.encode()
        return hmac.new(key, b"meadow.sandbox.webhook", hashlib.sha256).hexdigest().encode()
    return derived_secret("meadow.sandbox.webhook")


def sign(body: bytes, *, timestamp: int | None = None, secret: bytes | None = None) -> str:
    """The signature header value for ``body`` (``t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``)."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret or webhook_secret(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def create_intent(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        return_url: str,
        idempotency_key: str,
        expires_at: datetime | None = None,
    ) -> Intent:
        from meadow.orders.models import SandboxIntent

        if amount <= 0:
            raise GatewayError("amount must be positive")
        from meadow.core.redirects import local_path

        if local_path(return_url) is None:  # a provider only sends buyers back to the merchant's own site
            raise GatewayError("return_url must be a path on the merchant's site")
        intent_id = "pi_sbx_" + secrets.token_hex(12)
        ref = hashlib.sha256(f"{reference}|{idempotency_key}".encode()).hexdigest()
        found = SandboxIntent.objects.filter(reference=ref).first()
        if found is None:
            try:
                with transaction.atomic():
                    found = SandboxIntent.objects.create(
                        intent_id=intent_id,
                        reference=ref,
                        amount=amount,
                        currency=currency,
                        return_url=return_url,
                        expires_at=expires_at,
                    )
            except IntegrityError:
                found = SandboxIntent.objects.get(reference=ref)
        return self._intent(found)

    def _intent(self, row) -> Intent:
        return Intent(
            id=row.intent_id,
            status=row.status,
            amount=row.amount,
            currency=row.currency,
            redirect_url=reverse("web:sandbox_pay", args=[row.intent_id]),
        )

    def confirm(self, *, intent_id: str, succeed: bool) -> bool:
        """The buyer's choice on the hosted page. Changes the provider's state once (a second click changes
        nothing) and queues the webhook events; returns whether this call decided the intent."""
        from meadow.core.tasks import enqueue, task_by_name
        from meadow.orders.models import SandboxIntent

        # by name: the delivery task hands the event to orders.services, which imports this module
        deliver = task_by_name("meadow.orders.tasks.sandbox_webhook_deliver")
        outcome = SandboxIntent.Status.SUCCEEDED if succeed else SandboxIntent.Status.FAILED
        with transaction.atomic():
            changed = (
                SandboxIntent.objects.filter(
                    intent_id=intent_id, status=SandboxIntent.Status.REQUIRES_CONFIRMATION
                )
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
                .update(status=outcome)
            )
            if not changed:
                return False
            row = SandboxIntent.objects.get(intent_id=intent_id)
            now = int(time.time())
            for kind in ("payment.processing", "payment.succeeded" if succeed else "payment.failed"):
                enqueue(deliver, event=self.event_payload(row, kind, created=now))
        return True

    def cancel_intent(self, *, intent_id: str) -> bool:
        from meadow.orders.models import SandboxIntent

        return bool(
            SandboxIntent.objects.filter(
                intent_id=intent_id, status=SandboxIntent.Status.REQUIRES_CONFIRMATION
            ).update(status=SandboxIntent.Status.CANCELED)
        )

    @staticmethod
    def event_payload(row, kind: str, *, created: int) -> dict[str, Any]:
        return {
            "id": "evt_" + secrets.token_hex(12),
            "type": kind,
            "created": created,
            "data": {"intent": row.intent_id, "amount": str(row.amount), "currency": row.currency},
        }

    def intent_get(self, *, intent_id: str) -> Intent | None:
        from meadow.orders.models import SandboxIntent

        row = SandboxIntent.objects.filter(intent_id=intent_id).first()
        return self._intent(row) if row else None

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = _header(headers, SIGNATURE_HEADER)
        parts: dict[str, list[str]] = {}
        for item in header.split(","):
            key, sep, value = item.strip().partition("=")
            if sep:
                parts.setdefault(key, []).append(value)
        try:
            timestamp = int(parts["t"][0])
        except (KeyError, ValueError) as exc:
            raise WebhookInvalid("missing or malformed signature header") from exc
        tolerance = int(getattr(settings, "MEADOW_SANDBOX_WEBHOOK_TOLERANCE_SECONDS", 300))
        if abs(time.time() - timestamp) > tolerance:
            raise WebhookInvalid("timestamp outside the tolerance window")
        expected = hmac.new(webhook_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
            raise WebhookInvalid("signature does not match")
        try:
            raw = json.loads(body)
            data = raw["data"]
            return WebhookEvent(
                id=str(raw["id"]),
                type=str(raw["type"]),
                intent_id=str(data["intent"]),
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                created=int(raw["created"]),
                data=data,
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise WebhookInvalid("malformed event body") from exc

    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        from meadow.orders.models import SandboxIntent, SandboxRefund

        done = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            return RefundResult(id=done.refund_id, amount=done.amount, status="succeeded")
        with transaction.atomic():
            intent = SandboxIntent.objects.filter(intent_id=intent_id).first()
            if intent is None or intent.status != SandboxIntent.Status.SUCCEEDED or amount <= 0:
                raise GatewayError("nothing to refund on this intent")
            taken = SandboxIntent.objects.filter(pk=intent.pk, refunded__lte=F("amount") - amount).update(
                refunded=F("refunded") + amount
            )
            if not taken:
                raise GatewayError("refund exceeds the amount paid")
            row = SandboxRefund.objects.create(
                intent=intent,
                refund_id="re_sbx_" + secrets.token_hex(10),
                idempotency_key=idempotency_key,
                amount=amount,
            )
        return RefundResult(id=row.refund_id, amount=row.amount, status="succeeded")


@cache
def _gateway_class(path: str) -> type[PaymentGateway]:
    return import_string(path)


def get_gateway() -> PaymentGateway:
    path = getattr(settings, "MEADOW_PAYMENT_GATEWAY", "") or "meadow.orders.gateway.SandboxGateway"
    return _gateway_class(path)()

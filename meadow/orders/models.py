"""Cart, checkout, orders and payments: data and invariants only (rules live in services.py).

Money is ``Decimal`` in MYR, copied from the stored SKU prices at checkout time onto the order lines, so a later
price change never moves an order's totals. Stock itself lives on ``store.Sku.stock``; an order holds its
reservation (the units it took off ``stock``) until it is paid, or gives them back when it is cancelled/expires.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MalaysianState(models.TextChoices):
    JOHOR = "JHR", "Johor"
    KEDAH = "KDH", "Kedah"
    KELANTAN = "KTN", "Kelantan"
    MELAKA = "MLK", "Melaka"
    NEGERI_SEMBILAN = "NSN", "Negeri Sembilan"
    PAHANG = "PHG", "Pahang"
    PERAK = "PRK", "Perak"
    PERLIS = "PLS", "Perlis"
    PULAU_PINANG = "PNG", "Pulau Pinang"
    SABAH = "SBH", "Sabah"
    SARAWAK = "SWK", "Sarawak"
    SELANGOR = "SGR", "Selangor"
    TERENGGANU = "TRG", "Terengganu"
    KUALA_LUMPUR = "KUL", "W.P. Kuala Lumpur"
    LABUAN = "LBN", "W.P. Labuan"
    PUTRAJAYA = "PJY", "W.P. Putrajaya"


class Address(models.Model):
    """One entry of a person's shipping address book (Malaysian format: 5-digit postcode, state)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    recipient_name = models.CharField(_("recipient"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20)  # E.164, validated with phonenumbers
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=5)
    city = models.CharField(_("city"), max_length=100)
    state = models.CharField(_("state"), max_length=3, choices=MalaysianState.choices)
    country = models.CharField(max_length=2, default="MY")
    is_default = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)  # deleted from the book; kept for nothing else
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="orders_addr_user")]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default=True, is_archived=False),
                name="orders_addr_one_default",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_name}, {self.postcode} {self.city}"

    def snapshot(self) -> dict[str, str]:
        return {
            "recipient_name": self.recipient_name,
            "phone": self.phone,
            "line1": self.line1,
            "line2": self.line2,
            "postcode": self.postcode,
            "city": self.city,
            "state": self.state,
            "country": self.country,
        }


class CartItem(models.Model):
    """A SKU in a person's cart (one cart per user; items may come from several shops)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items")
    sku = models.ForeignKey("store.Sku", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    # Set by selectors.cart_get for display, not stored.
    available: bool
    line_total: Decimal

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "sku"], name="orders_cart_one_row_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_cart_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.quantity} × sku {self.sku_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a request that carried an ``Idempotency-Key``: a repeat with the same key and body
    gets the same result; the same key with another body is refused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=20)  # "orders", "payments"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="orders_idem_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class Checkout(models.Model):
    """One checkout (a "Buy now" or a cart checkout): one order per shop, paid together."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkouts")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"checkout {self.pk}"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        PAID = "paid", pgettext_lazy("order status", "Paid")
        SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
        DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
        COMPLETED = "completed", pgettext_lazy("order status", "Completed")
        CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
        REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    shop = models.ForeignKey("store.Shop", on_delete=models.PROTECT, related_name="orders")
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    currency = models.CharField(max_length=3, default="MYR")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_address = models.JSONField()  # a snapshot: later edits of the address book do not move orders
    payment_due_at = models.DateTimeField()  # the stock reservation ends here if nothing was paid
    tracking_number = models.CharField(max_length=64, blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_by = models.CharField(max_length=10, blank=True)  # buyer, seller, system
    needs_review = models.BooleanField(default=False)  # money moved in a way a person should look at
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    viewer_role: str  # "buyer" or "seller", set by selectors.order_get_for_viewer

    class Meta:
        indexes = [
            models.Index(fields=["buyer", "-id"], name="orders_order_buyer"),
            models.Index(fields=["shop", "status", "-id"], name="orders_order_shop_status"),
            models.Index(fields=["status", "payment_due_at"], name="orders_order_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_total_nonneg"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("store.Sku", on_delete=models.SET_NULL, null=True, related_name="+")
    product_id_snapshot = models.BigIntegerField(null=True)
    product_title = models.CharField(max_length=200)
    sku_name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_positive"),
            models.CheckConstraint(condition=Q(line_total__gte=0), name="orders_line_total_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_name}"


class Payment(models.Model):
    """A payment intent at the gateway covering one or more orders of one buyer."""

    class Status(models.TextChoices):
        REQUIRES_CONFIRMATION = "requires_confirmation", _("Waiting for the buyer")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    orders = models.ManyToManyField(Order, related_name="payments")
    gateway = models.CharField(max_length=30)
    # Empty (NULL) only for the moment between opening the payment (under the orders' row locks) and the
    # gateway answering with its intent, which happens outside the lock.
    intent_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    redirect_url = models.CharField(max_length=500, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="MYR")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REQUIRES_CONFIRMATION)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.intent_id} ({self.status})"


class PaymentEvent(models.Model):
    """A verified gateway webhook event, stored once by its id: a duplicate or replay is recognised here."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=50)
    intent_id = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    outcome = models.CharField(max_length=50, blank=True)  # what applying it did
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Refund(models.Model):
    """Money given back for one order from one payment: at most one per (order, payment). An order is refunded
    in full or not at all by the payment that paid it; a second capture for an order that another payment had
    already paid (a stale intent confirmed late) is refunded from that second payment as ``duplicate_payment``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        CANCELLED = "cancelled", _("Order cancelled")
        REFUND_REQUEST = "refund_request", _("After-sales refund")
        LATE_PAYMENT = "late_payment", _("Paid after the order expired")
        DUPLICATE_PAYMENT = "duplicate_payment", _("Paid twice: the second payment is returned")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "payment"], name="orders_refund_once_per_payment"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} for order {self.order_id} ({self.status})"


class RefundRequest(models.Model):
    """An after-sales request by the buyer; the seller approves (refund through the gateway) or rejects."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the seller")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refund_requests")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-id"], name="orders_refundreq_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="orders_one_pending_refund_request"
            )
        ]

    def __str__(self) -> str:
        return f"refund request {self.pk} ({self.status})"


class SandboxIntent(models.Model):
    """The sandbox gateway's own books (what a real provider keeps on its side): the intent, its state as the
    provider sees it, and what has been refunded. Meadow's order code never reads this table."""

    class Status(models.TextChoices):
        REQUIRES_CONFIRMATION = "requires_confirmation", _("Waiting for the buyer")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Cancelled")

    intent_id = models.CharField(max_length=100, unique=True)
    reference = models.CharField(
        max_length=64, unique=True
    )  # sha256 of the caller's reference + idempotency key
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    return_url = models.CharField(max_length=500)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REQUIRES_CONFIRMATION)
    # After this the buyer can no longer confirm (the merchant's payment window closed), like a checkout
    # session's expiry at a real provider.
    expires_at = models.DateTimeField(null=True, blank=True)
    refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(refunded__lte=F("amount")), name="orders_sbx_refund_cap")
        ]

    def __str__(self) -> str:
        return self.intent_id


class SandboxRefund(models.Model):
    """A refund on the sandbox provider's side, keyed by the caller's idempotency key."""

    intent = models.ForeignKey(SandboxIntent, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=100, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id

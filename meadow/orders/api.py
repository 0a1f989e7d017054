"""Cart, addresses, checkout, orders and payments endpoints. Money is a decimal string ("12.50", MYR)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Header, Router, Schema, Status
from pydantic import ConfigDict, Field, StrictBool

from meadow.accounts.validation import PHONE_PATTERN
from meadow.core.errors import ValidationFailed
from meadow.core.http import ErrorOut, responses, token_or_session
from meadow.core.pagination import PageCursor, PageLimit, paginate_desc
from meadow.core.redirects import RETURN_PATH_PATTERN
from meadow.core.schema import NON_BLANK_PATTERN, JSONId, JSONInt, Limits, NonBlankText, Text
from meadow.orders import selectors, services
from meadow.orders.models import Address, CartItem, Checkout, MalaysianState, Order, Payment

router = Router(tags=["orders"], auth=token_or_session)

Id = JSONId
PathId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # larger ids would overflow the database
Quantity = Annotated[JSONInt, Limits(minimum=1, maximum=services.QUANTITY_MAX)]
QuantityOrZero = Annotated[JSONInt, Limits(minimum=0, maximum=services.QUANTITY_MAX)]  # 0 removes the item
IdemKey = Header(
    None, alias="Idempotency-Key", description="Repeat-safe key; a repeat returns the first result."
)


# --- schemas ---------------------------------------------------------------------------------------------------
# The service also takes a code or name in any letter case.
StateIn = Annotated[str, Limits(enum=tuple(MalaysianState.values) + tuple(map(str, MalaysianState.labels)))]
Postcode = Annotated[str, Limits(pattern=rf"^\s*[0-9]{{{services.POSTCODE_LENGTH}}}\s*$")]
# A Malaysian mobile number: the pattern the service checks (accounts' PHONE_PATTERN).
Phone = Annotated[str, Limits(max_length=services.ADDRESS_PHONE_MAX, pattern=PHONE_PATTERN)]


def _postcode_pattern(ranges: tuple[tuple[int, int], ...]) -> str:
    """The 5-digit postcodes of ``ranges`` (services.POSTCODE_RANGES: whole thousands, or whole hundreds) as a
    pattern of their leading digits, spaces around allowed as the service strips them."""
    alternatives = []
    for low, high in ranges:
        for width, unit in ((2, 1000), (3, 100)):
            if low % unit == 0 and high % unit == unit - 1:
                prefixes = "|".join(f"{k:0{width}d}" for k in range(low // unit, high // unit + 1))
                alternatives.append(f"(?:{prefixes})[0-9]{{{5 - width}}}")
                break
        else:  # pragma: no cover - a range not on a hundred: state it before relying on it
            raise ValueError(f"postcode range {low}-{high} is not on whole hundreds")
    return rf"^\s*(?:{'|'.join(alternatives)})\s*$"


# A postcode in its state's Pos Malaysia ranges (400 ``postcode_state_mismatch`` otherwise), one branch per state
# from services.POSTCODE_RANGES. The service also takes a state's code or name in any letter case; the schema
# states the canonical spellings.
POSTCODE_IN_STATE = [
    {
        "properties": {
            "state": {"enum": [code, str(MalaysianState(code).label)]},
            "postcode": {"type": "string", "pattern": _postcode_pattern(ranges)},
        },
        "required": ["state", "postcode"],
    }
    for code, ranges in services.POSTCODE_RANGES.items()
]


class AddressIn(Schema):
    model_config = ConfigDict(json_schema_extra={"anyOf": POSTCODE_IN_STATE})

    recipient_name: Annotated[NonBlankText, Limits(max_length=services.RECIPIENT_NAME_MAX)]
    phone: Phone
    line1: Annotated[NonBlankText, Limits(max_length=services.ADDRESS_LINE_MAX)]
    line2: Annotated[Text, Limits(max_length=services.ADDRESS_LINE_MAX)] = ""
    postcode: Postcode
    city: Annotated[NonBlankText, Limits(max_length=services.CITY_MAX)]
    state: StateIn = Field(description="A Malaysian state: code (e.g. SGR, KUL) or name")
    is_default: StrictBool = False


class AddressPatch(Schema):
    # The postcode and the state change together (each is checked against the other; 400 ``postcode_with_state``
    # for one alone), or neither.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"postcode": {"type": "null"}, "state": {"type": "null"}}},
                *POSTCODE_IN_STATE,
            ]
        }
    )

    recipient_name: Annotated[NonBlankText, Limits(max_length=services.RECIPIENT_NAME_MAX)] | None = None
    phone: Phone | None = None
    line1: Annotated[NonBlankText, Limits(max_length=services.ADDRESS_LINE_MAX)] | None = None
    line2: Annotated[Text, Limits(max_length=services.ADDRESS_LINE_MAX)] | None = None
    postcode: Postcode | None = None
    city: Annotated[NonBlankText, Limits(max_length=services.CITY_MAX)] | None = None
    state: StateIn | None = None
    is_default: StrictBool | None = None


class AddressOut(Schema):
    id: int
    recipient_name: str
    phone: str
    line1: str
    line2: str
    postcode: str
    city: str
    state: str
    country: str
    is_default: bool


class AddressList(Schema):
    items: list[AddressOut]
    next_cursor: PageCursor = None


class CartItemIn(Schema):
    sku: Id
    quantity: Quantity = 1


class CartQuantityIn(Schema):
    quantity: QuantityOrZero


class CartItemOut(Schema):
    sku: int
    sku_name: str
    product: int
    product_title: str
    image: str | None
    shop: int
    shop_name: str
    unit_price: str
    quantity: int
    line_total: str
    available: bool
    stock: int


class CartOut(Schema):
    items: list[CartItemOut]
    next_cursor: PageCursor = None
    total: str
    count: int


class LineIn(Schema):
    sku: Id
    quantity: Quantity


# Where the order goes: a new ``address`` or one of the book's (``address_id``), exactly one of the two.
ONE_ADDRESS = {
    "oneOf": [
        {
            "properties": {"address": {"type": "object"}, "address_id": {"type": "null"}},
            "required": ["address"],
        },
        {
            "properties": {"address": {"type": "null"}, "address_id": {"type": "integer"}},
            "required": ["address_id"],
        },
    ]
}


class OrderIn(Schema):
    model_config = ConfigDict(json_schema_extra=ONE_ADDRESS)

    items: list[LineIn] = Field(min_length=1, max_length=services.ORDER_ITEMS_MAX)
    address: AddressIn | None = None
    address_id: Id | None = None


class CartCheckoutIn(Schema):
    model_config = ConfigDict(json_schema_extra=ONE_ADDRESS)

    address: AddressIn | None = None
    address_id: Id | None = None
    skus: list[Id] | None = Field(
        default=None, max_length=services.CART_ITEMS_MAX, description="Only these SKUs of the cart"
    )


class LineOut(Schema):
    sku: int | None
    product: int | None
    product_title: str
    sku_name: str
    unit_price: str
    quantity: int
    line_total: str


class PartyOut(Schema):
    id: int
    name: str


class RefundRequestOut(Schema):
    id: int
    status: str
    reason: str
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None


class OrderRefundOut(Schema):
    """Money given back for the order, whoever started it: a cancellation, an after-sales refund, a payment that
    arrived after the order was cancelled or expired, or a second payment for a paid order."""

    amount: str
    reason: Literal["cancelled", "refund_request", "late_payment", "duplicate_payment"]
    status: Literal["pending", "succeeded", "failed"]
    created_at: datetime


class OrderOut(Schema):
    id: int
    status: str
    shop: PartyOut
    buyer: str
    currency: str
    subtotal: str
    shipping_fee: str
    total: str
    lines: list[LineOut]
    shipping_address: dict
    payment_due_at: datetime
    tracking_number: str
    carrier: str
    cancelled_by: str
    cancel_reason: str
    needs_review: bool
    refund_request: RefundRequestOut | None
    refunds: list[OrderRefundOut]
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None


class CheckoutOut(Schema):
    checkout: int
    orders: list[OrderOut]
    total: str
    currency: str


class OrderList(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class CancelIn(Schema):
    reason: Annotated[Text, Limits(max_length=services.CANCEL_REASON_MAX)] = ""


class ShipIn(Schema):
    tracking_number: Annotated[NonBlankText, Limits(max_length=services.SHIPPING_FIELD_MAX)]
    carrier: Annotated[NonBlankText, Limits(max_length=services.SHIPPING_FIELD_MAX)]


class RefundRequestIn(Schema):
    reason: Annotated[NonBlankText, Limits(max_length=services.REFUND_REASON_MAX)]


class RefundDecisionIn(Schema):
    # A refusal carries its reason (the buyer reads it): the rule between the two fields, stated in the schema.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"decision": {"const": "approve"}}},
                {"properties": {"reason": {"pattern": NON_BLANK_PATTERN}}, "required": ["reason"]},
            ]
        }
    )

    decision: Literal["approve", "reject"]
    reason: Annotated[Text, Limits(max_length=services.REFUND_REASON_MAX)] = Field(
        default="", description="Required to reject"
    )


class RefundRequestItem(RefundRequestOut):
    order: int
    buyer: str
    amount: str


class RefundRequestList(Schema):
    items: list[RefundRequestItem]
    next_cursor: str | None


class PaymentIn(Schema):
    orders: list[Id] = Field(
        min_length=1, max_length=50, json_schema_extra={"uniqueItems": True}
    )  # each once
    return_url: Annotated[str, Limits(pattern=RETURN_PATH_PATTERN)] | None = Field(
        default=None, max_length=500, description="A path on this site, e.g. /orders/"
    )


class PaymentOut(Schema):
    id: int
    intent: str
    gateway: str
    status: str
    amount: str
    currency: str
    redirect_url: str
    orders: list[int]
    refunded: str = Field(
        description="What has been given back from this payment (MYR), e.g. for an order cancelled before the"
        " capture landed: a captured payment's status stays succeeded, its refunds are counted here"
    )


class WebhookOut(Schema):
    received: bool
    outcome: str


# --- shaping ---------------------------------------------------------------------------------------------------
def _address(a: Address) -> dict:
    return {"id": a.pk, **a.snapshot(), "is_default": a.is_default}


def _order(o: Order) -> dict:
    requests = list(o.refund_requests.all())
    latest = requests[0] if requests else None
    return {
        "id": o.pk,
        "status": o.status,
        "shop": {"id": o.shop_id, "name": o.shop.name},
        "buyer": o.buyer.handle,
        "currency": o.currency,
        "subtotal": str(o.subtotal),
        "shipping_fee": str(o.shipping_fee),
        "total": str(o.total),
        "lines": [
            {
                "sku": line.sku_id,
                "product": line.product_id_snapshot,
                "product_title": line.product_title,
                "sku_name": line.sku_name,
                "unit_price": str(line.unit_price),
                "quantity": line.quantity,
                "line_total": str(line.line_total),
            }
            for line in o.lines.all()
        ],
        "shipping_address": o.shipping_address,
        "payment_due_at": o.payment_due_at,
        "tracking_number": o.tracking_number,
        "carrier": o.carrier,
        "cancelled_by": o.cancelled_by,
        "cancel_reason": o.cancel_reason,
        "needs_review": o.needs_review,
        "refund_request": None
        if latest is None
        else {
            "id": latest.pk,
            "status": latest.status,
            "reason": latest.reason,
            "decision_reason": latest.decision_reason,
            "created_at": latest.created_at,
            "decided_at": latest.decided_at,
        },
        "refunds": [
            {"amount": str(r.amount), "reason": r.reason, "status": r.status, "created_at": r.created_at}
            for r in o.refunds.all()
        ],
        "created_at": o.created_at,
        "paid_at": o.paid_at,
        "shipped_at": o.shipped_at,
        "delivered_at": o.delivered_at,
        "completed_at": o.completed_at,
        "cancelled_at": o.cancelled_at,
        "refunded_at": o.refunded_at,
    }


def _checkout(checkout: Checkout) -> dict:
    orders = list(selectors._orders().filter(checkout=checkout).order_by("pk"))
    total = sum((o.total for o in orders), start=services.Decimal("0.00"))
    return {
        "checkout": checkout.pk,
        "orders": [_order(o) for o in orders],
        "total": str(total),
        "currency": "MYR",
    }


def _cart_item(item: CartItem) -> dict:
    product = item.sku.product
    images = list(product.images.all())
    return {
        "sku": item.sku_id,
        "sku_name": item.sku.name,
        "product": product.pk,
        "product_title": product.title,
        "image": images[0].image.url if images and images[0].image else None,
        "shop": product.shop_id,
        "shop_name": product.shop.name,
        "unit_price": str(item.sku.price),
        "quantity": item.quantity,
        "line_total": str(item.line_total),
        "available": item.available,
        "stock": item.sku.stock,
    }


def _payment(p: Payment) -> dict:
    return {
        "id": p.pk,
        "intent": p.intent_id or "",  # empty only while the gateway has not answered (or failed to)
        "gateway": p.gateway,
        "status": p.status,
        "amount": str(p.amount),
        "currency": p.currency,
        "redirect_url": p.redirect_url,
        "orders": sorted(p.orders.values_list("pk", flat=True)),
        "refunded": str(
            sum(
                (r.amount for r in p.refunds.all() if r.status != "failed"),
                start=services.Decimal("0.00"),
            )
        ),
    }


def _address_arg(address: AddressIn | None, address_id: int | None):
    if address is not None and address_id is not None:  # as the schema says (oneOf): never both
        raise ValidationFailed(
            _("Give a new address or one from your address book, not both."), field="address", code="invalid"
        )
    if address_id is not None:
        return address_id
    if address is not None:
        return address.dict(exclude={"is_default"})
    return None


# --- addresses -------------------------------------------------------------------------------------------------
@router.get("/addresses", response=responses({200: AddressList}))
def address_list(request: HttpRequest):
    return {
        "items": [_address(a) for a in selectors.addresses_for(user=request.user)[:20]],
        "next_cursor": None,
    }


@router.post("/addresses", response=responses({201: AddressOut}))
def address_add(request: HttpRequest, payload: AddressIn):
    created = services.address_create(
        user=request.user, data=payload.dict(exclude={"is_default"}), make_default=payload.is_default
    )
    return Status(201, _address(created))


@router.patch("/addresses/{address_id}", response=responses({200: AddressOut}))
def address_edit(request: HttpRequest, address_id: PathId, payload: AddressPatch):
    found = selectors.address_get_for_owner(user=request.user, address_id=address_id)
    if (payload.postcode is None) != (payload.state is None):
        raise ValidationFailed(
            _("Give the postcode and the state together."), field="postcode", code="postcode_with_state"
        )
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return _address(services.address_update(user=request.user, address=found, data=data))


@router.delete("/addresses/{address_id}", response=responses({204: None}))
def address_remove(request: HttpRequest, address_id: PathId):
    found = selectors.address_get_for_owner(user=request.user, address_id=address_id)
    services.address_delete(user=request.user, address=found)
    return Status(204, None)


# --- cart ------------------------------------------------------------------------------------------------------
def _cart(request: HttpRequest) -> dict:
    cart = selectors.cart_get(user=request.user)
    return {
        "items": [_cart_item(item) for item in cart["items"]],
        "next_cursor": None,
        "total": str(cart["total"]),
        "count": cart["count"],
    }


@router.get("/cart", response=responses({200: CartOut}))
def cart_view(request: HttpRequest):
    return _cart(request)


@router.post("/cart/items", response=responses({201: CartOut}))
def cart_add(request: HttpRequest, payload: CartItemIn):
    services.cart_add(user=request.user, sku_id=payload.sku, quantity=payload.quantity)
    return Status(201, _cart(request))


@router.patch("/cart/items/{sku_id}", response=responses({200: CartOut}))
def cart_set(request: HttpRequest, sku_id: PathId, payload: CartQuantityIn):
    services.cart_set_quantity(user=request.user, sku_id=sku_id, quantity=payload.quantity)
    return _cart(request)


@router.delete("/cart/items/{sku_id}", response=responses({204: None}))
def cart_delete(request: HttpRequest, sku_id: PathId):
    services.cart_remove(user=request.user, sku_id=sku_id)
    return Status(204, None)


@router.post("/cart/checkout", response=responses({201: CheckoutOut, 422: ErrorOut}))
def cart_checkout(request: HttpRequest, payload: CartCheckoutIn, idempotency_key: str | None = IdemKey):
    checkout = services.cart_checkout(
        buyer=request.user,
        address=_address_arg(payload.address, payload.address_id),
        idempotency_key=idempotency_key,
        sku_ids=payload.skus,
    )
    return Status(201, _checkout(checkout))


# --- orders ----------------------------------------------------------------------------------------------------
@router.post("/orders", response=responses({201: CheckoutOut, 422: ErrorOut}))
def order_create(request: HttpRequest, payload: OrderIn, idempotency_key: str | None = IdemKey):
    """Buy now: one order per shop, stock reserved for ``MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES``; 409
    ``sold_out`` names the SKU that ran out."""
    checkout = services.order_place(
        buyer=request.user,
        items=[item.dict() for item in payload.items],
        address=_address_arg(payload.address, payload.address_id),
        idempotency_key=idempotency_key,
    )
    return Status(201, _checkout(checkout))


StatusIn = Literal["pending_payment", "paid", "shipped", "delivered", "completed", "cancelled", "refunded"]


@router.get("/orders", response=responses({200: OrderList}))
def order_list(
    request: HttpRequest, status: StatusIn | None = None, cursor: PageCursor = None, limit: PageLimit = None
):
    qs = selectors.orders_for_buyer(user=request.user, status=status)
    return paginate_desc(qs, cursor=cursor, limit=limit, shape=_order)


@router.get("/orders/{order_id}", response=responses({200: OrderOut}))
def order_detail(request: HttpRequest, order_id: PathId):
    return _order(selectors.order_get_for_viewer(user=request.user, order_id=order_id))


def _reload(request: HttpRequest, order: Order) -> dict:
    return _order(selectors.order_get_for_viewer(user=request.user, order_id=order.pk))


@router.post("/orders/{order_id}/cancel", response=responses({200: OrderOut}))
def order_cancel(request: HttpRequest, order_id: PathId, payload: CancelIn):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.order_cancel(order=order, user=request.user, reason=payload.reason)
    return _reload(request, order)


@router.post("/orders/{order_id}/ship", response=responses({200: OrderOut}))
def order_ship(request: HttpRequest, order_id: PathId, payload: ShipIn):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.order_ship(
        order=order, user=request.user, tracking_number=payload.tracking_number, carrier=payload.carrier
    )
    return _reload(request, order)


@router.post("/orders/{order_id}/deliver", response=responses({200: OrderOut}))
def order_deliver(request: HttpRequest, order_id: PathId):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.order_deliver(order=order, user=request.user)
    return _reload(request, order)


@router.post("/orders/{order_id}/complete", response=responses({200: OrderOut}))
def order_complete(request: HttpRequest, order_id: PathId):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.order_complete(order=order, user=request.user)
    return _reload(request, order)


@router.post("/orders/{order_id}/refund-request", response=responses({201: OrderOut}))
def order_refund_request(request: HttpRequest, order_id: PathId, payload: RefundRequestIn):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.refund_request_create(order=order, user=request.user, reason=payload.reason)
    return Status(201, _reload(request, order))


@router.post("/orders/{order_id}/refund-decision", response=responses({200: OrderOut}))
def order_refund_decision(request: HttpRequest, order_id: PathId, payload: RefundDecisionIn):
    order = selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    services.refund_request_decide(
        order=order, user=request.user, approve=payload.decision == "approve", reason=payload.reason
    )
    return _reload(request, order)


# --- seller lists ----------------------------------------------------------------------------------------------
@router.get("/seller/orders", response=responses({200: OrderList}))
def seller_orders(
    request: HttpRequest, status: StatusIn | None = None, cursor: PageCursor = None, limit: PageLimit = None
):
    """The orders of the caller's own shop (empty without a shop)."""
    qs = selectors.orders_for_seller(user=request.user, status=status)
    return paginate_desc(qs, cursor=cursor, limit=limit, shape=_order)


@router.get("/seller/refund-requests", response=responses({200: RefundRequestList}))
def seller_refund_requests(
    request: HttpRequest,
    status: Literal["pending", "approved", "rejected"] | None = None,
    cursor: PageCursor = None,
    limit: PageLimit = None,
):
    qs = selectors.refund_requests_for_seller(user=request.user, status=status)

    def shape(r) -> dict:
        return {
            "id": r.pk,
            "order": r.order_id,
            "buyer": r.order.buyer.handle,
            "amount": str(r.order.total),
            "status": r.status,
            "reason": r.reason,
            "decision_reason": r.decision_reason,
            "created_at": r.created_at,
            "decided_at": r.decided_at,
        }

    return paginate_desc(qs, cursor=cursor, limit=limit, shape=shape)


# --- payments --------------------------------------------------------------------------------------------------
@router.post("/payments", response=responses({201: PaymentOut, 422: ErrorOut}))
def payment_create(request: HttpRequest, payload: PaymentIn, idempotency_key: str | None = IdemKey):
    """Open the payment for unpaid orders: answers the intent and the hosted page to send the buyer to."""
    payment = services.payment_start(
        buyer=request.user,
        order_ids=payload.orders,
        return_url="/orders/" if payload.return_url is None else payload.return_url,
        idempotency_key=idempotency_key,
    )
    return Status(201, _payment(payment))


@router.post("/payments/webhook", response=responses({200: WebhookOut}), auth=None)
def payment_webhook(request: HttpRequest):
    """The payment provider's events, HMAC-signed (``Meadow-Signature: t=…,v1=…``). Forged or stale → 400 and
    nothing changes; a duplicate or replayed event id → 200 ``duplicate`` and nothing changes."""
    outcome = services.payment_webhook_receive(body=request.body, headers=dict(request.headers))
    return {"received": True, "outcome": outcome}


@router.get("/payments/{payment_id}", response=responses({200: PaymentOut}))
def payment_detail(request: HttpRequest, payment_id: PathId):
    return _payment(selectors.payment_get_for_buyer(user=request.user, payment_id=payment_id))

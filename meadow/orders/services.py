"""Every write of cart, checkout, orders and payments.

Rules that hold everywhere here:

* **Stock** is reserved at checkout by a conditional UPDATE on ``store.Sku.stock`` after locking the SKU rows in
  primary-key order (``SELECT … FOR UPDATE ORDER BY id``), so two checkouts never both take the last unit and
  never deadlock; it comes back (``stock = stock + n``) exactly once, from the one transition that leaves a
  reserving state (expiry, cancellation, refund before shipping). A failed payment is not one: the order stays
  pending for its payment window and the buyer can try again.
* **Money** is ``Decimal``: unit prices are read from the locked SKU rows at checkout time and stored on the lines;
  totals are sums of stored line totals.
* **State transitions** are conditional UPDATEs (``… WHERE status IN (allowed sources)``): a transition that lost
  a race, or that is not allowed from the current state, raises ``IllegalTransition`` (409 ``illegal_transition``).
  Who may do it is checked first (``PermissionDenied``, 403).
* **Idempotency**: ``order_place`` and ``payment_start`` take an ``Idempotency-Key``; the key is claimed inside the
  same transaction as the write, so a concurrent duplicate waits for the first and then returns its result.
* **Webhooks** are verified, stored once by event id, and applied with conditional updates, so a late, duplicated,
  replayed or out-of-order delivery changes nothing it should not. A ``payment.succeeded`` for an order that has
  meanwhile expired or been cancelled is refunded automatically (and the buyer told).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Sum, Value, When
from django.db.models.functions import Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.accounts.validation import normalize_phone_or_none
from meadow.core.errors import (
    Conflict,
    DomainError,
    ErrorCollector,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from meadow.core.metrics import ORDERS_PLACED, PAYMENTS, count_on_commit
from meadow.core.redirects import local_path
from meadow.core.tasks import enqueue, task_by_name
from meadow.orders.gateway import GatewayError, WebhookInvalid, get_gateway
from meadow.orders.models import (
    Address,
    CartItem,
    Checkout,
    IdempotencyRecord,
    MalaysianState,
    Order,
    OrderLine,
    Payment,
    PaymentEvent,
    Refund,
    RefundRequest,
)

S = Order.Status
CENT = Decimal("0.01")
QUANTITY_MAX = 99
ORDER_ITEMS_MAX = 50
CART_ITEMS_MAX = 100
IDEMPOTENCY_KEY_MAX = 255
POSTCODE = re.compile(r"^\d{5}$")
# Address fields, in characters after runs of whitespace become one space (the API's schema states the same).
RECIPIENT_NAME_MAX = 100
ADDRESS_LINE_MAX = 200
CITY_MAX = 100
POSTCODE_LENGTH = 5
STATE_MAX = 40
ADDRESS_PHONE_MAX = 30
ADDRESS_BOOK_MAX = 20  # addresses in use (not archived) per account
CANCEL_REASON_MAX = 300
SHIPPING_FIELD_MAX = 64  # tracking number, carrier
REFUND_REASON_MAX = 500


# --- errors ----------------------------------------------------------------------------------------------------
class SoldOut(Conflict):
    code = "sold_out"

    def __init__(self, *, sku_id: int, name: str) -> None:
        super().__init__(
            _("Sorry, %(name)s is sold out (or not enough left).") % {"name": name},
            field="items",
            code="sold_out",
        )
        self.sku_id = sku_id


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, *, from_status: str, to_status: str) -> None:
        super().__init__(
            _("This order cannot go from “%(from)s” to “%(to)s”.")
            % {"from": S(from_status).label, "to": S(to_status).label},
            field="status",
            code="illegal_transition",
        )
        self.from_status = from_status
        self.to_status = to_status


class UnpaidLimit(Conflict):
    """The buyer already holds as many units in unpaid orders as one account may (``MEADOW_UNPAID_MAX_UNITS*``)."""

    code = "unpaid_limit"


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


class WebhookRefused(DomainError):
    status = 400
    code = "bad_signature"


# --- helpers ---------------------------------------------------------------------------------------------------
def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _text(data: Mapping[str, Any], name: str, *, label: str, max_length: int, required: bool = True) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("%(field)s must be text.") % {"field": label}, field=name)
    value = " ".join(value.split())
    if required and not value:
        raise ValidationFailed(_("%(field)s is required.") % {"field": label}, field=name, code="required")
    if len(value) > max_length:
        raise ValidationFailed(
            _("%(field)s can be at most %(n)d characters.") % {"field": label, "n": max_length}, field=name
        )
    return value


def _request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _clean_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ValidationFailed(
            _("The Idempotency-Key must be at most 255 printable characters."),
            field="Idempotency-Key",
            code="bad_idempotency_key",
        )
    return key


def _idempotent_result(*, user: User, scope: str, key: str | None, request_hash: str) -> dict | None:
    if key is None:
        return None
    found = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
    if found is None:
        return None
    if found.request_hash != request_hash:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used with a different request. Use a new key for a new request."
            ),
            field="Idempotency-Key",
        )
    return found.result


class _Duplicate(Exception):
    pass


def _claim(*, user: User, scope: str, key: str | None, request_hash: str) -> IdempotencyRecord | None:
    """Inside the caller's transaction: claim ``key``. A concurrent holder makes this wait (unique index) and
    then raise ``_Duplicate`` once it has committed."""
    if key is None:
        return None
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user, scope=scope, key=key, request_hash=request_hash
            )
    except IntegrityError as exc:
        raise _Duplicate from exc


def _notify(*, recipient: User, code: str, order: Order, **params: Any) -> None:
    """A system notice about ``order``: a code of ``meadow.notifications.messages`` and its parameters (the order's
    number is always one), written in the recipient's language when read."""
    from meadow.notifications.services import notification_create

    notification_create(
        recipient=recipient,
        kind="order",
        code=code,
        params={"id": order.pk, **params},
        data={"order": order.pk, "url": reverse("web:order", args=[order.pk])},
    )


# --- addresses -------------------------------------------------------------------------------------------------
# The postcode ranges Pos Malaysia allocates to each state, inclusive (as listed in "Postal codes in Malaysia",
# Wikipedia, from Pos Malaysia's postcode directory, pos.com.my/postcode-finder). Ranges are widened to the whole
# thousand at their ends, so an address at the edge of a range is never refused; 68000–68199 (Ampang, Batu Caves)
# straddles Selangor and Kuala Lumpur and is accepted for both.
POSTCODE_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "PLS": ((1000, 2999),),
    "KDH": ((5000, 9999),),
    "PNG": ((10000, 14999),),
    "KTN": ((15000, 18999),),
    "TRG": ((20000, 24999),),
    "PHG": ((25000, 28999), (39000, 39999), (49000, 49999), (69000, 69999)),
    "PRK": ((30000, 36999),),
    "SGR": ((40000, 48999), (63000, 68999)),
    "KUL": ((50000, 60999), (68000, 68199)),
    "PJY": ((62000, 62999),),
    "NSN": ((70000, 73999),),
    "MLK": ((75000, 78999),),
    "JHR": ((79000, 86999),),
    "LBN": ((87000, 87999),),
    "SBH": ((88000, 91999),),
    "SWK": ((93000, 98999),),
}


def postcode_in_state(postcode: str, state: str) -> bool:
    """Whether a 5-digit Malaysian postcode lies in the ranges of ``state`` (a ``MalaysianState`` code)."""
    number = int(postcode)
    return any(low <= number <= high for low, high in POSTCODE_RANGES.get(state, ()))


def address_clean(*, data: Mapping[str, Any], stored_phone: str | None = None) -> dict[str, str]:
    """Validate a Malaysian shipping address; returns the normalised fields (phone in E.164). Every field is
    checked: several wrong fields raise ``FieldErrors`` with each one's error (one alone raises as itself).
    ``stored_phone``: the number the address already has, kept as it is when unchanged (a number saved under an
    older rule)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The address must be an object."), field="address")
    cleaned: dict[str, str] = {}
    errors = ErrorCollector()
    for name, label, max_length, required in (
        ("recipient_name", _("Recipient"), RECIPIENT_NAME_MAX, True),
        ("line1", _("Address line 1"), ADDRESS_LINE_MAX, True),
        ("line2", _("Address line 2"), ADDRESS_LINE_MAX, False),
        ("city", _("City"), CITY_MAX, True),
    ):
        with errors.check():
            cleaned[name] = _text(data, name, label=label, max_length=max_length, required=required)
    with errors.check():
        postcode = _text(data, "postcode", label=_("Postcode"), max_length=POSTCODE_LENGTH)
        if not POSTCODE.match(postcode):
            raise ValidationFailed(
                _("A Malaysian postcode has 5 digits."), field="postcode", code="bad_postcode"
            )
        cleaned["postcode"] = postcode
    with errors.check():
        state = _text(data, "state", label=_("State"), max_length=STATE_MAX)
        by_name = {label.lower(): code for code, label in MalaysianState.choices}
        by_name.update({code.lower(): code for code in MalaysianState.values})
        if state.lower() not in by_name:
            raise ValidationFailed(_("Choose a Malaysian state."), field="state", code="bad_state")
        cleaned["state"] = by_name[state.lower()]
    if (
        "postcode" in cleaned
        and "state" in cleaned
        and not postcode_in_state(cleaned["postcode"], cleaned["state"])
    ):
        errors.errors.append(
            ValidationFailed(
                _("Postcode %(postcode)s is not in %(state)s. Check the postcode and the state.")
                % {"postcode": cleaned["postcode"], "state": MalaysianState(cleaned["state"]).label},
                field="postcode",
                code="postcode_state_mismatch",
            )
        )
    with errors.check():
        # Its own messages: required, too long (counted as typed, spaces and all, as the schema counts it).
        raw_phone = data.get("phone")
        if isinstance(raw_phone, str) and len(raw_phone) > ADDRESS_PHONE_MAX:
            raise ValidationFailed(
                _("%(field)s can be at most %(n)d characters.")
                % {"field": _("Phone"), "n": ADDRESS_PHONE_MAX},
                field="phone",
            )
        _text(data, "phone", label=_("Phone"), max_length=ADDRESS_PHONE_MAX)
        # A Malaysian mobile number, exactly as PHONE_PATTERN (which the API's schema states) reads it.
        phone = data.get("phone")
        if phone != stored_phone or phone is None:
            phone = normalize_phone_or_none(phone)
        if phone is None:
            raise ValidationFailed(
                _("Enter a valid phone number, e.g. +60 12-345 6789."), field="phone", code="bad_phone"
            )
        cleaned["phone"] = phone
    errors.raise_any()
    cleaned["country"] = "MY"
    return cleaned


def address_create(*, user: User, data: Mapping[str, Any], make_default: bool = False) -> Address:
    cleaned = address_clean(data=data)
    with transaction.atomic():
        has_default = Address.objects.filter(user=user, is_default=True, is_archived=False).exists()
        if make_default and has_default:
            Address.objects.filter(user=user, is_default=True).update(is_default=False)
        if Address.objects.filter(user=user, is_archived=False).count() >= ADDRESS_BOOK_MAX:
            # A state of the book, not of the request: 409, as for any other conflict with what exists.
            raise Conflict(
                _("An address book holds at most 20 addresses."), field="address", code="address_book_full"
            )
        return Address.objects.create(user=user, is_default=make_default or not has_default, **cleaned)


def address_update(*, user: User, address: Address, data: Mapping[str, Any]) -> Address:
    if address.user_id != user.pk or address.is_archived:
        raise NotFound(_("Not found."))
    merged = {**address.snapshot(), **{k: v for k, v in data.items() if k != "is_default"}}
    cleaned = address_clean(data=merged, stored_phone=address.phone)
    with transaction.atomic():
        if data.get("is_default") is True and not address.is_default:
            Address.objects.filter(user=user, is_default=True).update(is_default=False)
            cleaned["is_default"] = True  # type: ignore[assignment]
        Address.objects.filter(pk=address.pk).update(**cleaned)
    address.refresh_from_db()
    return address


def address_delete(*, user: User, address: Address) -> None:
    if address.user_id != user.pk:
        raise NotFound(_("Not found."))
    Address.objects.filter(pk=address.pk).update(is_archived=True, is_default=False)


# --- cart ------------------------------------------------------------------------------------------------------
def _quantity(value: Any, *, field: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("The quantity must be a whole number."), field=field, code="bad_quantity")
    low = 0 if allow_zero else 1
    if not low <= value <= QUANTITY_MAX:
        raise ValidationFailed(
            _("The quantity must be between %(low)d and %(high)d.") % {"low": low, "high": QUANTITY_MAX},
            field=field,
            code="bad_quantity",
        )
    return value


def _purchasable(sku_ids: Iterable[int]) -> dict[int, Any]:
    from meadow.store.selectors import skus_purchasable

    return skus_purchasable(sku_ids=list(sku_ids))


def _unavailable(sku_id: int) -> Conflict:
    return Conflict(
        _("This item (SKU %(id)d) cannot be bought right now.") % {"id": sku_id},
        field="sku",
        code="unavailable",
    )


def cart_add(*, user: User, sku_id: int, quantity: int) -> CartItem:
    """Put ``quantity`` more of a SKU into the cart (capped at the per-item maximum)."""
    quantity = _quantity(quantity)
    if sku_id not in _purchasable([sku_id]):
        raise _unavailable(sku_id)
    with transaction.atomic():
        if not CartItem.objects.filter(user=user, sku_id=sku_id).update(
            quantity=Least(F("quantity") + quantity, Value(QUANTITY_MAX))
        ):
            if CartItem.objects.filter(user=user).count() >= CART_ITEMS_MAX:
                raise ValidationFailed(
                    _("A cart holds at most %(n)d different items.") % {"n": CART_ITEMS_MAX}, field="sku"
                )
            try:
                with transaction.atomic():
                    CartItem.objects.create(user=user, sku_id=sku_id, quantity=quantity)
            except IntegrityError:  # added at the same moment by another tab
                CartItem.objects.filter(user=user, sku_id=sku_id).update(
                    quantity=Least(F("quantity") + quantity, Value(QUANTITY_MAX))
                )
    return CartItem.objects.get(user=user, sku_id=sku_id)


def cart_set_quantity(*, user: User, sku_id: int, quantity: int) -> CartItem | None:
    """Set an item's quantity; 0 removes it. 404 when the SKU is not in the cart."""
    quantity = _quantity(quantity, allow_zero=True)
    items = CartItem.objects.filter(user=user, sku_id=sku_id)
    if quantity == 0:
        if not items.delete()[0]:
            raise NotFound(_("This item is not in your cart."))
        return None
    if not items.update(quantity=quantity):
        raise NotFound(_("This item is not in your cart."))
    return items.get()


def cart_remove(*, user: User, sku_id: int) -> None:
    if not CartItem.objects.filter(user=user, sku_id=sku_id).delete()[0]:
        raise NotFound(_("This item is not in your cart."))


# --- checkout --------------------------------------------------------------------------------------------------
def _normalise_items(items: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise ValidationFailed(_("Choose at least one item."), field="items", code="required")
    merged: dict[int, int] = defaultdict(int)
    for item in items:
        sku = item.get("sku") if isinstance(item, Mapping) else None
        if isinstance(sku, bool) or not isinstance(sku, int) or sku <= 0:
            raise ValidationFailed(_("Each item needs a SKU id."), field="items", code="bad_sku")
        merged[sku] += _quantity(item.get("quantity"), field="items")
    if len(merged) > ORDER_ITEMS_MAX:
        raise ValidationFailed(
            _("One checkout holds at most %(n)d different items.") % {"n": ORDER_ITEMS_MAX}, field="items"
        )
    if any(quantity > QUANTITY_MAX for quantity in merged.values()):
        # lines of one SKU add up (a rule across items no schema states): its own code, the same words
        raise ValidationFailed(
            _("The quantity must be between %(low)d and %(high)d.") % {"low": 1, "high": QUANTITY_MAX},
            field="items",
            code="quantity_total",
        )
    return sorted(merged.items())


def _address_snapshot(*, buyer: User, address: Mapping[str, Any] | int | Address) -> dict[str, str]:
    if isinstance(address, Address):
        if address.user_id != buyer.pk or address.is_archived:
            raise NotFound(_("This address is not in your address book."), field="address")
        return address.snapshot()
    if isinstance(address, int) and not isinstance(address, bool):
        found = Address.objects.filter(pk=address, user=buyer, is_archived=False).first()
        if found is None:
            raise NotFound(_("This address is not in your address book."), field="address")
        return found.snapshot()
    if isinstance(address, Mapping):
        return address_clean(data=address)
    raise ValidationFailed(_("Give a shipping address."), field="address", code="required")


def payment_due_at(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(minutes=settings.MEADOW_ORDER_PAYMENT_TIMEOUT_MINUTES)


def order_place(
    *,
    buyer: User,
    items: Sequence[Mapping[str, Any]],
    address: Mapping[str, Any] | int | Address | None,
    idempotency_key: str | None = None,
    from_cart: bool = False,
) -> Checkout:
    """Check out ``items`` (``[{"sku", "quantity"}]``): one order per shop, stock reserved, prices frozen.

    Raises ``SoldOut`` (409 ``sold_out``, naming the SKU) when any SKU has fewer units left than asked — then
    nothing is reserved. A repeat with the same ``idempotency_key`` and the same request returns the first
    checkout; the same key with a different request raises ``IdempotencyKeyReused`` (422)."""
    if not buyer.is_active:
        raise PermissionDenied(_("This account cannot buy."))
    key = _clean_key(idempotency_key)
    lines = _normalise_items(items)
    if address is None:
        raise ValidationFailed(_("Give a shipping address."), field="address", code="required")
    snapshot = _address_snapshot(buyer=buyer, address=address)
    request_hash = _request_hash({"items": lines, "address": snapshot, "cart": from_cart})
    previous = _idempotent_result(user=buyer, scope="orders", key=key, request_hash=request_hash)
    if previous is not None:
        return Checkout.objects.get(pk=previous["checkout"])

    sku_ids = [sku for sku, _q in lines]
    skus = _purchasable(sku_ids)
    for sku_id in sku_ids:
        if sku_id not in skus:
            raise _unavailable(sku_id)
        if skus[sku_id].product.shop.owner_id == buyer.pk:
            raise Conflict(_("You cannot buy from your own shop."), field="items", code="own_shop")
    wanted = dict(lines)
    from meadow.store.models import Sku

    # Overdue orders of this buyer no longer hold anything: release them now rather than at the next beat.
    for overdue in Order.objects.filter(
        buyer=buyer, status=S.PENDING_PAYMENT, payment_due_at__lte=timezone.now()
    ).values_list("pk", flat=True):
        order_expire(order_id=overdue)
    try:
        with transaction.atomic():
            record = _claim(user=buyer, scope="orders", key=key, request_hash=request_hash)
            # One buyer's checkouts take turns (their row is the lock), so parallel ones cannot together pass
            # the cap on unpaid reservations; then the SKU rows, as everywhere, in primary-key order.
            User.objects.select_for_update().filter(pk=buyer.pk).values_list("pk", flat=True).get()
            _unpaid_cap_check(buyer=buyer, wanted=wanted, skus=skus)
            # Lock the SKU rows in primary-key order, then take the units with one conditional UPDATE.
            locked = {
                row["pk"]: row
                for row in Sku.objects.select_for_update()
                .filter(pk__in=sku_ids)
                .order_by("pk")
                .values("pk", "stock", "price")
            }
            for sku_id in sku_ids:
                if sku_id not in locked or locked[sku_id]["stock"] < wanted[sku_id]:
                    raise SoldOut(sku_id=sku_id, name=f"“{skus[sku_id].name}” ({skus[sku_id].product.title})")
            take = Case(*[When(pk=s, then=Value(q)) for s, q in lines], output_field=IntegerField())
            taken = Sku.objects.filter(pk__in=sku_ids, stock__gte=take).update(stock=F("stock") - take)
            if taken != len(sku_ids):  # cannot happen with the rows locked; never oversell if it does
                raise SoldOut(sku_id=sku_ids[0], name=f"“{skus[sku_ids[0]].name}”")

            checkout = Checkout.objects.create(buyer=buyer)
            by_shop: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for sku_id, quantity in lines:
                by_shop[skus[sku_id].product.shop_id].append((sku_id, quantity))
            due = payment_due_at()
            orders: list[Order] = []
            for shop_id in sorted(by_shop):
                subtotal = sum(
                    (_money(locked[s]["price"]) * q for s, q in by_shop[shop_id]), start=Decimal("0.00")
                )
                orders.append(
                    Order(
                        buyer=buyer,
                        shop_id=shop_id,
                        checkout=checkout,
                        subtotal=subtotal,
                        shipping_fee=Decimal("0.00"),
                        total=subtotal,
                        shipping_address=snapshot,
                        payment_due_at=due,
                    )
                )
            Order.objects.bulk_create(orders)
            if any(order.pk is None for order in orders):  # a backend that does not return ids
                orders = list(Order.objects.filter(checkout=checkout).order_by("shop_id"))
            order_of_shop = {order.shop_id: order for order in orders}
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order_of_shop[shop_id],
                        sku_id=sku_id,
                        product_id_snapshot=skus[sku_id].product_id,
                        product_title=skus[sku_id].product.title[:200],
                        sku_name=skus[sku_id].name[:200],
                        unit_price=_money(locked[sku_id]["price"]),
                        quantity=quantity,
                        line_total=_money(locked[sku_id]["price"]) * quantity,
                    )
                    for shop_id in sorted(by_shop)
                    for sku_id, quantity in by_shop[shop_id]
                ]
            )
            if from_cart:
                CartItem.objects.filter(user=buyer, sku_id__in=sku_ids).delete()
            if record is not None:
                IdempotencyRecord.objects.filter(pk=record.pk).update(result={"checkout": checkout.pk})
            count_on_commit(ORDERS_PLACED, len(by_shop))
    except _Duplicate:
        previous = _idempotent_result(user=buyer, scope="orders", key=key, request_hash=request_hash)
        if previous is None or "checkout" not in previous:
            raise Conflict(
                _("The same request is still being processed. Try again in a moment."), code="in_progress"
            ) from None
        return Checkout.objects.get(pk=previous["checkout"])
    return checkout


def _unpaid_cap_check(*, buyer: User, wanted: Mapping[int, int], skus: Mapping[int, Any]) -> None:
    """Refuse a checkout that would leave ``buyer`` holding more units in unpaid orders than allowed: per SKU
    (``MEADOW_UNPAID_MAX_UNITS_PER_SKU``) and in total (``MEADOW_UNPAID_MAX_UNITS``). Call it with the buyer's
    row locked."""
    per_sku_max = int(settings.MEADOW_UNPAID_MAX_UNITS_PER_SKU)
    total_max = int(settings.MEADOW_UNPAID_MAX_UNITS)
    pending = OrderLine.objects.filter(order__buyer=buyer, order__status=S.PENDING_PAYMENT)
    held_total = pending.aggregate(n=Sum("quantity"))["n"] or 0
    held = dict(
        pending.filter(sku_id__in=list(wanted))
        .values("sku_id")
        .annotate(n=Sum("quantity"))
        .values_list("sku_id", "n")
    )
    for sku_id, quantity in sorted(wanted.items()):
        if held.get(sku_id, 0) + quantity > per_sku_max:
            raise UnpaidLimit(
                _(
                    "You already have %(held)d of “%(name)s” waiting for payment; at most %(max)d of one item "
                    "can wait at once. Pay or cancel those orders first."
                )
                % {
                    "held": held.get(sku_id, 0),
                    "name": f"{skus[sku_id].name} ({skus[sku_id].product.title})",
                    "max": per_sku_max,
                },
                field="items",
            )
    if held_total + sum(wanted.values()) > total_max:
        raise UnpaidLimit(
            _(
                "You already have %(held)d items waiting for payment; at most %(max)d can wait at once. "
                "Pay or cancel those orders first."
            )
            % {"held": held_total, "max": total_max},
            field="items",
        )


def cart_checkout(
    *,
    buyer: User,
    address: Mapping[str, Any] | int | Address | None,
    idempotency_key: str | None = None,
    sku_ids: Iterable[int] | None = None,
) -> Checkout:
    """Check out the cart (or the chosen SKUs of it) through ``order_place``; bought items leave the cart."""
    rows = CartItem.objects.filter(user=buyer).order_by("sku_id")
    if sku_ids is not None:
        rows = rows.filter(sku_id__in=list(sku_ids))
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in rows.values_list("sku_id", "quantity")]
    if not items:
        raise ValidationFailed(_("Your cart is empty."), field="items", code="cart_empty")
    return order_place(
        buyer=buyer, items=items, address=address, idempotency_key=idempotency_key, from_cart=True
    )


# --- stock release and the state machine -----------------------------------------------------------------------
def _release_stock(*, order_id: int) -> None:
    from meadow.store.models import Sku

    for sku_id, quantity in (
        OrderLine.objects.filter(order_id=order_id, sku__isnull=False)
        .order_by("sku_id")
        .values_list("sku_id", "quantity")
    ):
        Sku.objects.filter(pk=sku_id).update(stock=F("stock") + quantity)


def _cart_restore(*, order_id: int, buyer_id: int) -> None:
    """An unpaid order was cancelled (by the buyer at the payment step, or by the payment window closing): put
    its items back in the buyer's cart, merged with what is there, each SKU only while it can still be bought and
    at most what is in stock (after this order's stock came back) and the per-item maximum. A quantity already in
    the cart never shrinks; a new row is not added to a full cart."""
    lines = list(
        OrderLine.objects.filter(order_id=order_id, sku__isnull=False)
        .order_by("sku_id")
        .values_list("sku_id", "quantity")
    )
    buyable = _purchasable([sku_id for sku_id, _q in lines])
    if not buyable:
        return
    in_cart = dict(CartItem.objects.filter(user_id=buyer_id).values_list("sku_id", "quantity"))
    rows = len(in_cart)
    for sku_id, quantity in lines:
        sku = buyable.get(sku_id)
        if sku is None:
            continue
        have = in_cart.get(sku_id, 0)
        wanted = max(have, min(have + quantity, sku.stock, QUANTITY_MAX))
        if wanted <= have:
            continue
        if have:
            CartItem.objects.filter(user_id=buyer_id, sku_id=sku_id).update(quantity=wanted)
        elif rows < CART_ITEMS_MAX:
            CartItem.objects.create(user_id=buyer_id, sku_id=sku_id, quantity=wanted)
            rows += 1


def _move(*, order: Order, to: str, sources: Iterable[str], **changes: Any) -> str:
    """Move ``order`` to ``to`` if it is in one of ``sources`` (conditional UPDATE); returns the state it left.
    Raises ``IllegalTransition`` naming the current state otherwise (also when a concurrent change won)."""
    sources = list(sources)
    now = timezone.now()
    for source in sources:
        if Order.objects.filter(pk=order.pk, status=source).update(status=to, updated_at=now, **changes):
            for name, value in changes.items():
                setattr(order, name, value)
            order.status = to
            return source
    current = Order.objects.values_list("status", flat=True).get(pk=order.pk)
    raise IllegalTransition(from_status=current, to_status=to)


def _role(*, order: Order, user: User) -> str | None:
    if order.buyer_id == user.pk:
        return "buyer"
    if order.shop.owner_id == user.pk:
        return "seller"
    return None


def _require(*, order: Order, user: User, roles: set[str], message: str) -> str:
    role = _role(order=order, user=user)
    if role is None:
        raise NotFound(_("Not found."))
    if role not in roles:
        raise PermissionDenied(message)
    return role


def _refund_create(*, order: Order, reason: str, payment: Payment | None = None) -> Refund | None:
    """Queue a full refund of ``order`` through the gateway, from ``payment`` or else from the succeeded payment
    that paid it (the first one not already refunded for this order). Once per (order, payment): a no-op if it
    exists."""
    if payment is None:
        payment = (
            order.payments.filter(status=Payment.Status.SUCCEEDED)
            .exclude(refunds__order=order)
            .order_by("pk")
            .first()
        )
    if payment is None:
        return None
    refund, created = Refund.objects.get_or_create(
        order=order, payment=payment, defaults={"amount": order.total, "reason": reason}
    )
    if created:
        enqueue(task_by_name("meadow.orders.tasks.refund_process"), refund_id=refund.pk)
    return refund


def order_cancel(*, order: Order, user: User, reason: str = "") -> Order:
    """Cancel before shipping, by the buyer or the seller: the stock comes back; a paid order is refunded."""
    role = _require(order=order, user=user, roles={"buyer", "seller"}, message="")
    reason = _text(
        {"reason": reason}, "reason", label=_("Reason"), max_length=CANCEL_REASON_MAX, required=False
    )
    with transaction.atomic():
        left = _move(
            order=order,
            to=S.CANCELLED,
            sources=[S.PENDING_PAYMENT, S.PAID],
            cancelled_at=timezone.now(),
            cancelled_by=role,
            cancel_reason=reason,
        )
        _release_stock(order_id=order.pk)
        if left == S.PAID:
            _refund_create(order=order, reason=Refund.Reason.CANCELLED)
        else:
            _payments_close_unconfirmed(order_id=order.pk)
            if role == "buyer":
                _cart_restore(order_id=order.pk, buyer_id=order.buyer_id)
        other = order.shop.owner if role == "buyer" else order.buyer
        _notify(recipient=other, order=order, code="order.cancelled")
    return order


def order_ship(*, order: Order, user: User, tracking_number: str, carrier: str) -> Order:
    _require(order=order, user=user, roles={"seller"}, message=_("Only the seller can ship an order."))
    data = {"tracking_number": tracking_number, "carrier": carrier}
    tracking = _text(data, "tracking_number", label=_("Tracking number"), max_length=SHIPPING_FIELD_MAX)
    carrier = _text(data, "carrier", label=_("Carrier"), max_length=SHIPPING_FIELD_MAX)
    with transaction.atomic():
        _move(
            order=order,
            to=S.SHIPPED,
            sources=[S.PAID],
            shipped_at=timezone.now(),
            tracking_number=tracking,
            carrier=carrier,
        )
        _notify(recipient=order.buyer, order=order, code="order.shipped", carrier=carrier, tracking=tracking)
    return order


def order_deliver(*, order: Order, user: User) -> Order:
    _require(order=order, user=user, roles={"seller"}, message=_("Only the seller marks an order delivered."))
    with transaction.atomic():
        _move(order=order, to=S.DELIVERED, sources=[S.SHIPPED], delivered_at=timezone.now())
        _notify(recipient=order.buyer, order=order, code="order.delivered")
    return order


def order_complete(*, order: Order, user: User) -> Order:
    """The buyer confirms receipt (from shipped or delivered)."""
    _require(order=order, user=user, roles={"buyer"}, message=_("Only the buyer confirms receipt."))
    with transaction.atomic():
        _move(order=order, to=S.COMPLETED, sources=[S.DELIVERED, S.SHIPPED], completed_at=timezone.now())
        _notify(recipient=order.shop.owner, order=order, code="order.completed")
    return order


REFUNDABLE = (S.PAID, S.SHIPPED, S.DELIVERED)


def refund_request_create(*, order: Order, user: User, reason: str) -> RefundRequest:
    _require(order=order, user=user, roles={"buyer"}, message=_("Only the buyer can ask for a refund."))
    reason = _text({"reason": reason}, "reason", label=_("Reason"), max_length=REFUND_REASON_MAX)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status not in REFUNDABLE:
            raise IllegalTransition(from_status=locked.status, to_status=S.REFUNDED)
        if RefundRequest.objects.filter(order=order, status=RefundRequest.Status.PENDING).exists():
            raise Conflict(_("A refund request for this order is already waiting."), code="refund_pending")
        request = RefundRequest.objects.create(order=order, reason=reason)
        _notify(recipient=order.shop.owner, order=order, code="order.refund_requested")
    return request


def refund_request_decide(*, order: Order, user: User, approve: bool, reason: str = "") -> RefundRequest:
    """The seller's decision: approve refunds through the gateway (and returns unshipped stock); reject needs a
    reason the buyer sees."""
    _require(order=order, user=user, roles={"seller"}, message=_("Only the seller decides refund requests."))
    reason = _text(
        {"reason": reason}, "reason", label=_("Reason"), max_length=REFUND_REASON_MAX, required=not approve
    )
    with transaction.atomic():
        request = (
            RefundRequest.objects.select_for_update()
            .filter(order=order, status=RefundRequest.Status.PENDING)
            .first()
        )
        if request is None:
            raise Conflict(_("There is no refund request waiting for a decision."), code="no_refund_request")
        now = timezone.now()
        if approve:
            left = _move(order=order, to=S.REFUNDED, sources=REFUNDABLE, refunded_at=now)
            if left == S.PAID:  # never shipped: the units go back on sale
                _release_stock(order_id=order.pk)
            _refund_create(order=order, reason=Refund.Reason.REFUND_REQUEST)
            request.status = RefundRequest.Status.APPROVED
            notice: dict[str, Any] = {"code": "order.refund_approved"}
        else:
            request.status = RefundRequest.Status.REJECTED
            notice = {"code": "order.refund_declined", "reason": reason}
        request.decision_reason = reason
        request.decided_at = now
        request.save(update_fields=["status", "decision_reason", "decided_at"])
        _notify(recipient=order.buyer, order=order, **notice)
    return request


def order_expire(*, order_id: int) -> bool:
    """The payment window closed: cancel the still-unpaid order and give its stock back. Idempotent."""
    with transaction.atomic():
        changed = Order.objects.filter(
            pk=order_id, status=S.PENDING_PAYMENT, payment_due_at__lte=timezone.now()
        ).update(
            status=S.CANCELLED,
            cancelled_by="system",
            cancel_reason="payment_timeout",
            cancelled_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed:
            _release_stock(order_id=order_id)
            _payments_close_unconfirmed(order_id=order_id)
            buyer_id = Order.objects.values_list("buyer_id", flat=True).get(pk=order_id)
            _cart_restore(order_id=order_id, buyer_id=buyer_id)
    return bool(changed)


def _payments_close_unconfirmed(*, order_id: int) -> None:
    """The order can no longer be paid (cancelled, expired): once this transaction commits, cancel at the
    gateway the intents of its payments still waiting for the buyer, so the provider's page refuses the money up
    front, and close each payment whose intent the gateway cancelled (an intent that also covered other orders
    goes too; those may be paid in a new payment). An intent the buyer already confirmed cannot be cancelled:
    its payment stays open and its capture, when the webhook comes, is refunded automatically."""
    open_ = [
        (pk, intent)
        for pk, intent in Payment.objects.filter(
            orders=order_id, status=Payment.Status.REQUIRES_CONFIRMATION, intent_id__isnull=False
        ).values_list("pk", "intent_id")
        if intent
    ]
    if not open_:
        return

    def cancel() -> None:
        gateway = get_gateway()
        for pk, intent in open_:
            try:
                cancelled = gateway.cancel_intent(intent_id=intent)
            except GatewayError:
                continue
            if cancelled:
                Payment.objects.filter(pk=pk, status=Payment.Status.REQUIRES_CONFIRMATION).update(
                    status=Payment.Status.FAILED, updated_at=timezone.now()
                )

    transaction.on_commit(cancel)


def orders_expire_overdue(*, limit: int = 500) -> int:
    """Expire every pending order past its payment deadline (the beat task). Safe to run twice at once."""
    due = list(
        Order.objects.filter(status=S.PENDING_PAYMENT, payment_due_at__lte=timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(order_expire(order_id=pk) for pk in due)


# --- payments --------------------------------------------------------------------------------------------------
OPEN_PAYMENT = (Payment.Status.REQUIRES_CONFIRMATION, Payment.Status.PROCESSING)


class PaymentUnavailable(DomainError):
    status = 502
    code = "payment_unavailable"


def payment_start(
    *, buyer: User, order_ids: Sequence[int], return_url: str, idempotency_key: str | None = None
) -> Payment:
    """Open (or return the open) payment intent for the buyer's unpaid ``order_ids``.

    At most one open payment covers an order, however many requests race (double clicks, parallel API calls,
    with or without an Idempotency-Key): the orders' rows are locked in primary-key order (``SELECT … FOR
    UPDATE``; on SQLite every transaction is ``BEGIN IMMEDIATE``, one writer at a time) in the short transaction
    that looks for an open payment and opens one. The gateway is called *after* that transaction, so no row lock
    is held across the network: every caller that gets the payment asks the gateway for its intent with the same
    key (``meadow-payment-<id>``), and the gateway's idempotency makes that one intent."""
    key = _clean_key(idempotency_key)
    ids = sorted({int(pk) for pk in order_ids if isinstance(pk, int) and not isinstance(pk, bool)})
    if not ids or len(ids) != len(order_ids):
        raise ValidationFailed(_("Choose the orders to pay."), field="orders", code="required")
    cleaned_return = local_path(return_url)
    if cleaned_return is None:
        raise ValidationFailed(
            _("The return address must be a path on this site, e.g. /orders/."),
            field="return_url",
            code="bad_return_url",
        )
    return_url = cleaned_return
    request_hash = _request_hash({"orders": ids})
    previous = _idempotent_result(user=buyer, scope="payments", key=key, request_hash=request_hash)
    if previous is not None:
        return _payment_intent_ensure(
            payment=Payment.objects.get(pk=previous["payment"]), return_url=return_url
        )
    gateway = get_gateway()
    try:
        with transaction.atomic():
            record = _claim(user=buyer, scope="payments", key=key, request_hash=request_hash)
            orders = list(Order.objects.select_for_update().filter(pk__in=ids, buyer=buyer).order_by("pk"))
            if len(orders) != len(ids):
                raise NotFound(_("Not found."), field="orders")
            now = timezone.now()
            for order in orders:
                if order.status != S.PENDING_PAYMENT or order.payment_due_at <= now:
                    raise Conflict(
                        _("Order #%(id)d cannot be paid any more (%(status)s).")
                        % {"id": order.pk, "status": S(order.status).label},
                        field="orders",
                        code="not_payable",
                    )
            payment: Payment | None = None
            for found in Payment.objects.filter(orders__in=ids, status__in=OPEN_PAYMENT).distinct():
                if sorted(found.orders.values_list("pk", flat=True)) != ids:
                    raise Conflict(
                        _("Some of these orders are already being paid in another payment."),
                        code="payment_in_progress",
                    )
                payment = found
            if payment is None:
                payment = Payment.objects.create(
                    buyer=buyer,
                    gateway=gateway.name,
                    intent_id=None,
                    amount=sum((order.total for order in orders), start=Decimal("0.00")),
                    currency=orders[0].currency,
                )
                payment.orders.set(orders)
            if record is not None:
                IdempotencyRecord.objects.filter(pk=record.pk).update(result={"payment": payment.pk})
    except _Duplicate:
        previous = _idempotent_result(user=buyer, scope="payments", key=key, request_hash=request_hash)
        if previous is None or "payment" not in previous:
            raise Conflict(
                _("The same request is still being processed. Try again in a moment."), code="in_progress"
            ) from None
        payment = Payment.objects.get(pk=previous["payment"])
    return _payment_intent_ensure(payment=payment, return_url=return_url)


def _payment_intent_ensure(*, payment: Payment, return_url: str) -> Payment:
    """Give ``payment`` its gateway intent if it has none yet (outside any row lock; idempotent at the gateway
    by the payment's id, so racing callers all get the one intent)."""
    if payment.intent_id:
        return payment
    gateway = get_gateway()
    ids = sorted(payment.orders.values_list("pk", flat=True))
    due = Order.objects.filter(pk__in=ids).order_by("payment_due_at").values_list("payment_due_at", flat=True)
    try:
        intent = gateway.create_intent(
            reference="orders:" + ",".join(map(str, ids)),
            amount=payment.amount,
            currency=payment.currency,
            return_url=return_url,
            idempotency_key=f"meadow-payment-{payment.pk}",
            expires_at=due.first(),  # the first order's payment window closes the intent too
        )
    except GatewayError as exc:
        # No intent exists, so nothing can be captured: close the payment so the orders can be paid again.
        Payment.objects.filter(pk=payment.pk, intent_id__isnull=True).update(
            status=Payment.Status.FAILED, updated_at=timezone.now()
        )
        raise PaymentUnavailable(
            _("The payment provider is not available right now. Try again in a moment."), field="orders"
        ) from exc
    Payment.objects.filter(pk=payment.pk, intent_id__isnull=True).update(
        intent_id=intent.id, redirect_url=intent.redirect_url, updated_at=timezone.now()
    )
    payment.refresh_from_db()
    return payment


def payment_webhook_receive(*, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify, store once and apply a gateway webhook. Returns what it did (``duplicate`` for a repeat).

    A forged or stale signature raises ``WebhookRefused`` (400) before anything is written."""
    gateway = get_gateway()
    try:
        event = gateway.verify_webhook(body=body, headers=headers)
    except WebhookInvalid as exc:
        raise WebhookRefused(_("The webhook signature is not valid."), code="bad_signature") from exc
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = PaymentEvent.objects.create(
                    event_id=event.id,
                    type=event.type,
                    intent_id=event.intent_id,
                    payload=json.loads(body),
                )
        except IntegrityError:
            return "duplicate"
        outcome = _payment_event_apply(event=event)
        PaymentEvent.objects.filter(pk=stored.pk).update(outcome=outcome)
        count_on_commit(PAYMENTS, outcome=outcome)
    return outcome


# Apps above orders that collect money through the same gateway (ad top-ups) register how to apply an event for an
# intent that is theirs: each handler returns its outcome, or None when the intent is not its own.
_INTENT_HANDLERS: list[Callable[[Any], str | None]] = []


def payment_intent_handler_add(handler: Callable[[Any], str | None]) -> None:
    """Register ``handler(event)`` for webhook events whose intent is no order payment (idempotent). It runs
    inside the webhook's transaction, once per event id (a repeated event is stored once and never applied)."""
    if handler not in _INTENT_HANDLERS:
        _INTENT_HANDLERS.append(handler)


def _payment_event_apply(*, event) -> str:
    payment = Payment.objects.select_for_update().filter(intent_id=event.intent_id).first()
    if payment is None:
        for handler in _INTENT_HANDLERS:
            outcome = handler(event)
            if outcome is not None:
                return outcome
        return "unknown_intent"
    P = Payment.Status
    if event.type == "payment.processing":
        moved = Payment.objects.filter(pk=payment.pk, status=P.REQUIRES_CONFIRMATION).update(
            status=P.PROCESSING
        )
        return "processing" if moved else "stale"
    if event.type == "payment.failed":
        moved = Payment.objects.filter(
            pk=payment.pk, status__in=[P.REQUIRES_CONFIRMATION, P.PROCESSING]
        ).update(status=P.FAILED)
        if not moved:
            return "stale"
        # A failed payment closes that payment only: the orders stay pending (their stock reserved, the cart as it
        # was) for the rest of their payment window, and the buyer may try again — a new payment, as at most one
        # open payment covers an order. Only the window closing (``order_expire``) or the buyer cancels them.
        now = timezone.now()
        for order in payment.orders.select_related("buyer").order_by("pk"):
            if order.status != S.PENDING_PAYMENT:
                continue
            if order.payment_due_at > now:
                due = order.payment_due_at.astimezone(UTC).strftime("%H:%M")
                _notify(recipient=order.buyer, order=order, code="order.payment_failed_retry", due=due)
            else:
                _notify(recipient=order.buyer, order=order, code="order.payment_failed_closed")
        return "failed"
    if event.type == "payment.succeeded":
        if event.amount != payment.amount or event.currency != payment.currency:
            Order.objects.filter(pk__in=payment.orders.values("pk")).update(needs_review=True)
            return "amount_mismatch"
        moved = Payment.objects.filter(
            pk=payment.pk, status__in=[P.REQUIRES_CONFIRMATION, P.PROCESSING]
        ).update(status=P.SUCCEEDED)
        if not moved:
            if payment.status == P.FAILED:  # the provider contradicted itself: a person must look
                Order.objects.filter(pk__in=payment.orders.values("pk")).update(needs_review=True)
                return "review"
            return "stale"
        payment.status = P.SUCCEEDED
        refunded = 0
        now = timezone.now()
        for order in payment.orders.select_related("buyer", "shop__owner").order_by("pk"):
            if Order.objects.filter(pk=order.pk, status=S.PENDING_PAYMENT).update(
                status=S.PAID, paid_at=now, updated_at=now
            ):
                _notify(recipient=order.buyer, order=order, code="order.paid")
                _notify(recipient=order.shop.owner, order=order, code="order.paid_seller")
            else:
                locked = Order.objects.select_for_update().get(pk=order.pk)
                paid_elsewhere = (
                    locked.paid_at is not None
                    and order.payments.filter(status=P.SUCCEEDED).exclude(pk=payment.pk).exists()
                )
                refunded += 1
                if paid_elsewhere:
                    # Another payment already paid this order: this capture is a second charge. It goes back
                    # from this payment, never from the one that paid; a person can see it in the admin.
                    _refund_create(order=order, payment=payment, reason=Refund.Reason.DUPLICATE_PAYMENT)
                    Order.objects.filter(pk=order.pk).update(needs_review=True)
                    _notify(
                        recipient=order.buyer, order=order, code="order.paid_twice", amount=str(order.total)
                    )
                    continue
                # Paid after it expired or was cancelled: its stock is gone, so the money goes back.
                _refund_create(order=order, payment=payment, reason=Refund.Reason.LATE_PAYMENT)
                _notify(recipient=order.buyer, order=order, code="order.paid_late")
        return "succeeded_with_refunds" if refunded else "succeeded"
    return "ignored"


def refund_process(*, refund_id: int) -> str:
    """Send a queued refund to the gateway (idempotent: keyed by the refund id)."""
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None or refund.status != Refund.Status.PENDING:
        return "skipped"
    try:
        result = get_gateway().refund(
            intent_id=refund.payment.intent_id or "",  # a refunded payment succeeded, so it has its intent
            amount=refund.amount,
            idempotency_key=f"meadow-refund-{refund.pk}",
        )
    except GatewayError:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED
            )
            Order.objects.filter(pk=refund.order_id).update(needs_review=True)
        return "failed"
    Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
        status=Refund.Status.SUCCEEDED, gateway_refund_id=result.id
    )
    return "succeeded"


def sandbox_confirm(*, intent_id: str, succeed: bool) -> bool:
    """The buyer's choice on the sandbox's hosted page (the provider's side, not Meadow's)."""
    from meadow.orders.gateway import SandboxGateway

    return SandboxGateway().confirm(intent_id=intent_id, succeed=succeed)


def idempotency_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    return IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()[0]

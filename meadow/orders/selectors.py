"""Reads of carts, addresses, orders and sales. One access function per protected object: an order the viewer
may not see is a 404 (``NotFound``), never a 403, so its existence does not leak."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import NotFound
from meadow.orders.models import Address, CartItem, Order, OrderLine, Payment, Refund, RefundRequest

S = Order.Status
REVENUE_STATUSES = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED)


def cart_item_count(*, user: User) -> int:
    return CartItem.objects.filter(user=user).count()


def cart_get(*, user: User) -> dict[str, Any]:
    """The cart grouped by shop: ``{"groups": [{"shop", "items": [(item, available)], "subtotal"}], "total",
    "count"}``. An item whose SKU cannot be bought now (off sale, shop closed, sold out) is marked unavailable."""
    from meadow.store.selectors import skus_purchasable

    items = list(
        CartItem.objects.filter(user=user)
        .select_related("sku__product__shop")
        .prefetch_related("sku__product__images")
        .order_by("sku__product__shop_id", "-id")
    )
    buyable = skus_purchasable(sku_ids=[item.sku_id for item in items])
    groups: dict[int, dict[str, Any]] = {}
    total = Decimal("0.00")
    for item in items:
        shop = item.sku.product.shop
        group = groups.setdefault(shop.pk, {"shop": shop, "items": [], "subtotal": Decimal("0.00")})
        available = item.sku_id in buyable and item.sku.stock >= item.quantity
        item.available = available
        item.line_total = item.sku.price * item.quantity
        group["items"].append(item)
        if available:
            group["subtotal"] += item.line_total
            total += item.line_total
    return {"groups": list(groups.values()), "items": items, "total": total, "count": len(items)}


def addresses_for(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user, is_archived=False).order_by("-is_default", "-id")


def address_get_for_owner(*, user: User, address_id: int) -> Address:
    found = Address.objects.filter(pk=address_id, user=user, is_archived=False).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _orders() -> QuerySet[Order]:
    return (
        Order.objects.select_related("shop__owner", "buyer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
            Prefetch("refund_requests", queryset=RefundRequest.objects.order_by("-pk")),
            Prefetch("refunds", queryset=Refund.objects.order_by("pk")),
        )
        .all()
    )


def order_get_for_viewer(*, user: User, order_id: int) -> Order:
    """The order for its buyer or its shop's owner; 404 for everyone else (staff included: orders are private)."""
    order = _orders().filter(pk=order_id).first()
    if order is None or not user.is_authenticated:
        raise NotFound(_("Not found."))
    if order.buyer_id == user.pk:
        order.viewer_role = "buyer"
    elif order.shop.owner_id == user.pk:
        order.viewer_role = "seller"
    else:
        raise NotFound(_("Not found."))
    return order


def orders_for_buyer(*, user: User, status: str | None = None) -> QuerySet[Order]:
    qs = _orders().filter(buyer=user)
    return qs.filter(status=status) if status else qs


def orders_for_seller(*, user: User, status: str | None = None) -> QuerySet[Order]:
    """Only the orders of the seller's own shop (none if they have no shop)."""
    qs = _orders().filter(shop__owner=user)
    return qs.filter(status=status) if status else qs


def refund_requests_for_seller(*, user: User, status: str | None = None) -> QuerySet[RefundRequest]:
    qs = RefundRequest.objects.select_related("order__buyer", "order__shop").filter(order__shop__owner=user)
    return qs.filter(status=status) if status else qs


def payment_get_for_buyer(*, user: User, payment_id: int) -> Payment:
    found = Payment.objects.filter(pk=payment_id, buyer=user).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def shop_sales_daily(*, user: User, days: int = 30) -> dict[str, Any]:
    """Daily revenue and paid orders of the seller's shop over the last ``days`` days (by payment date, UTC);
    cancelled and refunded orders do not count."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows = (
        Order.objects.filter(shop__owner=user, status__in=REVENUE_STATUSES, paid_at__date__gte=start)
        .annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(revenue=Sum("total"), orders=Count("id"))
        .order_by("day")
    )
    revenue: dict[date, Decimal] = defaultdict(lambda: Decimal("0.00"))
    count: dict[date, int] = defaultdict(int)
    for row in rows:
        revenue[row["day"]] += Decimal(row["revenue"] or 0)
        count[row["day"]] += row["orders"]
    days_list = [start + timedelta(days=i) for i in range(days)]
    return {
        "days": [
            {"day": day, "revenue": revenue[day].quantize(Decimal("0.01")), "orders": count[day]}
            for day in days_list
        ],
        "revenue": sum(revenue.values(), start=Decimal("0.00")).quantize(Decimal("0.01")),
        "orders": sum(count.values()),
    }

"""Pages of the cart, checkout, orders, the sandbox provider's hosted payment page and the seller's order desk."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from meadow.core.errors import DomainError, errors_of
from meadow.core.redirects import local_path, next_url, safe_redirect_target
from meadow.orders import selectors, services
from meadow.orders.models import MalaysianState, Order, Refund, SandboxIntent

S = Order.Status
CARRIERS = ["Pos Laju", "J&T Express", "Ninja Van", "DHL eCommerce", "GD Express", "City-Link Express"]
ADDRESS_FIELDS = ("recipient_name", "phone", "line1", "line2", "postcode", "city", "state")


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _next(request: HttpRequest, default: str) -> str:
    return next_url(request, default)


def _referer(request: HttpRequest, default: str) -> str:
    """Back to the page the form was on, if that page is on this site."""
    return (
        safe_redirect_target(
            request.headers.get("Referer"),
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
        or default
    )


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


# --- cart ------------------------------------------------------------------------------------------------------
@login_required
def cart_page(request: HttpRequest) -> HttpResponse:
    cart = selectors.cart_get(user=request.user)
    return render(request, "orders/cart.html", {"cart": cart, "nav_section": "cart"})


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    back = _next(request, _referer(request, reverse("web:cart")))
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    sku_id = _int(request.POST.get("sku"))
    if sku_id is None:
        messages.error(request, _("Choose an option first."))
        return HttpResponseRedirect(back)
    try:
        services.cart_add(
            user=request.user, sku_id=sku_id, quantity=_int(request.POST.get("quantity"), 1) or 0
        )
    except DomainError as exc:
        _error(request, exc)
        return HttpResponseRedirect(back)
    messages.success(request, _("Added to your cart."))
    return redirect("web:cart")


@login_required
@require_POST
def cart_item_update(request: HttpRequest, sku_id: int) -> HttpResponse:
    quantity = 0 if request.POST.get("remove") else _int(request.POST.get("quantity"), -1)
    try:
        services.cart_set_quantity(user=request.user, sku_id=sku_id, quantity=quantity)
    except DomainError as exc:
        _error(request, exc)
    return redirect("web:cart")


# --- checkout --------------------------------------------------------------------------------------------------
@require_POST
def buy_now(request: HttpRequest) -> HttpResponse:
    """The product page's "Buy now": straight to checkout with this SKU (sign in first if needed)."""
    sku_id = _int(request.POST.get("sku"))
    quantity = _int(request.POST.get("quantity"), 1)
    if sku_id is None:
        messages.error(request, _("Choose an option first."))
        return HttpResponseRedirect(_referer(request, reverse("web:store")))
    target = reverse("web:checkout") + "?" + urlencode({"sku": sku_id, "quantity": quantity})
    if not request.user.is_authenticated:
        return redirect_to_login(target)
    return redirect(target)


def _checkout_items(request: HttpRequest) -> tuple[list[dict[str, Any]], bool]:
    """What is being bought: one SKU ("Buy now", from the query/form) or the cart."""
    data = request.POST if request.method == "POST" else request.GET
    sku_id = _int(data.get("sku"))
    if sku_id is not None:
        return [{"sku": sku_id, "quantity": _int(data.get("quantity"), 1) or 0}], False
    cart = selectors.cart_get(user=request.user)
    return [{"sku": i.sku_id, "quantity": i.quantity} for i in cart["items"] if i.available], True


def _preview(items: list[dict[str, Any]]) -> dict[str, Any]:
    from meadow.store.selectors import skus_purchasable

    skus = skus_purchasable(sku_ids=[i["sku"] for i in items])
    groups: dict[int, dict[str, Any]] = {}
    total = Decimal("0.00")
    for item in items:
        sku = skus.get(item["sku"])
        if sku is None:
            continue
        shop = sku.product.shop
        group = groups.setdefault(shop.pk, {"shop": shop, "lines": [], "subtotal": Decimal("0.00")})
        line_total = sku.price * item["quantity"]
        group["lines"].append({"sku": sku, "quantity": item["quantity"], "line_total": line_total})
        group["subtotal"] += line_total
        total += line_total
    return {"groups": list(groups.values()), "total": total, "missing": len(items) - len(skus)}


@login_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    items, from_cart = _checkout_items(request)
    addresses = list(selectors.addresses_for(user=request.user))
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in ADDRESS_FIELDS}
        choice = request.POST.get("address", "")
        key = request.POST.get("idempotency_key") or None
        try:
            if choice == "new" or not addresses:
                address: Any = services.address_create(
                    user=request.user, data=values, make_default=bool(request.POST.get("make_default"))
                )
            else:
                address = _int(choice, 0)
            if from_cart:
                checkout = services.cart_checkout(buyer=request.user, address=address, idempotency_key=key)
            else:
                checkout = services.order_place(
                    buyer=request.user, items=items, address=address, idempotency_key=key
                )
            orders = list(checkout.orders.order_by("pk"))
            return_url = (
                reverse("web:order", args=[orders[0].pk]) if len(orders) == 1 else reverse("web:orders")
            )
            payment = services.payment_start(
                buyer=request.user,
                order_ids=[o.pk for o in orders],
                return_url=return_url,
                idempotency_key=f"{key}:pay" if key else None,
            )
            return HttpResponseRedirect(payment.redirect_url)
        except DomainError as exc:
            for each in errors_of(exc):  # every wrong field at once, each by its field
                errors.setdefault(each.field or "__all__", str(each.message))
                if each.field not in ADDRESS_FIELDS:
                    messages.error(request, str(each.message))
            addresses = list(selectors.addresses_for(user=request.user))
    preview = _preview(items)
    context = {
        "preview": preview,
        "items": items,
        "from_cart": from_cart,
        "addresses": addresses,
        "errors": errors,
        "values": values,
        "states": MalaysianState.choices,
        "new_selected": request.POST.get("address") == "new" or not addresses,
        "idempotency_key": uuid.uuid4().hex,
        "nav_section": "cart",
    }
    return render(request, "orders/checkout.html", context, status=400 if errors else 200)


# --- buyer's orders --------------------------------------------------------------------------------------------
BUYER_TABS = [
    ("", gettext_lazy("All")),
    (S.PENDING_PAYMENT, S.PENDING_PAYMENT.label),
    (S.PAID, gettext_lazy("To ship")),
    (S.SHIPPED, S.SHIPPED.label),
    (S.COMPLETED, S.COMPLETED.label),
]


def _page(qs, request: HttpRequest, size: int = 20) -> tuple[list, int | None]:
    before = _int(request.GET.get("before"))
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if more and rows else None)


@login_required
def order_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in S.values:
        status = ""
    orders, before = _page(selectors.orders_for_buyer(user=request.user, status=status or None), request)
    context = {"orders": orders, "before": before, "status": status, "tabs": BUYER_TABS, "nav_section": "me"}
    return render(request, "orders/orders.html", context)


def _order_or_404(request: HttpRequest, order_id: int) -> Order:
    try:
        return selectors.order_get_for_viewer(user=request.user, order_id=order_id)
    except DomainError as exc:
        raise Http404 from exc


@login_required
def order_detail_page(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    payment = order.payments.order_by("-pk").first()
    requests = list(order.refund_requests.all())
    context = {
        "order": order,
        "role": order.viewer_role,
        "payment": payment,
        "refund_request": requests[0] if requests else None,
        "refunds": list(Refund.objects.filter(order=order).order_by("pk")),
        "carriers": CARRIERS,
        "can_request_refund": order.viewer_role == "buyer"
        and order.status in services.REFUNDABLE
        and (not requests or requests[0].status == "rejected"),
        "processing": order.status == S.PENDING_PAYMENT
        and payment is not None
        and payment.status in ("processing", "succeeded"),
        # the last payment failed: the order is still pending, the buyer may try again until the window closes
        "payment_failed": order.status == S.PENDING_PAYMENT
        and payment is not None
        and payment.status == "failed",
        "nav_section": "me",
    }
    return render(request, "orders/order.html", context)


@login_required
@require_POST
def order_pay(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(request, order_id)
    try:
        payment = services.payment_start(
            buyer=request.user,
            order_ids=[order.pk],
            return_url=reverse("web:order", args=[order.pk]),
            idempotency_key=request.POST.get("idempotency_key") or None,
        )
    except DomainError as exc:
        _error(request, exc)
        return redirect("web:order", order_id=order.pk)
    return HttpResponseRedirect(payment.redirect_url)


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    order = _order_or_404(request, order_id)
    user = request.user
    post = request.POST
    done = {
        "cancel": _("The order was cancelled."),
        "ship": _("Marked as shipped."),
        "deliver": _("Marked as delivered."),
        "complete": _("Thank you! The order is complete."),
        "refund-request": _("Your refund request was sent to the seller."),
        "refund-decision": _("Your decision was sent to the buyer."),
    }
    if action not in done:
        raise Http404
    try:
        if action == "cancel":
            services.order_cancel(order=order, user=user, reason=post.get("reason", ""))
        elif action == "ship":
            services.order_ship(
                order=order,
                user=user,
                tracking_number=post.get("tracking_number", ""),
                carrier=post.get("carrier", ""),
            )
        elif action == "deliver":
            services.order_deliver(order=order, user=user)
        elif action == "complete":
            services.order_complete(order=order, user=user)
        elif action == "refund-request":
            services.refund_request_create(order=order, user=user, reason=post.get("reason", ""))
        else:
            services.refund_request_decide(
                order=order,
                user=user,
                approve=post.get("decision") == "approve",
                reason=post.get("reason", ""),
            )
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done[action])
    return HttpResponseRedirect(_next(request, reverse("web:order", args=[order.pk])))


# --- address book ----------------------------------------------------------------------------------------------
@login_required
def address_book_page(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                address = selectors.address_get_for_owner(
                    user=request.user, address_id=_int(request.POST["delete"], 0)
                )
                services.address_delete(user=request.user, address=address)
                messages.success(request, _("Address removed."))
            elif request.POST.get("default"):
                address = selectors.address_get_for_owner(
                    user=request.user, address_id=_int(request.POST["default"], 0)
                )
                services.address_update(user=request.user, address=address, data={"is_default": True})
            else:
                values = {name: request.POST.get(name, "") for name in ADDRESS_FIELDS}
                services.address_create(
                    user=request.user, data=values, make_default=bool(request.POST.get("make_default"))
                )
                messages.success(request, _("Address saved."))
            return redirect("web:addresses")
        except DomainError as exc:
            for each in errors_of(exc):
                errors.setdefault(each.field or "__all__", str(each.message))
    context = {
        "addresses": selectors.addresses_for(user=request.user),
        "errors": errors,
        "values": values,
        "states": MalaysianState.choices,
        "nav_section": "me",
    }
    return render(request, "orders/addresses.html", context, status=400 if errors else 200)


# --- the sandbox provider's hosted page ------------------------------------------------------------------------
def sandbox_pay_page(request: HttpRequest, intent_id: str) -> HttpResponse:
    """Like Stripe's test checkout: shows the amount and lets the buyer Pay or Fail. This page belongs to the
    (simulated) provider: it knows the intent, not Meadow's orders; Meadow learns the outcome by webhook."""
    intent = SandboxIntent.objects.filter(intent_id=intent_id).first()
    if intent is None:
        raise Http404
    back = local_path(intent.return_url) or "/"
    if request.method == "POST":
        outcome = request.POST.get("outcome")
        if outcome in ("pay", "fail") and not services.sandbox_confirm(
            intent_id=intent_id, succeed=outcome == "pay"
        ):
            intent.refresh_from_db()
            context = _sandbox_context(intent, back)
            if intent.status == SandboxIntent.Status.CANCELED or context["expired"]:
                # The order can no longer be paid: nothing was taken; say why instead of going back.
                return render(request, "orders/sandbox_pay.html", context, status=409)
        return HttpResponseRedirect(back)  # decided (a second click changes nothing): back to the shop
    return render(request, "orders/sandbox_pay.html", _sandbox_context(intent, back))


def _sandbox_context(intent: SandboxIntent, back: str) -> dict:
    expired = (
        intent.status == SandboxIntent.Status.REQUIRES_CONFIRMATION
        and intent.expires_at is not None
        and intent.expires_at <= timezone.now()
    )
    payable = intent.status == SandboxIntent.Status.REQUIRES_CONFIRMATION and not expired
    return {"intent": intent, "back": back, "payable": payable, "expired": expired}


# --- seller ----------------------------------------------------------------------------------------------------
SELLER_TABS = [
    (S.PAID, gettext_lazy("To ship")),
    (S.SHIPPED, S.SHIPPED.label),
    (S.PENDING_PAYMENT, S.PENDING_PAYMENT.label),
    ("", gettext_lazy("All")),
]


@login_required
def seller_orders_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", S.PAID)
    if status and status not in S.values:
        status = S.PAID
    orders, before = _page(selectors.orders_for_seller(user=request.user, status=status or None), request)
    context = {
        "orders": orders,
        "before": before,
        "status": status,
        "tabs": SELLER_TABS,
        "carriers": CARRIERS,
        "has_shop": hasattr(request.user, "shop"),
        "nav_section": "me",
    }
    return render(request, "orders/seller_orders.html", context)


@login_required
def seller_refunds_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "pending")
    if status not in ("pending", "approved", "rejected", ""):
        status = "pending"
    requests, before = _page(
        selectors.refund_requests_for_seller(user=request.user, status=status or None), request
    )
    context = {"requests": requests, "before": before, "status": status, "nav_section": "me"}
    return render(request, "orders/seller_refunds.html", context)


@login_required
def seller_sales_page(request: HttpRequest) -> HttpResponse:
    from meadow.core.charts import chart_svg

    days = 30 if request.GET.get("days") != "7" else 7
    sales = selectors.shop_sales_daily(user=request.user, days=days)
    revenue_chart = chart_svg(
        series={_("Revenue (RM)"): [(d["day"], float(d["revenue"])) for d in sales["days"]]},
        title=_("Daily revenue"),
        y_label="RM",
        kind="bar",
    )
    orders_chart = chart_svg(
        series={_("Paid orders"): [(d["day"], float(d["orders"])) for d in sales["days"]]},
        title=_("Paid orders per day"),
        kind="line",
    )
    context = {
        "sales": sales,
        "days": days,
        "revenue_chart": revenue_chart,
        "orders_chart": orders_chart,
        "has_shop": hasattr(request.user, "shop"),
        "nav_section": "me",
    }
    return render(request, "orders/seller_sales.html", context)

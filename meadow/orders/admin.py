"""Read-only console views of orders, payments, webhook events and refunds (staff support; "needs review"
orders first). Changes go through the services, never through the admin's forms."""

from __future__ import annotations

from django.contrib import admin

from meadow.orders.models import Order, OrderLine, Payment, PaymentEvent, Refund, RefundRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("sku", "product_title", "sku_name", "unit_price", "quantity", "line_total")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "needs_review", "shop", "buyer", "total", "created_at", "paid_at")
    list_filter = ("needs_review", "status")
    search_fields = ("=id", "buyer__handle", "shop__name", "tracking_number")
    ordering = ("-needs_review", "-id")
    list_select_related = ("shop", "buyer")
    inlines = [OrderLineInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "intent_id", "status", "amount", "currency", "buyer", "created_at")
    list_filter = ("status", "gateway")
    search_fields = ("intent_id", "buyer__handle")


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "intent_id", "outcome", "received_at")
    list_filter = ("type", "outcome")
    search_fields = ("event_id", "intent_id")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "payment", "amount", "reason", "status", "gateway_refund_id", "created_at")
    list_filter = ("status", "reason")


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "status", "created_at", "decided_at")
    list_filter = ("status",)

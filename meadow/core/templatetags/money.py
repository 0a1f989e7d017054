"""Money as people in Malaysia read it, the same on every page: ``{{ order.total|money }}`` → "RM 32.00";
another currency by its code (``{{ amount|money:"SGD" }}`` → "SGD 32.00"). A builtin of the templates (settings),
so no page writes "MYR 32.00" in one place and "RM" in another."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

SYMBOLS = {"MYR": "RM"}


def money_label(value, currency: str = "MYR") -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    code = (currency or "MYR").upper()
    return f"{SYMBOLS.get(code, code)} {amount:,.2f}"


@register.filter
def money(value, currency: str = "MYR") -> str:
    return money_label(value, currency)

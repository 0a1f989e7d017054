"""Template helpers of the orders app: the buy box's default SKU and the cart badge in the nav."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def buyable_skus(product) -> list:
    """The product's active SKUs in display order; the first one in stock is marked ``preselected``."""
    skus = [sku for sku in product.skus.all() if sku.is_active]
    skus.sort(key=lambda sku: (getattr(sku, "position", 0), sku.pk))
    chosen = False
    for sku in skus:
        sku.preselected = bool(sku.stock) and not chosen
        chosen = chosen or sku.preselected
    return skus


@register.simple_tag(takes_context=True)
def cart_count(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    from meadow.orders.selectors import cart_item_count

    return cart_item_count(user=user)


@register.filter
def state_name(code: str) -> str:
    """A shipping address's state by name ("W.P. Kuala Lumpur"), not its stored code ("KUL")."""
    from meadow.orders.models import MalaysianState

    try:
        return str(MalaysianState(code).label)
    except ValueError:
        return code

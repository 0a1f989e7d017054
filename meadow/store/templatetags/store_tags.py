from __future__ import annotations

from django import template

from meadow.core.templatetags.money import money_label
from meadow.store.selectors import product_price_label

register = template.Library()


@register.filter
def price_range(product) -> str:
    """“RM 29.90” or “RM 29.90 – 59.00” from the annotated price range."""
    return product_price_label(product)


@register.filter
def rm(value) -> str:
    return money_label(value)


@register.simple_tag
def products_picked(ids) -> list:
    """The composer's picked products (ids as posted), for re-rendering their chips after an error."""
    from meadow.store.models import Product

    clean = [int(i) for i in ids or [] if str(i).isdigit()][:20]
    found = {p.pk: p for p in Product.objects.filter(pk__in=clean)}
    return [found[i] for i in clean if i in found]

from __future__ import annotations

from django import template

from meadow.business.selectors import Contact, contact_for

register = template.Library()


@register.simple_tag
def contact_of(person) -> Contact | None:
    """The contact component's links for a verified business (``None`` otherwise): one query, only for
    verified accounts."""
    if person is None or not getattr(person, "is_verified_enterprise", False):
        return None
    return contact_for(user=person)


@register.simple_tag
def selling_shop_of(person):
    """The person's shop when it is selling (verified owner, active shop), else ``None``."""
    if person is None or not getattr(person, "is_verified_enterprise", False):
        return None
    from meadow.store.models import Shop

    return Shop.objects.filter(owner=person, is_active=True).first()

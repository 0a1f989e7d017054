"""Test data for orders: a verified seller's shop with an on-sale product and SKUs."""

from __future__ import annotations

from decimal import Decimal

from meadow.store.models import Product, Shop, Sku
from tests.factories import UserFactory

ADDRESS = {
    "recipient_name": "Siti Aminah",
    "phone": "012-345 6789",
    "line1": "12, Jalan Telawi 3",
    "line2": "Bangsar Baru",
    "postcode": "59100",
    "city": "Kuala Lumpur",
    "state": "KUL",
}


def make_shop(*, owner=None, name: str = "Kedai Mei") -> Shop:
    owner = owner or UserFactory(is_verified_enterprise=True)
    if not owner.is_verified_enterprise:
        owner.is_verified_enterprise = True
        owner.save(update_fields=["is_verified_enterprise"])
    return Shop.objects.create(owner=owner, name=name)


def make_sku(
    *,
    shop: Shop | None = None,
    price: str = "12.50",
    stock: int = 10,
    name: str = "Red / M",
    title: str = "Batik tote",
) -> Sku:
    shop = shop or make_shop()
    product = Product.objects.create(shop=shop, title=title, status=Product.Status.ON_SALE)
    return Sku.objects.create(product=product, name=name, price=Decimal(price), stock=stock)

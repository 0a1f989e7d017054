"""Test data for the store: verified sellers, shops, products with SKUs, images and files."""

from __future__ import annotations

from decimal import Decimal

from meadow.notes.tests.factories import image_bytes, upload
from meadow.store.models import Product, ProductImage, Shop, Sku
from tests.factories import UserFactory

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def verified_user(**kwargs):
    return UserFactory(is_verified_enterprise=True, **kwargs)


def make_shop(*, owner=None, name: str = "Kedai Mei", **kwargs) -> Shop:
    owner = owner or verified_user()
    return Shop.objects.create(owner=owner, name=name, **kwargs)


def make_product(
    *,
    shop: Shop | None = None,
    title: str = "Batik tote",
    status: str = Product.Status.ON_SALE,
    prices: tuple[str, ...] = ("29.90",),
    stock: int = 5,
    image: bool = False,
    description: str = "Hand-printed in Kelantan.",
) -> Product:
    shop = shop or make_shop()
    product = Product.objects.create(shop=shop, title=title, status=status, description=description)
    for i, price in enumerate(prices):
        Sku.objects.create(
            product=product, name=f"Option {i + 1}", price=Decimal(price), stock=stock, position=i
        )
    if image:
        ProductImage.objects.create(
            product=product, image=f"products/test/{product.pk}.webp", width=600, height=600
        )
    return product


def pdf_upload(name: str = "licence.pdf", data: bytes = PDF):
    return upload(data, name, "application/pdf")


def jpeg_upload(name: str = "licence.jpg"):
    return upload(image_bytes("JPEG", size=(120, 90)), name, "image/jpeg")

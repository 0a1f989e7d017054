"""Shops, products, SKUs and product tags in notes (PRODUCT.md §7): data and invariants only.

Money is ``Decimal`` in MYR. ``Sku.stock`` is the number of units that can be sold now: checkout reservations take
units off it with conditional atomic UPDATEs and releases give them back (meadow/orders); a check constraint
keeps it ≥ 0. Only a verified enterprise has a shop (enforced in services, re-checked by
``selectors.skus_purchasable``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TITLE_MAX = 120
MAX_PRODUCT_IMAGES = 9
MAX_TAGS_PER_NOTE = 5


def upload_shop_logo(instance: Shop, filename: str) -> str:
    return f"shops/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.webp"


def upload_product_image(instance: ProductImage, filename: str) -> str:
    return f"products/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.webp"


class Shop(models.Model):
    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop")
    name = models.CharField(_("shop name"), max_length=80)
    logo = models.ImageField(_("logo"), upload_to=upload_shop_logo, blank=True, max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    shipping_policy = models.TextField(_("shipping policy"), blank=True, default="")
    returns_policy = models.TextField(_("returns policy"), blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ON_SALE = "on_sale", _("On sale")
        OFF_SALE = "off_sale", _("Off sale")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    tag_clicks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["status", "-id"]), models.Index(fields=["shop", "-id"])]

    def __str__(self) -> str:
        return self.title

    @property
    def author(self):
        """The account answerable for the product (the enforcement console looks for ``author``)."""
        return self.shop.owner

    @property
    def cover(self) -> ProductImage | None:
        images = list(self.images.all())
        return images[0] if images else None


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=upload_product_image, max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    color = models.CharField(max_length=7, default="#cccccc")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"image {self.position} of product {self.product_id}"


class Sku(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    name = models.CharField(_("variant"), max_length=80)
    attributes = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(_("price (MYR)"), max_digits=12, decimal_places=2)
    stock = models.PositiveIntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="sku_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.name}"


class NoteProductTag(models.Model):
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="product_tags")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="note_tags")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["note", "product"], name="note_product_tag_once")]
        indexes = [models.Index(fields=["product", "-id"])]

    def __str__(self) -> str:
        return f"note {self.note_id} tags product {self.product_id}"

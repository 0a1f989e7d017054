"""Shops, products, SKUs, product images and product tags in notes: every write is here.

Only a verified enterprise opens and runs a shop. Product titles and descriptions are checked like notes
(``enforcement_check_text``: a ``block`` refuses with the findings, a ``review`` saves the product held for a
moderator — not listed until approved). Stock edits by the seller lock the SKU rows (pk order) so they never
interleave with checkout's conditional decrements (meadow/orders).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from meadow.accounts.models import User
from meadow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from meadow.core.images import process_image_upload
from meadow.core.schema import END_OF_TEXT
from meadow.core.text import clean_text
from meadow.store.models import (
    MAX_PRODUCT_IMAGES,
    MAX_TAGS_PER_NOTE,
    TITLE_MAX,
    NoteProductTag,
    Product,
    ProductImage,
    Shop,
    Sku,
)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
MAX_SKUS = 50
MAX_PRICE = Decimal("999999.99")
# A price in MYR as a client writes it: up to 6 digits of ringgit and at most 2 decimals (0–MAX_PRICE). The API's
# schema states this pattern; price_parse() takes exactly what it matches, or a whole number of ringgit.
PRICE_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,2})?" + END_OF_TEXT
_PRICE = re.compile(PRICE_PATTERN)
MAX_STOCK = 1_000_000
MAX_ATTRIBUTES = 5  # per variant: up to 5 names (at most 30 characters) with values (at most 40)
ATTRIBUTE_NAME_MAX = 30
ATTRIBUTE_VALUE_MAX = 40
SHOP_TEXT_MAX = 2000
SHOP_NAME_MAX = 80
SKU_NAME_MAX = 80
PRODUCT_DESCRIPTION_MAX = 5000
PRODUCT_IMAGE_FIT = (1440, 1440)


# --- validation -------------------------------------------------------------------------------------------------
_text = clean_text  # multi-line descriptions keep their line breaks


def price_parse(value: Any, *, field: str = "price") -> Decimal:
    """A price in MYR: a string PRICE_PATTERN matches ("29.90"), or a whole number of ringgit (0–999999, e.g. a JSON
    ``35``). Never a fraction in binary floating point (``29.9`` as a JSON number): money is a decimal string."""
    if isinstance(value, Decimal) and value.is_finite():
        value = str(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(_("Enter a price such as 29.90."), field=field, code="bad_price")
    if not _PRICE.fullmatch(value):
        raise ValidationFailed(
            _("Enter a price between 0 and 999999.99 with at most two decimals."),
            field=field,
            code="bad_price",
        )
    return Decimal(value).quantize(Decimal("0.01"))


def _stock(value: Any, *, field: str) -> int:
    try:
        stock = int(str(value).strip())
    except (ValueError, TypeError):
        raise ValidationFailed(_("Stock must be a whole number."), field=field, code="bad_stock") from None
    if not 0 <= stock <= MAX_STOCK:
        raise ValidationFailed(
            _("Stock must be between 0 and %(max)d.") % {"max": MAX_STOCK}, field=field, code="bad_stock"
        )
    return stock


def skus_validate(skus: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check a product's variants: 1–50, unique names, prices and stock in range. Returns clean dicts
    (``id`` kept when given, for updates)."""
    if not isinstance(skus, list | tuple) or not skus:
        raise ValidationFailed(
            _("Add at least one variant with a price."), field="skus", code="skus_required"
        )
    if len(skus) > MAX_SKUS:
        raise ValidationFailed(
            _("A product can have at most %(max)d variants.") % {"max": MAX_SKUS},
            field="skus",
            code="too_many",
        )
    clean, seen = [], set()
    for i, raw in enumerate(skus):
        name = _text(
            raw.get("name") or _("Standard"),
            field=f"skus.{i}.name",
            label=_("Variant"),
            max_length=SKU_NAME_MAX,
        )
        key = name.casefold()
        if key in seen:
            raise ValidationFailed(
                _("Two variants are called “%(name)s”.") % {"name": name}, field="skus", code="duplicate_sku"
            )
        seen.add(key)
        attributes = raw.get("attributes") or {}
        if (
            not isinstance(attributes, dict)
            or len(attributes) > MAX_ATTRIBUTES
            or any(
                not isinstance(k, str)
                or not isinstance(v, str)
                or len(k) > ATTRIBUTE_NAME_MAX
                or len(v) > ATTRIBUTE_VALUE_MAX
                for k, v in attributes.items()
            )
        ):
            raise ValidationFailed(
                _("Variant attributes are up to 5 short names and values, e.g. colour: red."),
                field=f"skus.{i}.attributes",
                code="bad_attributes",
            )
        clean.append(
            {
                "id": int(raw["id"]) if raw.get("id") else None,
                "name": name,
                "attributes": attributes,
                "price": price_parse(raw.get("price"), field=f"skus.{i}.price"),
                "stock": _stock(raw.get("stock", 0), field=f"skus.{i}.stock"),
                "is_active": bool(raw.get("is_active", True)),
            }
        )
    return clean


def _require_seller(user: User) -> None:
    if not user.is_active:
        raise PermissionDenied(_("This account cannot sell."), code="inactive")
    if not user.is_verified_enterprise:
        raise PermissionDenied(
            _("Only verified businesses can open a shop. Apply for verification first."),
            code="not_verified_enterprise",
        )


def _own_shop(*, shop: Shop, user: User) -> None:
    if shop.owner_id != user.pk:
        raise PermissionDenied(_("Only the shop's owner can change it."), code="not_owner")
    _require_seller(user)


def _screen(*, user: User, text: str, error_field: str):
    from meadow.enforcement.services import enforcement_check_text

    if not text.strip():
        return None
    return enforcement_check_text(user=user, text=text, field="note", error_field=error_field)


# --- shops ------------------------------------------------------------------------------------------------------
def shop_create(
    *,
    owner: User,
    name: str,
    description: str = "",
    shipping_policy: str = "",
    returns_policy: str = "",
    logo: Any = None,
) -> Shop:
    """Open ``owner``'s shop (one per account). Only a verified enterprise; name and texts are checked."""
    _require_seller(owner)
    fields = {
        "name": _text(name, field="name", label=_("Shop name"), max_length=SHOP_NAME_MAX, required=True),
        "description": _text(
            description, field="description", label=_("Description"), max_length=SHOP_TEXT_MAX
        ),
        "shipping_policy": _text(
            shipping_policy, field="shipping_policy", label=_("Shipping policy"), max_length=SHOP_TEXT_MAX
        ),
        "returns_policy": _text(
            returns_policy, field="returns_policy", label=_("Returns policy"), max_length=SHOP_TEXT_MAX
        ),
    }
    _screen(user=owner, text=f"{fields['name']}\n{fields['description']}", error_field="description")
    processed = _logo(logo)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        if Shop.objects.filter(owner=owner).exists():
            raise Conflict(_("You already have a shop."), code="shop_exists")
        shop = Shop(owner=owner, **fields)
        if processed is not None:
            shop.logo.save(processed.content.name, processed.content, save=False)
        shop.save()
    return shop


def _logo(upload: Any):
    if upload is None:
        return None
    return process_image_upload(
        upload,
        field="logo",
        max_bytes=settings.MEADOW_AVATAR_MAX_BYTES,
        fit=(400, 400),
        crop=True,
        name="logo",
    )


def shop_update(
    *,
    shop: Shop,
    editor: User,
    name: str = UNSET,
    description: str = UNSET,
    shipping_policy: str = UNSET,
    returns_policy: str = UNSET,
    is_active: bool = UNSET,
    logo: Any = None,
) -> Shop:
    """Change the shop's settings (owner only, still verified)."""
    _own_shop(shop=shop, user=editor)
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = _text(
            name, field="name", label=_("Shop name"), max_length=SHOP_NAME_MAX, required=True
        )
    for key, label in (
        ("description", _("Description")),
        ("shipping_policy", _("Shipping policy")),
        ("returns_policy", _("Returns policy")),
    ):
        value = locals()[key]
        if value is not UNSET:
            changes[key] = _text(value, field=key, label=label, max_length=SHOP_TEXT_MAX)
    if is_active is not UNSET:
        changes["is_active"] = bool(is_active)
    if "name" in changes or "description" in changes:
        _screen(
            user=editor,
            text=f"{changes.get('name', '')}\n{changes.get('description', '')}",
            error_field="description" if "description" in changes else "name",
        )
    processed = _logo(logo)
    with transaction.atomic():
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        old_logo = locked.logo.name if processed is not None else ""
        for key, value in changes.items():
            setattr(locked, key, value)
        if processed is not None:
            locked.logo.save(processed.content.name, processed.content, save=False)
        locked.save()
        if old_logo:
            storage = locked.logo.storage
            transaction.on_commit(lambda: storage.delete(old_logo))
    return locked


# --- products ---------------------------------------------------------------------------------------------------
def _product_text(*, user: User, title: str, description: str):
    return _screen(user=user, text=f"{title}\n{description}", error_field="description")


def _hold(*, product: Product, user: User, screening) -> None:
    from meadow.enforcement.services import enforcement_hold

    enforcement_hold(obj=product, account=user, screening=screening)


def product_create(
    *,
    shop: Shop,
    editor: User,
    title: str,
    description: str = "",
    skus: Sequence[dict[str, Any]],
    status: str = Product.Status.DRAFT,
    images: Sequence[Any] = (),
) -> Product:
    """Add a product with its variants (and optionally images) to the editor's shop."""
    _own_shop(shop=shop, user=editor)
    title = _text(title, field="title", label=_("Title"), max_length=TITLE_MAX, required=True)
    description = _text(
        description, field="description", label=_("Description"), max_length=PRODUCT_DESCRIPTION_MAX
    )
    if status not in Product.Status.values:
        raise ValidationFailed(_("Unknown status."), field="status", code="invalid_choice")
    clean = skus_validate(skus)
    if len(images) > MAX_PRODUCT_IMAGES:
        raise ValidationFailed(
            _("A product can have at most %(max)d images.") % {"max": MAX_PRODUCT_IMAGES},
            field="images",
            code="too_many_images",
        )
    screening = _product_text(user=editor, title=title, description=description)
    processed = [_image(f) for f in images if f is not None]
    now = timezone.now()
    with transaction.atomic():
        product = Product.objects.create(
            shop=shop, title=title, description=description, status=status, created_at=now, updated_at=now
        )
        Sku.objects.bulk_create(
            [
                Sku(
                    product=product,
                    name=s["name"],
                    attributes=s["attributes"],
                    price=s["price"],
                    stock=s["stock"],
                    is_active=s["is_active"],
                    position=i,
                )
                for i, s in enumerate(clean)
            ]
        )
        for i, image in enumerate(processed):
            _image_save(product=product, image=image, position=i)
        _hold(product=product, user=editor, screening=screening)
    return product


def _image(upload: Any):
    return process_image_upload(
        upload,
        field="images",
        max_bytes=settings.MEADOW_IMAGE_MAX_BYTES,
        fit=PRODUCT_IMAGE_FIT,
        crop=False,
        name="product",
    )


def _image_save(*, product: Product, image, position: int) -> ProductImage:
    row = ProductImage(
        product=product, position=position, width=image.width, height=image.height, color=image.dominant_color
    )
    row.image.save(image.content.name, image.content, save=False)
    row.save()
    return row


def _lock_own_product(*, product: Product, user: User) -> Product:
    locked = Product.objects.select_for_update().select_related("shop").filter(pk=product.pk).first()
    if locked is None:
        raise NotFound(_("Not found."))
    _own_shop(shop=locked.shop, user=user)
    return locked


def product_update(
    *,
    product: Product,
    editor: User,
    title: str = UNSET,
    description: str = UNSET,
    status: str = UNSET,
    skus: Sequence[dict[str, Any]] = UNSET,
) -> Product:
    """Edit a product (owner only). ``skus`` replaces the variant list: entries with an ``id`` update that
    variant, entries without one add a variant, variants left out are switched off (kept: orders point at
    them). Setting stock is absolute ("I have 12 now"); the rows are locked in pk order so checkout's
    decrements never interleave with it."""
    _own_shop(shop=product.shop, user=editor)
    new_title = (
        UNSET
        if title is UNSET
        else _text(title, field="title", label=_("Title"), max_length=TITLE_MAX, required=True)
    )
    new_description = (
        UNSET
        if description is UNSET
        else _text(
            description, field="description", label=_("Description"), max_length=PRODUCT_DESCRIPTION_MAX
        )
    )
    if status is not UNSET and status not in Product.Status.values:
        raise ValidationFailed(_("Unknown status."), field="status", code="invalid_choice")
    clean = UNSET if skus is UNSET else skus_validate(skus)
    screening = None
    if new_title is not UNSET or new_description is not UNSET:
        screening = _product_text(
            user=editor,
            title=product.title if new_title is UNSET else new_title,
            description=product.description if new_description is UNSET else new_description,
        )
    with transaction.atomic():
        locked = _lock_own_product(product=product, user=editor)
        if new_title is not UNSET:
            locked.title = new_title
        if new_description is not UNSET:
            locked.description = new_description
        if status is not UNSET:
            locked.status = status
        locked.updated_at = timezone.now()
        locked.save()
        if clean is not UNSET:
            _skus_replace(product=locked, clean=clean)
        _hold(product=locked, user=editor, screening=screening)
    return locked


def _skus_replace(*, product: Product, clean: list[dict[str, Any]]) -> None:
    existing = {s.pk: s for s in Sku.objects.select_for_update().filter(product=product).order_by("pk")}
    given_ids = [s["id"] for s in clean if s["id"]]
    unknown = [i for i in given_ids if i not in existing]
    if unknown:
        raise ValidationFailed(_("A variant does not belong to this product."), field="skus", code="bad_sku")
    names = {s["name"].casefold() for s in clean}
    kept_ids = set(given_ids)
    for sku in existing.values():  # names of switched-off variants are freed for new ones
        if sku.pk not in kept_ids and sku.name.casefold() in names:
            sku.name = f"{sku.name} ({sku.pk})"[:80]
            sku.is_active = False
            sku.save(update_fields=["name", "is_active"])
    Sku.objects.filter(product=product).exclude(pk__in=kept_ids).update(is_active=False)
    for position, s in enumerate(clean):
        if s["id"]:
            Sku.objects.filter(pk=s["id"]).update(
                name=s["name"],
                attributes=s["attributes"],
                price=s["price"],
                stock=s["stock"],
                is_active=s["is_active"],
                position=position,
            )
        else:
            Sku.objects.create(
                product=product,
                name=s["name"],
                attributes=s["attributes"],
                price=s["price"],
                stock=s["stock"],
                is_active=s["is_active"],
                position=position,
            )


def product_add_images(*, product: Product, editor: User, images: Sequence[Any]) -> list[ProductImage]:
    """Append images (each checked, metadata stripped, re-encoded) up to the limit."""
    _own_shop(shop=product.shop, user=editor)
    images = [f for f in images if f is not None]
    if not images:
        raise ValidationFailed(_("Choose at least one image."), field="images", code="media_required")
    processed = [_image(f) for f in images]
    with transaction.atomic():
        locked = _lock_own_product(product=product, user=editor)
        count = ProductImage.objects.filter(product=locked).count()
        if count + len(processed) > MAX_PRODUCT_IMAGES:
            raise ValidationFailed(
                _("A product can have at most %(max)d images.") % {"max": MAX_PRODUCT_IMAGES},
                field="images",
                code="too_many_images",
            )
        last = ProductImage.objects.filter(product=locked).order_by("-position").first()
        start = (last.position + 1) if last else 0
        return [_image_save(product=locked, image=img, position=start + i) for i, img in enumerate(processed)]


def product_remove_image(*, product: Product, editor: User, image_id: int) -> None:
    with transaction.atomic():
        locked = _lock_own_product(product=product, user=editor)
        image = ProductImage.objects.filter(product=locked, pk=image_id).first()
        if image is None:
            raise NotFound(_("Not found."))
        name = image.image.name
        storage = image.image.storage
        image.delete()
        transaction.on_commit(lambda: storage.delete(name))


# --- product tags in notes --------------------------------------------------------------------------------------
def note_products_validate(*, product_ids: Iterable[Any] | None) -> list[int]:
    """The products a note may tag: at most ``MAX_TAGS_PER_NOTE``, each on sale in a listed shop (any creator
    may tag any such product). Order kept, duplicates dropped."""
    from meadow.store.selectors import products_listed

    ids: list[int] = []
    for raw in product_ids or []:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValidationFailed(_("Unknown product."), field="products", code="bad_product") from None
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_TAGS_PER_NOTE:
        raise ValidationFailed(
            _("A note can tag at most %(max)d products.") % {"max": MAX_TAGS_PER_NOTE},
            field="products",
            code="too_many_products",
        )
    if ids:
        found = set(products_listed().filter(pk__in=ids).values_list("pk", flat=True))
        if len(found) != len(ids):
            raise ValidationFailed(
                _("A tagged product is not on sale any more. Remove it and try again."),
                field="products",
                code="product_unavailable",
            )
    return ids


def note_products_set(*, note: Any, product_ids: list[int]) -> None:
    """Replace the note's product tags (``product_ids`` already validated). Call inside the note's write."""
    current = list(
        NoteProductTag.objects.filter(note=note).order_by("position").values_list("product_id", flat=True)
    )
    if current == product_ids:
        return
    NoteProductTag.objects.filter(note=note).exclude(product_id__in=product_ids).delete()
    now = timezone.now()
    for position, product_id in enumerate(product_ids):
        NoteProductTag.objects.update_or_create(
            note=note,
            product_id=product_id,
            defaults={"position": position},
            create_defaults={"position": position, "created_at": now},
        )


def product_tag_click(*, note_id: int, product_id: int) -> bool:
    """A reader followed the product tag of a note: count it (only for a real tag)."""
    updated = Product.objects.filter(pk=product_id, note_tags__note_id=note_id).update(
        tag_clicks=F("tag_clicks") + 1
    )
    return bool(updated)


def product_content_type_id() -> int:
    return ContentType.objects.get_for_model(Product).pk

"""Store endpoints: shops, products with variants (SKUs) and images, product tags in notes and tag clicks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import Field, StrictBool, WithJsonSchema

from meadow.core.errors import PermissionDenied
from meadow.core.http import ModerationErrorOut, optional_auth, responses, token_or_session
from meadow.core.images import image_upload_openapi
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import NO_NUL_PATTERN, JSONCount, JSONId, JSONInt, Limits, NonBlankText, Text
from meadow.notes import selectors as note_selectors
from meadow.notes.api import NotePage, note_out
from meadow.store import selectors, services
from meadow.store.models import MAX_PRODUCT_IMAGES, TITLE_MAX, Product, Shop

router = Router(tags=["store"])

StatusIn = Literal["draft", "on_sale", "off_sale"]


# --- shapes -----------------------------------------------------------------------------------------------------
class ShopRef(Schema):
    id: int
    name: str
    owner: str
    verified: bool
    logo: str | None


class ShopOut(ShopRef):
    description: str
    shipping_policy: str
    returns_policy: str
    is_active: bool
    created_at: datetime


class SkuOut(Schema):
    id: int
    name: str
    attributes: dict[str, str]
    price: Decimal
    stock: int
    is_active: bool


class ProductImageOut(Schema):
    id: int
    url: str
    width: int
    height: int


class ProductOut(Schema):
    id: int
    title: str
    description: str
    status: str
    currency: str
    price_min: Decimal | None
    price_max: Decimal | None
    shop: ShopRef
    images: list[ProductImageOut]
    skus: list[SkuOut]
    tag_clicks: int
    created_at: datetime
    updated_at: datetime


class ProductCardOut(Schema):
    id: int
    title: str
    currency: str
    price_min: Decimal | None
    price_max: Decimal | None
    cover: str | None
    shop: ShopRef
    in_stock: bool


class ProductPage(Schema):
    items: list[ProductCardOut]
    next_cursor: str | None


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _abs(request: HttpRequest, field) -> str | None:
    return request.build_absolute_uri(field.url) if field else None


def shop_ref(request: HttpRequest, shop: Shop) -> dict:
    return {
        "id": shop.pk,
        "name": shop.name,
        "owner": shop.owner.handle,
        "verified": bool(shop.owner.is_verified_enterprise),
        "logo": _abs(request, shop.logo),
    }


def shop_out(request: HttpRequest, shop: Shop) -> dict:
    return {
        **shop_ref(request, shop),
        "description": shop.description,
        "shipping_policy": shop.shipping_policy,
        "returns_policy": shop.returns_policy,
        "is_active": shop.is_active,
        "created_at": shop.created_at,
    }


def _owner_view(request: HttpRequest, product: Product) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and product.shop.owner_id == user.pk)


def product_out(request: HttpRequest, product: Product) -> dict:
    skus = [s for s in product.skus.all() if s.is_active or _owner_view(request, product)]
    return {
        "id": product.pk,
        "title": product.title,
        "description": product.description,
        "status": product.status,
        "currency": "MYR",
        "price_min": _money(getattr(product, "price_min", None)),
        "price_max": _money(getattr(product, "price_max", None)),
        "shop": shop_ref(request, product.shop),
        "images": [
            {"id": i.pk, "url": _abs(request, i.image), "width": i.width, "height": i.height}
            for i in product.images.all()
        ],
        "skus": [
            {
                "id": s.pk,
                "name": s.name,
                "attributes": s.attributes or {},
                "price": s.price,
                "stock": s.stock,
                "is_active": s.is_active,
            }
            for s in skus
        ],
        "tag_clicks": product.tag_clicks,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def product_card_out(request: HttpRequest, product: Product) -> dict:
    cover = product.cover
    return {
        "id": product.pk,
        "title": product.title,
        "currency": "MYR",
        "price_min": _money(product.price_min),
        "price_max": _money(product.price_max),
        "cover": _abs(request, cover.image) if cover else None,
        "shop": shop_ref(request, product.shop),
        "in_stock": bool(product.stock_total),
    }


def _viewer(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _cards(request: HttpRequest, page: dict) -> dict:
    return {
        "items": [product_card_out(request, p) for p in page["items"]],
        "next_cursor": page["next_cursor"],
    }


# --- shops ------------------------------------------------------------------------------------------------------
ShopText = Annotated[Text, Limits(max_length=services.SHOP_TEXT_MAX)]


class ShopIn(Schema):
    name: Annotated[NonBlankText, Limits(max_length=services.SHOP_NAME_MAX)]
    description: ShopText = ""
    shipping_policy: ShopText = ""
    returns_policy: ShopText = ""


class CreatedOut(Schema):
    id: int


@router.post("/shops", response=responses({201: CreatedOut, 400: ModerationErrorOut}), auth=token_or_session)
def shop_create(request: HttpRequest, payload: ShopIn):
    """Open the caller's shop. Only a verified enterprise (403 ``not_verified_enterprise``); one shop per
    account (409 ``shop_exists``)."""
    shop = services.shop_create(owner=request.user, **payload.dict())
    return Status(201, {"id": shop.pk})


@router.get("/shops/{shop_id}", response=responses({200: ShopOut}), auth=optional_auth)
def shop_get(request: HttpRequest, shop_id: int):
    return shop_out(request, selectors.shop_get_for_viewer(viewer=_viewer(request), shop_id=shop_id))


class ShopPatch(Schema):
    name: Annotated[NonBlankText, Limits(max_length=services.SHOP_NAME_MAX)] | None = None
    description: ShopText | None = None
    shipping_policy: ShopText | None = None
    returns_policy: ShopText | None = None
    is_active: StrictBool | None = None


def _own_shop(request: HttpRequest, shop_id: int) -> Shop:
    shop = selectors.shop_get_for_viewer(viewer=request.user, shop_id=shop_id)
    if shop.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the shop's owner can change it."), code="not_owner")
    return shop


@router.patch(
    "/shops/{shop_id}", response=responses({200: ShopOut, 400: ModerationErrorOut}), auth=token_or_session
)
def shop_patch(request: HttpRequest, shop_id: int, payload: ShopPatch):
    """Change the shop's settings (owner only: 403 for others who can see the shop)."""
    shop = _own_shop(request, shop_id)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    shop = services.shop_update(shop=shop, editor=request.user, **changes)
    return shop_out(request, selectors.shop_get_for_viewer(viewer=request.user, shop_id=shop.pk))


@router.post(
    "/shops/{shop_id}/logo",
    response=responses({200: ShopOut}),
    auth=token_or_session,
    openapi_extra=image_upload_openapi("logo"),
)
def shop_logo(request: HttpRequest, shop_id: int, logo: File[UploadedFile]):
    """Upload the shop's logo (an image; cropped square, metadata stripped)."""
    shop = services.shop_update(shop=_own_shop(request, shop_id), editor=request.user, logo=logo)
    return shop_out(request, selectors.shop_get_for_viewer(viewer=request.user, shop_id=shop.pk))


@router.get("/shops/{shop_id}/products", response=responses({200: ProductPage}), auth=optional_auth)
def shop_products(request: HttpRequest, shop_id: int, cursor: PageCursor = None, limit: PageLimit = None):
    """The shop's products, newest first (its owner also sees drafts, off-sale and held products)."""
    viewer = _viewer(request)
    shop = selectors.shop_get_for_viewer(viewer=viewer, shop_id=shop_id)
    return _cards(request, selectors.products_for_shop(viewer=viewer, shop=shop, cursor=cursor, limit=limit))


# A price in MYR: a decimal string (services.PRICE_PATTERN, "29.90") or a whole number of ringgit; a JSON number
# with a fraction is refused (money is never a binary float).
PriceIn = Annotated[
    Annotated[str, Limits(pattern=services.PRICE_PATTERN)]
    | Annotated[JSONInt, Limits(minimum=0, maximum=int(services.MAX_PRICE))],
    Field(description='MYR: a decimal string with at most 2 decimals (e.g. "29.90") or a whole number'),
]
# Up to MAX_ATTRIBUTES names with values, e.g. {"colour": "red"}.
Attributes = Annotated[
    dict[str, str],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": services.MAX_ATTRIBUTES,
            "propertyNames": {"maxLength": services.ATTRIBUTE_NAME_MAX, "pattern": NO_NUL_PATTERN},
            "additionalProperties": {
                "type": "string",
                "maxLength": services.ATTRIBUTE_VALUE_MAX,
                "pattern": NO_NUL_PATTERN,
            },
        }
    ),
]
Stock = Annotated[JSONCount, Limits(maximum=services.MAX_STOCK)]


class SkuIn(Schema):
    id: JSONId | None = None
    name: Annotated[Text, Limits(max_length=services.SKU_NAME_MAX)] = ""
    attributes: Attributes = Field(default_factory=dict)
    price: PriceIn
    stock: Stock = 0
    is_active: StrictBool = True


# Variants: 1–MAX_SKUS. Their names must differ (ignoring letter case: 400 ``duplicate_sku``), which no JSON
# Schema keyword can state (uniqueItems compares whole objects, exactly).
Skus = Annotated[list[SkuIn], Limits(min_items=1, max_items=services.MAX_SKUS)]


class ProductIn(Schema):
    title: Annotated[NonBlankText, Limits(max_length=TITLE_MAX)]
    description: Annotated[Text, Limits(max_length=services.PRODUCT_DESCRIPTION_MAX)] = ""
    status: StatusIn = "draft"
    skus: Skus


@router.post(
    "/shops/{shop_id}/products",
    response=responses({201: ProductOut, 400: ModerationErrorOut}),
    auth=token_or_session,
)
def product_create(request: HttpRequest, shop_id: int, payload: ProductIn):
    """Add a product with its variants: ``skus`` ``[{"name", "price", "stock", "attributes"}]`` (price in MYR,
    a decimal string or number with at most two decimals). The title and description are checked like notes:
    a ``block`` answers 400 ``moderation_blocked`` with the findings; ``review`` saves it held (not listed until
    a moderator approves)."""
    shop = _own_shop(request, shop_id)
    product = services.product_create(
        shop=shop,
        editor=request.user,
        title=payload.title,
        description=payload.description,
        status=payload.status,
        skus=[s.dict() for s in payload.skus],
    )
    return Status(
        201, product_out(request, selectors.product_for_owner(owner=request.user, product_id=product.pk))
    )


@router.get("/products", response=responses({200: ProductPage}), auth=optional_auth)
def products_list(request: HttpRequest, cursor: PageCursor = None, limit: PageLimit = None):
    """Products on sale from verified shops, newest first."""
    return _cards(request, selectors.products_page(cursor=cursor, limit=limit))


class ProductSuggestOut(Schema):
    items: list[ProductCardOut]


@router.get("/products/suggest", response=responses({200: ProductSuggestOut}), auth=token_or_session)
def products_suggest(request: HttpRequest, q: str = "", limit: int = 8):
    """Products a creator can tag in a note: on sale, title containing every word of ``q``."""
    items = selectors.products_search(text=q[:100], limit=limit)
    return {"items": [product_card_out(request, p) for p in items]}


@router.get("/products/{product_id}", response=responses({200: ProductOut}), auth=optional_auth)
def product_get(request: HttpRequest, product_id: int):
    """A product (404 unless on sale in a verified shop; its owner always sees it)."""
    return product_out(
        request, selectors.product_get_for_viewer(viewer=_viewer(request), product_id=product_id)
    )


class ProductPatch(Schema):
    title: Annotated[NonBlankText, Limits(max_length=TITLE_MAX)] | None = None
    description: Annotated[Text, Limits(max_length=services.PRODUCT_DESCRIPTION_MAX)] | None = None
    status: StatusIn | None = None
    skus: Skus | None = None


def _own_product(request: HttpRequest, product_id: int) -> Product:
    product = selectors.product_get_for_viewer(viewer=request.user, product_id=product_id)
    if product.shop.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the shop's owner can change this product."), code="not_owner")
    return product


@router.patch(
    "/products/{product_id}",
    response=responses({200: ProductOut, 400: ModerationErrorOut}),
    auth=token_or_session,
)
def product_patch(request: HttpRequest, product_id: int, payload: ProductPatch):
    """Edit a product. ``skus`` replaces the variant list (give ``id`` to keep a variant; ones left out are
    switched off); ``stock`` is absolute."""
    product = _own_product(request, product_id)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    if "skus" in changes:
        changes["skus"] = [dict(s) for s in changes["skus"]]
    services.product_update(product=product, editor=request.user, **changes)
    return product_out(request, selectors.product_for_owner(owner=request.user, product_id=product_id))


@router.post(
    "/products/{product_id}/images",
    response=responses({200: ProductOut}),
    auth=token_or_session,
    openapi_extra=image_upload_openapi("images", counts={"images": (1, MAX_PRODUCT_IMAGES)}),
)
def product_images_add(request: HttpRequest, product_id: int, images: File[list[UploadedFile]]):
    """Add images (repeated ``images`` parts; JPEG/PNG/WebP/HEIC, re-encoded, metadata stripped; ≤ 9)."""
    services.product_add_images(product=_own_product(request, product_id), editor=request.user, images=images)
    return product_out(request, selectors.product_for_owner(owner=request.user, product_id=product_id))


@router.delete(
    "/products/{product_id}/images/{image_id}", response=responses({204: None}), auth=token_or_session
)
def product_image_remove(request: HttpRequest, product_id: int, image_id: int):
    services.product_remove_image(
        product=_own_product(request, product_id), editor=request.user, image_id=image_id
    )
    return Status(204, None)


@router.get("/products/{product_id}/notes", response=responses({200: NotePage}), auth=optional_auth)
def product_notes(request: HttpRequest, product_id: int, cursor: PageCursor = None, limit: PageLimit = None):
    """ "See what people say": the notes that tag this product and that the caller may see, newest first."""
    viewer = _viewer(request)
    product = selectors.product_get_for_viewer(viewer=viewer, product_id=product_id)
    page = note_selectors.notes_tagging_product(
        viewer=viewer, product_id=product.pk, cursor=cursor, limit=limit
    )
    return {"items": [note_out(request, n) for n in page["items"]], "next_cursor": page["next_cursor"]}


class TagClickIn(Schema):
    note: int


@router.post("/products/{product_id}/tag-clicks", response=responses({204: None}), auth=optional_auth)
def product_tag_click(request: HttpRequest, product_id: int, payload: TagClickIn):
    """A reader opened the product from a note's product tag (counted only for a real tag of a note the caller
    can see)."""
    note_selectors.note_get_for_viewer(viewer=_viewer(request), note_id=payload.note)
    services.product_tag_click(note_id=payload.note, product_id=product_id)
    return Status(204, None)


@router.get("/notes/{note_id}/products", response=responses({200: ProductSuggestOut}), auth=optional_auth)
def note_products(request: HttpRequest, note_id: int):
    """The on-sale products a note tags, in the author's order."""
    note = note_selectors.note_get_for_viewer(viewer=_viewer(request), note_id=note_id)
    return {"items": [product_card_out(request, p) for p in selectors.products_for_note(note_id=note.pk)]}

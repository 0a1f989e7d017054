"""Reads of shops, products, SKUs and product tags. One access function per protected object: what the viewer
may not see is a 404.

A product is *listed* (store, search, tags, other people's product pages) when it is on sale, not held for review
or removed by a moderator, and its shop is active and owned by an active, still verified enterprise. Its owner
(and moderators) see it whatever its state.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeGuard

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, Max, Min, OuterRef, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from meadow.accounts.models import User
from meadow.core.pagination import clamp_limit, paginate_desc
from meadow.store.models import NoteProductTag, Product, ProductImage, Shop, Sku


def _signed_in(viewer: Any) -> TypeGuard[User]:
    return viewer is not None and getattr(viewer, "is_authenticated", False)


def _held_q() -> Q:
    """Products a moderator holds (pending review) or took down (review decided ``remove``)."""
    from meadow.enforcement.models import ReviewItem

    held = ReviewItem.objects.filter(
        kind=ReviewItem.Kind.HELD,
        state__in=[ReviewItem.State.PENDING, ReviewItem.State.REMOVED],
        target_type_id=ContentType.objects.get_for_model(Product).pk,
        target_id=OuterRef("pk"),
    )
    return Q(Exists(held))


def product_is_held(*, product: Product) -> bool:
    return Product.objects.filter(pk=product.pk).filter(_held_q()).exists()


def shop_selling_q(prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}is_active": True,
            f"{prefix}owner__is_active": True,
            f"{prefix}owner__is_verified_enterprise": True,
        }
    )


def products_listed() -> QuerySet[Product]:
    """Products anyone may see and buy from."""
    return Product.objects.filter(shop_selling_q("shop__"), status=Product.Status.ON_SALE).exclude(_held_q())


def products_with_relations(qs: QuerySet[Product]) -> QuerySet[Product]:
    """What a product card needs (shop and owner, images, price range, stock), in a fixed number of queries."""
    active = Q(skus__is_active=True)
    return (
        qs.select_related("shop", "shop__owner")
        .annotate(
            price_min=Min("skus__price", filter=active),
            price_max=Max("skus__price", filter=active),
            stock_total=Sum("skus__stock", filter=active),
        )
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")))
    )


def skus_purchasable(*, sku_ids: Iterable[int]) -> dict[int, Sku]:
    """The SKUs (product and shop selected) that can be bought now: SKU active, product on sale and not held
    for review, shop active, shop owner active and still a verified enterprise. Unknown or unbuyable ids are
    absent."""
    ids = {int(i) for i in sku_ids}
    if not ids:
        return {}
    rows = Sku.objects.select_related("product", "product__shop", "product__shop__owner").filter(
        pk__in=ids, is_active=True, product__in=products_listed()
    )
    return {sku.pk: sku for sku in rows}


def _is_moderator(viewer: Any) -> bool:
    from meadow.enforcement.services import is_moderator

    return _signed_in(viewer) and is_moderator(viewer)


def product_get_for_viewer(*, viewer: User | None, product_id: int) -> Product:
    """The product with its shop, images, active SKUs and price range; 404 unless listed, or the viewer owns
    the shop, or moderates."""
    product = (
        products_with_relations(Product.objects.filter(pk=product_id))
        .prefetch_related(Prefetch("skus", queryset=Sku.objects.order_by("position", "id")))
        .first()
    )
    if product is None:
        raise Http404
    if _signed_in(viewer) and (product.shop.owner_id == viewer.pk or _is_moderator(viewer)):
        return product
    if not products_listed().filter(pk=product.pk).exists():
        raise Http404
    return product


def product_for_owner(*, owner: User, product_id: int) -> Product:
    """The seller's own product (404 for anyone else's)."""
    product = product_get_for_viewer(viewer=owner, product_id=product_id)
    if product.shop.owner_id != owner.pk:
        raise Http404
    return product


def shop_get_for_viewer(*, viewer: User | None, shop_id: int) -> Shop:
    """A shop page: visible while selling; its owner and moderators always see it."""
    shop = Shop.objects.select_related("owner").filter(pk=shop_id).first()
    if shop is None:
        raise Http404
    if _signed_in(viewer) and (shop.owner_id == viewer.pk or _is_moderator(viewer)):
        return shop
    if not (shop.is_active and shop.owner.is_active and shop.owner.is_verified_enterprise):
        raise Http404
    return shop


def shop_of(*, user: User) -> Shop | None:
    return Shop.objects.filter(owner=user).first() if _signed_in(user) else None


def products_page(
    *,
    qs: QuerySet[Product] | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A page of products, newest first: ``{"items": [Product], "next_cursor"}``."""
    base = products_listed() if qs is None else qs
    return paginate_desc(products_with_relations(base), cursor=cursor, limit=limit, shape=lambda p: p)


def products_for_shop(
    *, viewer: User | None, shop: Shop, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """A shop's products: everything for its owner (drafts, off sale, held), the listed ones for others."""
    if _signed_in(viewer) and shop.owner_id == viewer.pk:
        qs = Product.objects.filter(shop=shop)
    else:
        qs = products_listed().filter(shop=shop)
    return products_page(qs=qs, cursor=cursor, limit=limit)


def products_search(*, text: str, limit: int = 10, exclude: Iterable[int] = ()) -> list[Product]:
    """Listed products whose title contains every word of ``text`` (the composer's product picker)."""
    qs = products_listed()
    for word in text.split()[:5]:
        qs = qs.filter(title__icontains=word)
    qs = qs.exclude(pk__in=list(exclude)).order_by("-tag_clicks", "-id")
    return list(products_with_relations(qs)[: max(1, min(limit, 20))])


def products_for_note(*, note_id: int, viewer: User | None = None) -> list[Product]:
    """The listed products a note tags, in the author's order (the note page's product cards)."""
    ids = list(
        NoteProductTag.objects.filter(note_id=note_id)
        .order_by("position", "id")
        .values_list("product_id", flat=True)
    )
    if not ids:
        return []
    found = {p.pk: p for p in products_with_relations(products_listed().filter(pk__in=ids))}
    return [found[i] for i in ids if i in found]


def note_product_ids(*, note_id: int) -> list[int]:
    """Every product a note tags (the author's editor keeps tags whose product is off sale for now)."""
    return list(
        NoteProductTag.objects.filter(note_id=note_id)
        .order_by("position", "id")
        .values_list("product_id", flat=True)
    )


def product_price_label(product: Product) -> str:
    low: Decimal | None = getattr(product, "price_min", None)
    high: Decimal | None = getattr(product, "price_max", None)
    if low is None:
        return ""
    low = Decimal(low).quantize(Decimal("0.01"))
    high = Decimal(high if high is not None else low).quantize(Decimal("0.01"))
    return f"RM {low:,.2f}" if low == high else f"RM {low:,.2f} – {high:,.2f}"


def seller_stats(*, shop: Shop) -> dict[str, int]:
    qs = Product.objects.filter(shop=shop)
    return {
        "products": qs.count(),
        "on_sale": qs.filter(status=Product.Status.ON_SALE).count(),
        "low_stock": Sku.objects.filter(product__shop=shop, is_active=True, stock__lte=3).count(),
        "tag_clicks": qs.aggregate(n=Sum("tag_clicks"))["n"] or 0,
    }


# --- search -----------------------------------------------------------------------------------------------------
def product_search_provider(*, query, viewer=None, cursor: str | None = None, limit: int | None = None):
    """The search app's Products tab: listed products whose title or description holds every query term
    (each term is a choice of token groups, as the search index segments them), most clicked first."""
    from meadow.search.selectors import _offset_page

    clamp_limit(limit)
    qs = products_listed()
    for term in query.terms:
        either = Q()
        for group in term:
            every = Q()
            for token in group:
                every &= Q(title__icontains=token) | Q(description__icontains=token)
            either |= every
        qs = qs.filter(either)
    qs = products_with_relations(qs).order_by("-tag_clicks", "-id")
    rows, next_cursor = _offset_page(qs, cursor=cursor, limit=limit)
    items = []
    for product in rows:
        cover = product.cover
        items.append(
            {
                "id": product.pk,
                "title": product.title,
                "price": f"{Decimal(product.price_min):.2f}" if product.price_min is not None else "",
                "currency": "MYR",
                "cover": cover.image.url if cover else None,
                "shop": product.shop.name,
            }
        )
    return items, next_cursor


def register_search_provider() -> None:
    """Hook the product search into the search app's Products tab (called from ``StoreConfig.ready``)."""
    from meadow.search.selectors import register_product_provider

    register_product_provider(product_search_provider)

"""Store pages: the store (on-sale products), product pages with "see what people say", tag click-through, and
the seller's dashboard (shop settings, products with stock, the product editor with variants)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.business.selectors import contact_for
from meadow.core.errors import DomainError
from meadow.notes import selectors as note_selectors
from meadow.store import selectors, services
from meadow.store.forms import ProductForm, ShopForm
from meadow.store.models import Product

BLANK_VARIANT_ROWS = 3


def _viewer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def store_home(request: HttpRequest) -> HttpResponse:
    page = selectors.products_page(cursor=request.GET.get("cursor"), limit=24)
    context = {"products": page["items"], "next_cursor": page["next_cursor"]}
    if request.htmx and request.GET.get("cursor"):
        return render(request, "store/_product_cards.html", context)
    return render(request, "store/store.html", context)


def product_page(request: HttpRequest, product_id: int) -> HttpResponse:
    viewer = _viewer(request)
    product = selectors.product_get_for_viewer(viewer=viewer, product_id=product_id)
    notes = note_selectors.notes_tagging_product(
        viewer=viewer, product_id=product.pk, cursor=request.GET.get("cursor"), limit=12
    )
    is_owner = viewer is not None and product.shop.owner_id == viewer.pk
    context = {
        "product": product,
        "shop": product.shop,
        "images": list(product.images.all()),
        "skus": [s for s in product.skus.all() if s.is_active],
        "notes": notes["items"],
        "next_cursor": notes["next_cursor"],
        "contact": contact_for(user=product.shop.owner),
        "is_owner": is_owner,
        "listed": is_owner and selectors.products_listed().filter(pk=product.pk).exists(),
        "held": is_owner and selectors.product_is_held(product=product),
    }
    return render(request, "store/product.html", context)


def product_tag_click(request: HttpRequest, note_id: int, product_id: int) -> HttpResponse:
    """A reader tapped a note's product tag: count it, then open the product."""
    note = note_selectors.note_get_for_viewer(viewer=_viewer(request), note_id=note_id)
    services.product_tag_click(note_id=note.pk, product_id=product_id)
    return redirect("web:product", product_id=product_id)


def shop_page(request: HttpRequest, shop_id: int) -> HttpResponse:
    viewer = _viewer(request)
    shop = selectors.shop_get_for_viewer(viewer=viewer, shop_id=shop_id)
    page = selectors.products_for_shop(viewer=None, shop=shop, cursor=request.GET.get("cursor"), limit=24)
    context = {
        "shop": shop,
        "products": page["items"],
        "next_cursor": page["next_cursor"],
        "contact": contact_for(user=shop.owner),
    }
    return render(request, "store/shop.html", context)


# --- seller -----------------------------------------------------------------------------------------------------
def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


@login_required
def seller_dashboard(request: HttpRequest) -> HttpResponse:
    """The shop's home for its owner: open the shop (verified businesses only), its settings, its products."""
    user = request.user
    shop = selectors.shop_of(user=user)
    if not user.is_verified_enterprise:
        return render(request, "store/seller_unverified.html", {"shop": shop}, status=403)
    initial = {}
    if shop is not None:
        initial = {f: getattr(shop, f) for f in ("name", "description", "shipping_policy", "returns_policy")}
    form = ShopForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if shop is None:
                services.shop_create(owner=user, **data)
                messages.success(request, _("Your shop is open. Add your first product."))
            else:
                services.shop_update(shop=shop, editor=user, **data)
                messages.success(request, _("Shop saved."))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return redirect("web:seller_dashboard")
    products = []
    stats = None
    if shop is not None:
        page = selectors.products_for_shop(viewer=user, shop=shop, cursor=request.GET.get("cursor"), limit=50)
        products = page["items"]
        stats = selectors.seller_stats(shop=shop)
    return render(
        request,
        "store/seller_dashboard.html",
        {"shop": shop, "form": form, "products": products, "stats": stats},
        status=400 if form.errors else 200,
    )


def _variant_rows(request: HttpRequest) -> list[dict[str, Any]]:
    """The variant rows of the editor form (``sku_id``, ``sku_name``, ``sku_price``, ``sku_stock``,
    ``sku_active`` repeated); blank rows are skipped."""
    data = request.POST
    ids, names = data.getlist("sku_id"), data.getlist("sku_name")
    prices, stocks = data.getlist("sku_price"), data.getlist("sku_stock")
    active = set(data.getlist("sku_active"))
    rows = []
    for i, name in enumerate(names):
        price = prices[i] if i < len(prices) else ""
        if not name.strip() and not str(price).strip():
            continue
        sku_id = ids[i] if i < len(ids) else ""
        rows.append(
            {
                "id": int(sku_id) if sku_id.isdigit() else None,
                "name": name,
                "price": price.strip(),  # the form's field, as typed with spaces around
                "stock": (stocks[i] if i < len(stocks) else "0") or "0",
                "is_active": (sku_id or f"new{i}") in active,
            }
        )
    return rows


@login_required
def seller_product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    user = request.user
    shop = selectors.shop_of(user=user)
    if shop is None or not user.is_verified_enterprise:
        return redirect("web:seller_dashboard")
    product = selectors.product_for_owner(owner=user, product_id=product_id) if product_id else None
    initial = {"status": Product.Status.DRAFT}
    if product is not None:
        initial = {"title": product.title, "description": product.description, "status": product.status}
    form = ProductForm(request.POST or None, initial=initial)
    variants = list(product.skus.all()) if product else []
    posted_rows: list[dict[str, Any]] | None = None
    if request.method == "POST":
        posted_rows = _variant_rows(request)
        if form.is_valid():
            data = form.cleaned_data
            images = request.FILES.getlist("images")
            try:
                with transaction.atomic():
                    if product is None:
                        product = services.product_create(
                            shop=shop, editor=user, skus=posted_rows, images=images, **data
                        )
                    else:
                        services.product_update(product=product, editor=user, skus=posted_rows, **data)
                        if images:
                            services.product_add_images(product=product, editor=user, images=images)
            except DomainError as exc:
                if product is not None and product_id is None:
                    product = None
                _form_error(form, exc)
            else:
                messages.success(request, _("Product saved."))
                return redirect("web:seller_product", product_id=product.pk)
    rows = (
        posted_rows
        if posted_rows is not None
        else [
            {"id": s.pk, "name": s.name, "price": s.price, "stock": s.stock, "is_active": s.is_active}
            for s in variants
        ]
    )
    rows = rows + [{"id": None, "name": "", "price": "", "stock": "", "is_active": True}] * BLANK_VARIANT_ROWS
    context = {
        "shop": shop,
        "product": product,
        "form": form,
        "rows": rows,
        "images": list(product.images.all()) if product else [],
        "held": product is not None and selectors.product_is_held(product=product),
    }
    return render(request, "store/seller_product.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def seller_product_image_delete(request: HttpRequest, product_id: int, image_id: int) -> HttpResponse:
    product = selectors.product_for_owner(owner=request.user, product_id=product_id)
    try:
        services.product_remove_image(product=product, editor=request.user, image_id=image_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("web:seller_product", product_id=product.pk)


@login_required
def product_picker(request: HttpRequest) -> HttpResponse:
    """The composer's product search (htmx): on-sale products whose title matches ``q``."""
    q = (request.GET.get("q") or "").strip()[:100]
    products = selectors.products_search(text=q, limit=8) if q else []
    return render(request, "store/_picker_results.html", {"products": products, "q": q})

"""Shops and products through the API: who may open and change what, variants in Decimal, moderation of product
text, images, and the store list's query budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from meadow.enforcement.models import ReviewItem
from meadow.notes.tests.factories import jpeg
from meadow.store.models import Product, ProductImage, Shop, Sku
from meadow.store.selectors import products_listed, skus_purchasable
from meadow.store.tests.factories import make_product, make_shop, verified_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
PRODUCT = {
    "title": "Batik tote bag",
    "description": "Hand-printed cotton, made in Kelantan.",
    "status": "on_sale",
    "skus": [
        {"name": "Red / M", "price": "29.90", "stock": 5, "attributes": {"colour": "red", "size": "M"}},
        {"name": "Blue / L", "price": 35, "stock": 0},
    ],
}


def test_verified_business_opens_a_shop(api_for):
    owner = verified_user()
    response = api_for(owner).post(
        "/api/v1/shops", {"name": "Kedai Mei", "description": "Batik from Kelantan"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    shop = Shop.objects.get(pk=response.json()["id"])
    assert shop.owner == owner and shop.is_active
    again = api_for(owner).post("/api/v1/shops", {"name": "Second"}, content_type=JSON)
    assert again.status_code == 409 and again.json()["error"]["code"] == "shop_exists"
    assert Shop.objects.count() == 1


def test_non_verified_account_cannot_open_a_shop(user, api_for, anon):
    response = api_for(user).post("/api/v1/shops", {"name": "Kedai"}, content_type=JSON)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_verified_enterprise"
    assert anon.post("/api/v1/shops", {"name": "Kedai"}, content_type=JSON).status_code == 401
    assert not Shop.objects.exists()
    page = Client()
    page.force_login(user)
    assert page.get("/seller/").status_code == 403
    assert page.post("/seller/", {"name": "Sneaky"}).status_code == 403
    assert not Shop.objects.exists()


def test_create_product_with_variants_in_decimal(api_for):
    shop = make_shop()
    response = api_for(shop.owner).post(f"/api/v1/shops/{shop.pk}/products", PRODUCT, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(s["name"], s["price"], s["stock"]) for s in body["skus"]] == [
        ("Red / M", "29.90", 5),
        ("Blue / L", "35.00", 0),
    ]
    assert body["price_min"] == "29.90" and body["price_max"] == "35.00" and body["currency"] == "MYR"
    assert body["shop"]["verified"] is True
    assert Sku.objects.get(name="Red / M").price == Decimal("29.90")
    assert Client().get(f"/api/v1/products/{body['id']}").json()["skus"][0]["id"] == body["skus"][0]["id"]


@pytest.mark.parametrize(
    ("skus", "code"),
    [
        ([], "skus_required"),
        # The service's own code and message since the schema states PRICE_PATTERN (issue #15; was pydantic's).
        ([{"name": "A", "price": "1.999", "stock": 1}], "bad_price"),
        ([{"name": "A", "price": "-1", "stock": 1}], "bad_price"),
        ([{"name": "A", "price": "1", "stock": -1}], "invalid"),
        ([{"name": "A", "price": "1"}, {"name": "a", "price": "2"}], "duplicate_sku"),
        # Exactly what the schema's price states: a decimal string of PRICE_PATTERN or a whole number.
        ([{"name": "A", "price": " 1.50"}], "bad_price"),
        ([{"name": "A", "price": "1e2"}], "bad_price"),
        ([{"name": "A", "price": "1000000"}], "bad_price"),
        ([{"name": "A", "price": -1}], "bad_price"),
        ([{"name": "A", "price": 29.9}], "invalid"),
        ([{"name": "A", "price": True}], "invalid"),
        ([{"name": "A", "price": "1", "stock": "5"}], "invalid"),
        ([{"name": "A", "price": "1", "stock": 1_000_001}], "bad_stock"),
        ([{"name": f"V{i}", "price": "1"} for i in range(51)], "too_many"),
        ([{"name": "A", "price": "1", "attributes": {f"k{i}": "v" for i in range(6)}}], "bad_attributes"),
    ],
)
def test_bad_variants_are_refused(api_for, skus, code):
    shop = make_shop()
    response = api_for(shop.owner).post(
        f"/api/v1/shops/{shop.pk}/products", {**PRODUCT, "skus": skus}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Product.objects.exists()


def test_prices_the_schema_states_are_taken(api_for):
    shop = make_shop()
    skus = [
        {"name": "A", "price": "0"},
        {"name": "B", "price": "999999.99"},
        {"name": "C", "price": 35.0},
        {"name": "D", "price": "007.5"},
    ]
    response = api_for(shop.owner).post(
        f"/api/v1/shops/{shop.pk}/products", {**PRODUCT, "skus": skus}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    assert [s["price"] for s in response.json()["skus"]] == ["0.00", "999999.99", "35.00", "7.50"]


@pytest.mark.parametrize("who", ["anon", "other", "other_verified", "staff"])
def test_others_cannot_change_a_shop_or_product(api_for, who):
    product = make_product()
    shop = product.shop
    caller = {
        "anon": None,
        "other": UserFactory(),
        "other_verified": verified_user(),
        "staff": UserFactory(is_staff=True),
    }[who]
    client = api_for(caller) if caller else Client()
    expected = 401 if caller is None else 403
    responses = [
        client.patch(f"/api/v1/shops/{shop.pk}", {"name": "Hijacked"}, content_type=JSON),
        client.post(f"/api/v1/shops/{shop.pk}/products", PRODUCT, content_type=JSON),
        client.patch(
            f"/api/v1/products/{product.pk}", {"title": "Hijacked", "status": "off_sale"}, content_type=JSON
        ),
        client.delete(f"/api/v1/products/{product.pk}/images/1"),
    ]
    assert [r.status_code for r in responses] == [expected] * 4
    shop.refresh_from_db()
    product.refresh_from_db()
    assert shop.name == "Kedai Mei" and product.title == "Batik tote" and product.status == "on_sale"
    assert Product.objects.count() == 1
    page = Client()
    if caller is not None:
        page.force_login(caller)
        assert page.get(f"/seller/products/{product.pk}/").status_code in (302, 404)


def test_owner_edits_product_and_variants(api_for):
    product = make_product(prices=("10.00", "12.00"))
    first, second = product.skus.order_by("position")
    response = api_for(product.shop.owner).patch(
        f"/api/v1/products/{product.pk}",
        {
            "title": "Batik tote (new)",
            "skus": [
                {"id": first.pk, "name": "Red", "price": "11.50", "stock": 7},
                {"name": "Green", "price": "13", "stock": 2},
            ],
        },
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.name, first.price, first.stock, first.is_active) == ("Red", Decimal("11.50"), 7, True)
    assert second.is_active is False  # left out: switched off, kept for the orders that point at it
    names = [s["name"] for s in response.json()["skus"] if s["is_active"]]
    assert names == ["Red", "Green"]
    assert skus_purchasable(sku_ids=[first.pk, second.pk]).keys() == {first.pk}


def test_variant_of_another_product_is_refused(api_for):
    mine, theirs = make_product(), make_product()
    response = api_for(mine.shop.owner).patch(
        f"/api/v1/products/{mine.pk}",
        {"skus": [{"id": theirs.skus.get().pk, "name": "Stolen", "price": "1", "stock": 1}]},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert theirs.skus.get().name == "Option 1"


def test_product_text_is_moderated_like_notes(api_for):
    shop = make_shop()
    owner = shop.owner
    # off-platform contact in a verified business's text is held for review (a personal account is refused)
    response = api_for(owner).post(
        f"/api/v1/shops/{shop.pk}/products",
        {**PRODUCT, "description": "Add my WeChat 薇信 abc12345 for discounts"},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    product = Product.objects.get()
    assert ReviewItem.objects.filter(kind="held", state="pending", target_id=product.pk).exists()
    assert not products_listed().filter(pk=product.pk).exists()
    assert Client().get(f"/api/v1/products/{product.pk}").status_code == 404
    assert api_for(owner).get(f"/api/v1/products/{product.pk}").status_code == 200
    # an edit of the title is checked too
    edit = api_for(owner).patch(
        f"/api/v1/products/{product.pk}", {"title": "Batik 全网最低价"}, content_type=JSON
    )
    # an absolute claim: a verified business is bound by it like anyone (issue #18), so the edit is held for
    # review (not refused, which only a block verdict does)
    assert edit.status_code == 200
    assert ReviewItem.objects.filter(kind="held", state="pending", target_id=product.pk).exists()


def test_blocked_product_text_is_refused_with_findings(api_for):
    from meadow.moderation.models import LexiconEntry
    from meadow.moderation.services import lexicon_entry_save

    lexicon_entry_save(entry=LexiconEntry(term="contraband-x", category="adult", severity="high"))
    shop = make_shop()
    response = api_for(shop.owner).post(
        f"/api/v1/shops/{shop.pk}/products", {**PRODUCT, "title": "contraband-x deal"}, content_type=JSON
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "moderation_blocked"
    assert any(h["match"] == "contraband-x" for h in body["moderation"]["hits"])
    assert not Product.objects.exists()


def test_held_product_is_listed_after_approval(api_for, moderator):
    from meadow.enforcement import services as enforcement
    from meadow.enforcement.services import Screening

    product = make_product()
    enforcement.enforcement_hold(
        obj=product,
        account=product.shop.owner,
        screening=Screening(verdict="review", hits=[], text="x", field="note"),
    )
    assert not products_listed().filter(pk=product.pk).exists()
    assert skus_purchasable(sku_ids=[product.skus.get().pk]) == {}
    item = ReviewItem.objects.get(target_id=product.pk)
    enforcement.review_decide(item=item, moderator=moderator, decision="approve")
    assert products_listed().filter(pk=product.pk).exists()


def test_product_images_are_processed_and_owner_only(api_for, settings):
    product = make_product()
    owner = product.shop.owner
    response = api_for(owner).post(f"/api/v1/products/{product.pk}/images", {"images": [jpeg(), jpeg()]})
    assert response.status_code == 200, response.content
    images = response.json()["images"]
    assert len(images) == 2 and images[0]["url"].endswith(".webp")
    bad = api_for(owner).post(
        f"/api/v1/products/{product.pk}/images",
        {
            "images": [
                jpeg(),
                __import__("meadow.notes.tests.factories", fromlist=["upload"]).upload(b"nope", "x.jpg"),
            ]
        },
    )
    assert bad.status_code == 400 and ProductImage.objects.count() == 2
    other = api_for(UserFactory()).post(f"/api/v1/products/{product.pk}/images", {"images": [jpeg()]})
    assert other.status_code == 403 and ProductImage.objects.count() == 2
    image_id = images[0]["id"]
    assert api_for(owner).delete(f"/api/v1/products/{product.pk}/images/{image_id}").status_code == 204
    assert ProductImage.objects.count() == 1


def test_drafts_are_visible_to_the_owner_only(api_for):
    product = make_product(status="draft")
    assert Client().get(f"/api/v1/products/{product.pk}").status_code == 404
    assert api_for(UserFactory()).get(f"/api/v1/products/{product.pk}").status_code == 404
    assert api_for(product.shop.owner).get(f"/api/v1/products/{product.pk}").status_code == 200
    assert Client().get(f"/products/{product.pk}/").status_code == 404
    listed = Client().get(f"/api/v1/shops/{product.shop_id}/products").json()["items"]
    assert listed == []
    own = api_for(product.shop.owner).get(f"/api/v1/shops/{product.shop_id}/products").json()["items"]
    assert [p["id"] for p in own] == [product.pk]


def test_products_list_query_budget(django_assert_max_num_queries, django_assert_num_queries):
    for i in range(3):
        make_product(title=f"P{i}", prices=("1.00", "2.00"), image=True)
    client = Client()
    client.get("/api/v1/products")  # warm caches (content types)
    with django_assert_max_num_queries(4) as small:
        assert len(client.get("/api/v1/products?limit=3").json()["items"]) == 3
    for i in range(12):
        make_product(title=f"Q{i}", prices=("1.00",), image=True, shop=make_shop(name=f"S{i}"))
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get("/api/v1/products?limit=15").json()["items"]) == 15


def test_store_page_query_budget(django_assert_num_queries):
    for i in range(3):
        make_product(title=f"P{i}", image=True)
    client = Client()
    client.get("/store/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get("/store/").status_code == 200
    for i in range(10):
        make_product(title=f"Q{i}", image=True, shop=make_shop(name=f"S{i}"))
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/store/")
    assert response.content.count(b'class="product-card"') == 13


def test_owner_changes_shop_settings_and_logo(api_for):
    shop = make_shop()
    client = api_for(shop.owner)
    response = client.patch(
        f"/api/v1/shops/{shop.pk}",
        {"name": "Kedai Mei 2", "shipping_policy": "Ships in 2 days", "returns_policy": "7 days"},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["shipping_policy"], body["returns_policy"]) == (
        "Kedai Mei 2",
        "Ships in 2 days",
        "7 days",
    )
    logo = client.post(f"/api/v1/shops/{shop.pk}/logo", {"logo": jpeg()})
    assert logo.status_code == 200 and logo.json()["logo"].endswith(".webp")
    shop.refresh_from_db()
    assert shop.name == "Kedai Mei 2" and shop.logo.name.startswith("shops/")
    public = Client().get(f"/api/v1/shops/{shop.pk}").json()
    assert public["verified"] is True and public["owner"] == shop.owner.handle

"""Product tags in notes (种草 → the product page and back), tag clicks, and the store's pages in the three
languages."""

from __future__ import annotations

import pytest
from django.test import Client

from meadow.notes.models import Note
from meadow.notes.tests.factories import NoteFactory, jpeg
from meadow.store.models import NoteProductTag, Product
from meadow.store.tests.factories import make_product, make_shop, verified_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_any_creator_tags_on_sale_products_when_publishing(user, api_for):
    a, b = make_product(title="Batik tote"), make_product(title="Kaya jam")
    response = api_for(user).post(
        "/api/v1/notes",
        {"title": "My haul", "body": "Love these", "images": [jpeg()], "products": [b.pk, a.pk]},
    )
    assert response.status_code == 201, response.content
    note_id = response.json()["id"]
    assert list(NoteProductTag.objects.filter(note_id=note_id).values_list("product_id", flat=True)) == [
        b.pk,
        a.pk,
    ]
    cards = Client().get(f"/api/v1/notes/{note_id}/products").json()["items"]
    assert [c["id"] for c in cards] == [b.pk, a.pk]
    assert cards[0]["shop"]["verified"] is True and cards[0]["price_min"] == "29.90"


@pytest.mark.parametrize("kind", ["draft", "off_sale", "unverified_shop", "missing", "too_many"])
def test_tagging_unavailable_products_is_refused_and_nothing_is_published(user, api_for, kind):
    if kind == "too_many":
        ids = [make_product(title=f"P{i}").pk for i in range(6)]
    elif kind == "missing":
        ids = [999999]
    elif kind == "unverified_shop":
        ids = [make_product(shop=make_shop(owner=UserFactory())).pk]
    else:
        ids = [make_product(status=kind).pk]
    response = api_for(user).post("/api/v1/notes", {"title": "x", "images": [jpeg()], "products": ids})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "products"
    assert not Note.objects.exists() and not NoteProductTag.objects.exists()


def test_author_changes_tags_when_editing(user, api_for):
    a, b = make_product(), make_product()
    note = NoteFactory(author=user)
    NoteProductTag.objects.create(note=note, product=a)
    response = api_for(user).patch(f"/api/v1/notes/{note.pk}", {"products": [b.pk]}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert list(note.product_tags.values_list("product_id", flat=True)) == [b.pk]
    other = api_for(UserFactory()).patch(f"/api/v1/notes/{note.pk}", {"products": [a.pk]}, content_type=JSON)
    assert other.status_code == 403
    assert list(note.product_tags.values_list("product_id", flat=True)) == [b.pk]
    assert (
        api_for(user).patch(f"/api/v1/notes/{note.pk}", {"products": []}, content_type=JSON).status_code
        == 200
    )
    assert not note.product_tags.exists()


def test_note_page_shows_product_cards_and_the_click_is_counted(user):
    product = make_product(title="Batik tote", prices=("29.90", "35.00"), image=True)
    note = NoteFactory(author=user)
    NoteProductTag.objects.create(note=note, product=product)
    page = Client().get(f"/notes/{note.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="note-products"' in html and "Batik tote" in html and "RM 29.90 – 35.00" in html
    assert 'data-testid="verified-badge"' in html  # the shop's blue tick
    click_url = f"/notes/{note.pk}/products/{product.pk}/"
    assert click_url in html
    response = Client().get(click_url)
    assert response.status_code == 302 and response["Location"] == f"/products/{product.pk}/"
    product.refresh_from_db()
    assert product.tag_clicks == 1
    # a product the note does not tag is not counted
    stranger = make_product()
    Client().get(f"/notes/{note.pk}/products/{stranger.pk}/")
    stranger.refresh_from_db()
    assert stranger.tag_clicks == 0
    # the API route counts too, only for notes the caller can see
    assert (
        Client()
        .post(f"/api/v1/products/{product.pk}/tag-clicks", {"note": note.pk}, content_type=JSON)
        .status_code
        == 204
    )
    product.refresh_from_db()
    assert product.tag_clicks == 2
    note.visibility = Note.Visibility.PRIVATE
    note.save()
    assert (
        Client()
        .post(f"/api/v1/products/{product.pk}/tag-clicks", {"note": note.pk}, content_type=JSON)
        .status_code
        == 404
    )
    product.refresh_from_db()
    assert product.tag_clicks == 2


def test_product_page_shows_the_notes_that_tag_it_visible_only(user, other_user):
    product = make_product(title="Kaya jam")
    public = NoteFactory(title="Best kaya ever")
    private = NoteFactory(title="Secret kaya", visibility=Note.Visibility.PRIVATE)
    draft = NoteFactory(title="Draft kaya", status=Note.Status.DRAFT)
    for note in (public, private, draft):
        NoteProductTag.objects.create(note=note, product=product)
    html = Client().get(f"/products/{product.pk}/").content.decode()
    assert "See what people say" in html
    assert "Best kaya ever" in html and "Secret kaya" not in html and "Draft kaya" not in html
    items = Client().get(f"/api/v1/products/{product.pk}/notes").json()["items"]
    assert [n["id"] for n in items] == [public.pk]
    # a viewer blocked by the author does not see the author's note
    from meadow.accounts.models import Block

    Block.objects.create(blocker=public.author, blocked=other_user)
    blocked = Client()
    blocked.force_login(other_user)
    assert "Best kaya ever" not in blocked.get(f"/products/{product.pk}/").content.decode()


def test_product_page_has_buy_box_contact_and_badge():
    from meadow.business.models import VerificationApplication

    product = make_product()
    VerificationApplication.objects.create(
        user=product.shop.owner, company_name="Kedai", registration_number="1", category="food",
        contact_name="A", contact_phone="+60312345678", whatsapp="+60123456789", licence="l.pdf",
        status="approved",
    )  # fmt: skip
    html = Client().get(f"/products/{product.pk}/").content.decode()
    assert 'data-testid="buy-box"' in html
    assert 'href="https://wa.me/60123456789"' in html and 'href="tel:+60312345678"' in html
    assert "<title>Verified business</title>" in html


def test_search_products_tab_uses_the_store_provider():
    product = make_product(title="Batik tote bag")
    make_product(title="Kaya jam")
    make_product(title="Batik draft", status="draft")
    body = Client().get("/api/v1/search?q=batik&type=products").json()
    assert [i["id"] for i in body["items"]] == [product.pk]
    assert body["items"][0]["price"] == "29.90" and body["items"][0]["currency"] == "MYR"
    page = Client().get("/search/?q=batik&type=products").content.decode()
    assert f"/products/{product.pk}/" in page


def test_composer_picker_and_publish_with_tags(user):
    product = make_product(title="Batik tote")
    client = Client()
    client.force_login(user)
    compose = client.get("/publish/")
    assert b"data-product-picker" in compose.content
    found = client.get("/store/picker/?q=batik")
    assert f'data-pick-product="{product.pk}"'.encode() in found.content
    response = client.post(
        "/publish/", {"title": "Haul", "body": "So good", "images": [jpeg()], "products": [product.pk]}
    )
    assert response.status_code == 302, response.content[:500]
    note = Note.objects.get()
    assert list(note.product_tags.values_list("product_id", flat=True)) == [product.pk]


@pytest.mark.parametrize("language", ["en", "zh-hans", "ms"])
def test_store_pages_render_in_three_languages(language):
    owner = verified_user()
    shop = make_shop(owner=owner)
    product = make_product(shop=shop, image=True)
    note = NoteFactory()
    NoteProductTag.objects.create(note=note, product=product)
    client = Client()
    client.cookies["meadow_language"] = language
    client.force_login(owner)
    for url in ("/store/", f"/products/{product.pk}/", f"/shops/{shop.pk}/", f"/notes/{note.pk}/", "/seller/",
                "/seller/products/new/", f"/seller/products/{product.pk}/", "/business/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert f'lang="{language}"'.encode() in response.content, url


def test_seller_dashboard_opens_shop_and_edits_product_with_variants():
    owner = verified_user()
    client = Client()
    client.force_login(owner)
    page = client.get("/seller/")
    assert b'data-testid="shop-form"' in page.content
    assert client.post("/seller/", {"name": "Kedai Mei", "description": "Batik"}).status_code == 302
    shop = owner.shop
    response = client.post(
        "/seller/products/new/",
        {
            "title": "Batik tote", "description": "Cotton", "status": "on_sale",
            "sku_id": ["", "", ""], "sku_name": ["Red / M", "Blue / L", ""], "sku_price": ["29.90", "31", ""],
            "sku_stock": ["5", "0", ""], "sku_active": ["new0", "new1"], "images": [jpeg()],
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    product = Product.objects.get(shop=shop)
    assert [(s.name, str(s.price), s.stock) for s in product.skus.all()] == [
        ("Red / M", "29.90", 5),
        ("Blue / L", "31.00", 0),
    ]
    assert product.images.count() == 1
    dashboard = client.get("/seller/").content.decode()
    assert "Batik tote" in dashboard and 'data-testid="seller-products"' in dashboard
    assert "/seller/orders/" in dashboard  # helper E's pages linked when they exist
    # a bad price keeps the form with an error, nothing changes
    red = product.skus.get(name="Red / M")
    bad = client.post(
        f"/seller/products/{product.pk}/",
        {"title": "Batik tote", "status": "on_sale", "sku_id": [red.pk], "sku_name": ["Red / M"], "sku_price": ["abc"],
         "sku_stock": ["5"], "sku_active": [str(red.pk)]},
    )  # fmt: skip
    assert bad.status_code == 400
    red.refresh_from_db()
    assert str(red.price) == "29.90"

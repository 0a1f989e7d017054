"""Business and store in a browser: a user applies for the blue tick (licence upload), a verified business
opens its shop and adds a product with two variants and an image, a creator tags it from the composer's product
picker, and the note page shows the product card with the shop's blue tick — phone and desktop widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from meadow.business.models import VerificationApplication
from meadow.notes.models import Note
from meadow.notes.tests.factories import image_bytes
from meadow.store.models import Product
from tests.e2e.conftest import SHOTS, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_apply_open_shop_add_product_and_tag_it_in_a_note(
    page, browser, live_server, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    v = page.viewport_name
    applicant = UserFactory(handle=f"apply_{v}")
    seller = UserFactory(handle=f"kedai_{v}", display_name="Kedai Mei", is_verified_enterprise=True)
    creator = UserFactory(handle=f"mei_{v}", display_name="Mei")

    # 1. apply for verification
    login(page, live_server, applicant.handle)
    page.goto(f"{live_server.url}/business/")
    form = page.get_by_test_id("verification-form")
    form.get_by_label("Company name").fill("Kedai Mei Sdn Bhd")
    form.get_by_label("Registration number").fill("202301012345")
    form.get_by_label("Category").select_option("fashion")
    form.get_by_label("Contact person").fill("Mei Ling")
    form.get_by_label("WhatsApp number").fill("+60 12-345 6789")
    form.get_by_label("Business licence").set_input_files(
        {"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    shot("business-verification-form")
    form.get_by_test_id("apply-verification").click()
    expect(page.get_by_test_id("verification-status")).to_contain_text("Pending review")
    assert VerificationApplication.objects.get(user=applicant).status == "pending"

    # 2. a verified business opens its shop and adds a product with variants
    seller_ctx = browser.new_context(viewport=page.viewport_size)
    sp = seller_ctx.new_page()
    login(sp, live_server, seller.handle)
    sp.goto(f"{live_server.url}/seller/")
    sp.get_by_label("Shop name").fill("Kedai Mei")
    sp.get_by_test_id("save-shop").click()
    sp.get_by_test_id("new-product").click()
    sp.get_by_label("Title").fill("Batik tote bag")
    sp.get_by_label("Status").select_option("on_sale")
    rows = sp.get_by_test_id("variant-row")
    for i, (name, price, stock) in enumerate([("Indigo / M", "39.90", "5"), ("Red / L", "42", "0")]):
        rows.nth(i).get_by_label("Variant").fill(name)
        rows.nth(i).get_by_label("Price (RM)").fill(price)
        rows.nth(i).get_by_label("Stock").fill(stock)
    sp.locator("input[name=images]").set_input_files(
        {"name": "tote.jpg", "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", size=(600, 600))}
    )
    sp.get_by_test_id("save-product").click()
    expect(sp.get_by_text("Product saved.")).to_be_visible()
    product = Product.objects.get(title="Batik tote bag")
    assert [s.name for s in product.skus.all()] == ["Indigo / M", "Red / L"]
    sp.goto(f"{live_server.url}/seller/")
    expect(sp.get_by_test_id("seller-products")).to_contain_text("Batik tote bag")
    seller_ctx.close()

    # 3. a creator tags the product from the composer's picker
    creator_ctx = browser.new_context(viewport=page.viewport_size)
    cp = creator_ctx.new_page()
    login(cp, live_server, creator.handle)
    cp.goto(f"{live_server.url}/publish/")
    cp.locator("input[type=file][name=images]").set_input_files(
        {"name": "haul.jpg", "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", size=(600, 800))}
    )
    cp.locator("[name=title]").fill("My batik haul")
    cp.locator("[name=body]").fill("Hand-printed and roomy.")
    cp.get_by_placeholder("Search products on sale by name").fill("batik")
    cp.locator(f"[data-pick-product='{product.pk}']").click()
    expect(cp.locator("[data-product-chips]")).to_contain_text("Batik tote bag")
    cp.get_by_test_id("publish").click()
    expect(cp.get_by_test_id("note-products")).to_contain_text("Batik tote bag")
    expect(cp.get_by_test_id("note-products").get_by_test_id("verified-badge")).to_be_visible()
    note = Note.objects.get(title="My batik haul")
    assert list(note.product_tags.values_list("product_id", flat=True)) == [product.pk]
    SHOTS.mkdir(parents=True, exist_ok=True)
    cp.screenshot(path=str(SHOTS / f"store-note-{v}.png"), full_page=True)
    creator_ctx.close()

"""Journey: a new creator opens the composer from the navigation, adds photos, a title, a text, topics from the
5·3·2 suggestions and a product tag, publishes, and finds the note on its page, in their profile, on Discover and
in the creator centre."""

from __future__ import annotations

import re
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from meadow.notes.models import Note
from meadow.orders.tests.factories import make_shop, make_sku
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _photos(tmp_path, n=2):
    paths = []
    for i, colour in enumerate([(232, 119, 74), (133, 193, 169), (243, 201, 105)][:n]):
        path = tmp_path / f"photo{i}.jpg"
        Image.new("RGB", (900, 1200), colour).save(path, quality=90)
        paths.append(str(path))
    return paths


def test_new_creator(journey, tmp_path):
    page, t = journey.page, journey.t
    seller = UserFactory(handle="kedai.mei", display_name="Kedai Mei", is_verified_enterprise=True)
    sku = make_sku(
        shop=make_shop(owner=seller, name="Kedai Mei"), price="39.90", stock=5, title="Batik tote bag"
    )
    creator = UserFactory(
        handle=f"lily_{journey.language.replace('-', '')}_{journey.width}", display_name="Lily"
    )
    journey.login(creator.handle)

    # the composer, from the navigation (the tab bar's + on a phone, the rail's button on a desktop)
    journey.go("Publish")
    expect(page.locator("h1")).to_have_text(t("New note"))
    page.locator("input[data-images]").set_input_files(_photos(tmp_path))
    expect(page.locator("[data-thumbs] li")).to_have_count(2)
    page.locator("#id_title").fill("吉隆坡美食 椰浆饭")
    page.locator("#id_body").fill(
        "周末去了吉隆坡的老店吃椰浆饭，吉隆坡美食真的名不虚传。参巴辣椒很香，鸡肉炸得刚好。推荐早上去，人少。"
    )

    # topics: the 5·3·2 helper — at most five core keywords, three related, two trending
    page.get_by_role("button", name=t("Suggest topics (5·3·2)")).click()
    core = page.locator("[data-group=core] button")
    expect(core.first).to_be_visible(timeout=30_000)  # the first call loads jieba's dictionary
    assert core.count() <= 5
    assert page.locator("[data-group=derived] button").count() <= 3
    assert page.locator("[data-group=trending] button").count() <= 2
    journey.see("Core keywords", page.locator("[data-suggestions]"))
    chosen = [core.nth(0).inner_text().lstrip("#"), core.nth(1).inner_text().lstrip("#")]
    core.nth(0).click()
    core.nth(1).click()
    expect(page.locator("[data-chips] .chip")).to_have_count(2)

    # a product tag from the picker
    page.get_by_placeholder(t("Search products on sale by name")).fill("batik")
    page.locator(f"[data-pick-product='{sku.product_id}']").click()
    expect(page.locator("[data-product-chips]")).to_contain_text("Batik tote bag")
    journey.shot("1-composer")
    page.get_by_test_id("publish").click()

    # the note's page
    expect(page).to_have_url(re.compile(r"/notes/\d+/$"))
    note = Note.objects.get(author=creator)
    assert note.status == Note.Status.PUBLISHED and note.images.count() == 2
    assert {link.hashtag.display_name for link in note.hashtag_links.all()} >= set(chosen)
    assert list(note.product_tags.values_list("product_id", flat=True)) == [sku.product_id]
    expect(page.locator(".note-heading")).to_have_text("吉隆坡美食 椰浆饭")
    for tag in chosen:
        expect(page.locator(".note-tags")).to_contain_text(f"#{tag}")
    expect(page.get_by_test_id("note-products")).to_contain_text("Batik tote bag")
    journey.shot("2-published")

    # in their profile (the Me tab), on Discover, and in the creator centre
    journey.go("Me")
    expect(page.locator(f'.note-card[data-note-id="{note.pk}"]')).to_be_visible()
    journey.shot("3-profile")
    # Discover, as anyone else sees it (a new note is in the signed-out feed)
    # (its photos are processed after publishing; until then only the author sees it: the visitor refreshes)
    visitor = journey.new_page()
    visitor.goto(f"{journey.url}/")
    journey.choose_language(visitor)
    card = visitor.locator(f'.note-card[data-note-id="{note.pk}"]')
    deadline = time.monotonic() + 60
    while not card.count() and time.monotonic() < deadline:
        visitor.wait_for_timeout(2_000)
        visitor.reload()
    expect(card).to_be_visible()
    journey.shot("3b-discover", visitor)
    journey.me_menu_go("Creator centre")
    expect(page.get_by_test_id("creator-centre")).to_be_visible()
    journey.see("Creator centre", page.locator("h1"))
    expect(page.locator(f'[data-testid=creator-note-row][data-note-id="{note.pk}"]')).to_be_visible()
    journey.shot("4-creator-centre")

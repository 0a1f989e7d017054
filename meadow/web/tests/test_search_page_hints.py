"""The search page as a person meets it (issue #23, finding 10, its page parts): one search box; a name typed in
the Notes tab says how many people match and links to People; a product search with no hits says so; prices
read "RM 32.00" everywhere (one template filter), in the three languages."""

from __future__ import annotations

import pytest

from meadow.core.templatetags.money import money_label
from meadow.search.tests.conftest import make_note
from meadow.store.tests.factories import make_product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _get(client, lang: str, **params) -> str:
    client.cookies["meadow_language"] = lang
    response = client.get("/search/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_search_page_has_one_search_box(client):
    for params in ({}, {"q": "laksa"}):
        html = _get(client, "en", **params)
        assert (
            html.count('role="search"') == 1
            and html.count('name="q"') - html.count('type="hidden" name="q"') == 1
        )
    # other pages keep the top bar's box
    assert 'class="top-search"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "lang, words",
    [
        ("en", "2 people match “Aminah”"),
        ("zh-hans", "有 2 位用户与“Aminah”相符"),
        ("ms", "2 orang sepadan dengan “Aminah”"),
    ],
)
def test_a_name_in_the_notes_tab_points_to_people(client, lang, words):
    UserFactory(handle="aminah_cooks", display_name="Aminah Yusof")
    UserFactory(handle="aminah_runs", display_name="Aminah")
    html = _get(client, lang, q="Aminah")
    assert 'data-testid="people-hint"' in html and words in html
    assert "?q=Aminah&amp;type=users" in html


def test_no_people_hint_when_nobody_matches(client):
    make_note(title="Laksa Penang")
    html = _get(client, "en", q="cendol")
    assert 'data-testid="people-hint"' not in html


@pytest.mark.parametrize(
    "lang, title", [("en", "No products found"), ("zh-hans", "没有找到商品"), ("ms", "Tiada produk ditemui")]
)
def test_a_product_search_with_no_hits_says_so(client, lang, title):
    html = _get(client, lang, q="zzzz", type="products")
    assert 'data-testid="no-products"' in html and title in html
    assert "coming" not in html and "Product search opens" not in html


def test_prices_read_rm_everywhere(client):
    make_product(title="Kopi beans", prices=("32.00",))
    html = _get(client, "en", q="Kopi", type="products")
    assert "RM 32.00" in html and "MYR" not in html
    assert money_label("1234.5") == "RM 1,234.50" and money_label("9", "SGD") == "SGD 9.00"
    assert money_label(None) == ""

"""Cart, address book and checkout through the API: money in Decimal, stock reserved, sold out, idempotency."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from meadow.orders.models import Address, CartItem, Checkout, Order, OrderLine
from meadow.orders.tests.factories import ADDRESS, make_shop, make_sku
from meadow.store.models import Product

pytestmark = pytest.mark.django_db


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def buy(client, items, key=None, address=ADDRESS):
    headers = {"Idempotency-Key": key} if key else {}
    return post(client, "/api/v1/orders", {"items": items, "address": address}, **headers)


def test_buy_now_reserves_stock_and_freezes_prices_in_decimal(buyer_api, sku, user):
    r = buy(buyer_api, [{"sku": sku.pk, "quantity": 3}], key="k1")
    assert r.status_code == 201, r.content
    body = r.json()
    [order] = body["orders"]
    assert order["status"] == "pending_payment"
    assert order["total"] == "37.50" and body["total"] == "37.50"
    assert order["lines"] == [
        {
            "sku": sku.pk,
            "product": sku.product_id,
            "product_title": "Batik tote",
            "sku_name": "Red / M",
            "unit_price": "12.50",
            "quantity": 3,
            "line_total": "37.50",
        }
    ]
    assert order["shipping_address"]["phone"] == "+60123456789"
    sku.refresh_from_db()
    assert sku.stock == 7
    # A later price change does not move the order.
    sku.price = Decimal("99.90")
    sku.save()
    stored = Order.objects.get(pk=order["id"])
    assert stored.total == Decimal("37.50") and stored.buyer == user
    assert OrderLine.objects.get(order=stored).unit_price == Decimal("12.50")


def test_prices_that_floats_would_round_wrongly_stay_exact(buyer_api, shop):
    a = make_sku(shop=shop, price="0.10", stock=50)
    b = make_sku(shop=shop, price="0.20", stock=50, name="Blue")
    r = buy(buyer_api, [{"sku": a.pk, "quantity": 3}, {"sku": b.pk, "quantity": 1}])
    assert r.status_code == 201, r.content
    assert r.json()["orders"][0]["total"] == "0.50"
    assert Order.objects.get().total == Decimal("0.50")


def test_sold_out_names_the_sku_and_reserves_nothing(buyer_api, shop):
    plenty = make_sku(shop=shop, stock=10, name="Plenty")
    scarce = make_sku(shop=shop, stock=1, name="Last one")
    r = buy(buyer_api, [{"sku": plenty.pk, "quantity": 2}, {"sku": scarce.pk, "quantity": 2}])
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "sold_out" and "Last one" in error["message"]
    plenty.refresh_from_db()
    scarce.refresh_from_db()
    assert (plenty.stock, scarce.stock) == (10, 1)
    assert not Order.objects.exists() and not Checkout.objects.exists()


def test_idempotent_retry_returns_the_first_result_and_creates_no_second_order(buyer_api, sku):
    first = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}], key="same-key")
    again = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}], key="same-key")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Order.objects.count() == 1
    sku.refresh_from_db()
    assert sku.stock == 8
    other = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}], key="same-key")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    # No key: every request is a new checkout.
    assert buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).status_code == 201
    assert Order.objects.count() == 2


def test_the_same_key_of_another_buyer_is_another_request(buyer_api, api_for, other_user, sku):
    assert buy(buyer_api, [{"sku": sku.pk, "quantity": 1}], key="k").status_code == 201
    assert buy(api_for(other_user), [{"sku": sku.pk, "quantity": 1}], key="k").status_code == 201
    assert Order.objects.count() == 2


def test_cart_checkout_splits_into_one_order_per_shop(buyer_api, user):
    shop_a, shop_b = make_shop(name="A"), make_shop(name="B")
    a1, a2 = make_sku(shop=shop_a, price="10.00"), make_sku(shop=shop_a, price="5.55", name="Small")
    b1 = make_sku(shop=shop_b, price="100.00")
    for sku, n in ((a1, 1), (a2, 2), (b1, 1)):
        assert post(buyer_api, "/api/v1/cart/items", {"sku": sku.pk, "quantity": n}).status_code == 201
    assert post(buyer_api, "/api/v1/cart/items", {"sku": a1.pk, "quantity": 1}).status_code == 201  # adds up
    cart = buyer_api.get("/api/v1/cart").json()
    assert cart["count"] == 3 and cart["total"] == "131.10"
    assert patch(buyer_api, f"/api/v1/cart/items/{a1.pk}", {"quantity": 1}).json()["total"] == "121.10"

    address = post(buyer_api, "/api/v1/addresses", ADDRESS).json()
    r = post(buyer_api, "/api/v1/cart/checkout", {"address_id": address["id"]}, **{"Idempotency-Key": "c1"})
    assert r.status_code == 201, r.content
    orders = r.json()["orders"]
    assert sorted((o["shop"]["name"], o["total"]) for o in orders) == [("A", "21.10"), ("B", "100.00")]
    assert r.json()["total"] == "121.10"
    assert not CartItem.objects.filter(user=user).exists()
    assert (
        len({o["id"] for o in orders}) == 2
        and Order.objects.filter(checkout_id=r.json()["checkout"]).count() == 2
    )


def test_cart_item_edits_and_errors(buyer_api, sku, user):
    assert post(buyer_api, "/api/v1/cart/items", {"sku": sku.pk, "quantity": 0}).status_code == 400
    assert post(buyer_api, "/api/v1/cart/items", {"sku": 999999, "quantity": 1}).json()["error"]["code"] == (
        "unavailable"
    )
    post(buyer_api, "/api/v1/cart/items", {"sku": sku.pk, "quantity": 2})
    assert patch(buyer_api, f"/api/v1/cart/items/{sku.pk}", {"quantity": 100}).status_code == 400
    assert CartItem.objects.get(user=user).quantity == 2
    assert buyer_api.delete(f"/api/v1/cart/items/{sku.pk}").status_code == 204
    assert buyer_api.delete(f"/api/v1/cart/items/{sku.pk}").status_code == 404
    assert (
        post(buyer_api, "/api/v1/cart/checkout", {"address": ADDRESS}).json()["error"]["code"] == "cart_empty"
    )


def test_cart_needs_sign_in(anon):
    assert anon.get("/api/v1/cart").status_code == 401
    assert (
        post(anon, "/api/v1/orders", {"items": [{"sku": 1, "quantity": 1}], "address": ADDRESS}).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone", "12345", "bad_phone"),
        ("postcode", "5910", "bad_postcode"),
        ("postcode", "ABCDE", "bad_postcode"),
        ("state", "Bavaria", "bad_state"),
        ("recipient_name", "   ", "required"),
    ],
)
def test_addresses_are_validated_and_nothing_is_saved(buyer_api, sku, field, value, code):
    r = post(buyer_api, "/api/v1/addresses", {**ADDRESS, field: value})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code and r.json()["error"]["field"] == field
    r = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}], address={**ADDRESS, field: value})
    assert r.status_code == 400
    assert not Address.objects.exists() and not Order.objects.exists()
    sku.refresh_from_db()
    assert sku.stock == 10


def test_address_book_default_and_privacy(buyer_api, api_for, other_user):
    first = post(buyer_api, "/api/v1/addresses", ADDRESS).json()
    second = post(
        buyer_api,
        "/api/v1/addresses",
        {**ADDRESS, "postcode": "47400", "state": "Selangor", "is_default": True},
    ).json()
    assert first["is_default"] and second["is_default"] and second["state"] == "SGR"
    items = buyer_api.get("/api/v1/addresses").json()["items"]
    assert [a["id"] for a in items] == [second["id"], first["id"]]
    assert [a["is_default"] for a in items] == [True, False]
    intruder = api_for(other_user)
    assert patch(intruder, f"/api/v1/addresses/{first['id']}", {"city": "Ipoh"}).status_code == 404
    assert intruder.delete(f"/api/v1/addresses/{first['id']}").status_code == 404
    r = buy(intruder, [{"sku": 1, "quantity": 1}], address=None)
    assert r.status_code in (400, 409)
    assert patch(buyer_api, f"/api/v1/addresses/{first['id']}", {"city": "Ipoh"}).json()["city"] == "Ipoh"
    assert buyer_api.delete(f"/api/v1/addresses/{first['id']}").status_code == 204
    assert [a["id"] for a in buyer_api.get("/api/v1/addresses").json()["items"]] == [second["id"]]


def test_someone_elses_address_id_cannot_be_used(buyer_api, api_for, other_user, sku):
    address = post(buyer_api, "/api/v1/addresses", ADDRESS).json()
    r = post(
        api_for(other_user),
        "/api/v1/orders",
        {"items": [{"sku": sku.pk, "quantity": 1}], "address_id": address["id"]},
    )
    assert r.status_code == 404 and not Order.objects.exists()


def test_unbuyable_products_and_own_shop(buyer_api, api_for, sku, seller):
    product = sku.product
    product.status = Product.Status.OFF_SALE
    product.save()
    r = buy(buyer_api, [{"sku": sku.pk, "quantity": 1}])
    assert r.status_code == 409 and r.json()["error"]["code"] == "unavailable"
    product.status = Product.Status.ON_SALE
    product.save()
    seller.is_verified_enterprise = False  # verification revoked: the shop cannot sell
    seller.save()
    assert buy(buyer_api, [{"sku": sku.pk, "quantity": 1}]).json()["error"]["code"] == "unavailable"
    seller.is_verified_enterprise = True
    seller.save()
    assert buy(api_for(seller), [{"sku": sku.pk, "quantity": 1}]).json()["error"]["code"] == "own_shop"
    sku.refresh_from_db()
    assert sku.stock == 10 and not Order.objects.exists()


@pytest.mark.parametrize(
    "items",
    [[], [{"sku": 1, "quantity": 0}], [{"sku": 1, "quantity": 100}], [{"sku": "x", "quantity": 1}], "nope"],
)
def test_bad_items_are_400(buyer_api, items):
    r = post(buyer_api, "/api/v1/orders", {"items": items, "address": ADDRESS})
    assert r.status_code == 400 and r.json()["error"]["code"] in ("invalid", "bad_quantity", "required")


def test_quantities_of_the_same_sku_add_up_within_the_limit(buyer_api, sku):
    r = buy(buyer_api, [{"sku": sku.pk, "quantity": 60}, {"sku": sku.pk, "quantity": 60}])
    assert r.status_code == 400 and r.json()["error"]["code"] == "quantity_total"
    r = buy(buyer_api, [{"sku": sku.pk, "quantity": 2}, {"sku": sku.pk, "quantity": 3}])
    assert r.status_code == 201 and r.json()["orders"][0]["lines"][0]["quantity"] == 5


def test_checkout_query_count_does_not_grow_with_items_or_shops(user, django_assert_max_num_queries):
    """Measured on the service (the API adds the caller's token lookup, whose writes are time-dependent)."""
    from meadow.orders.services import order_place

    one = make_sku(stock=10)
    many = [make_sku(shop=make_shop(name=f"S{i}"), stock=10) for i in range(5)]
    with django_assert_max_num_queries(20) as small:
        order_place(buyer=user, items=[{"sku": one.pk, "quantity": 1}], address=ADDRESS, idempotency_key="a")
    with django_assert_max_num_queries(20) as large:
        checkout = order_place(
            buyer=user,
            items=[{"sku": s.pk, "quantity": 1} for s in many],
            address=ADDRESS,
            idempotency_key="b",
        )
    assert checkout.orders.count() == 5
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/cart/items/99999999999999999999"),
        ("get", "/api/v1/orders/99999999999999999999"),
        ("get", "/api/v1/payments/0"),
        ("patch", "/api/v1/addresses/-1"),
    ],
)
def test_out_of_range_ids_are_a_json_4xx(buyer_api, method, url):
    if method == "get":
        r = buyer_api.get(url)
    else:
        r = getattr(buyer_api, method)(url, "{}", content_type="application/json")
    assert r.status_code in (400, 404) and r["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("postcode", "state", "ok"),
    [
        ("88000", "KUL", False),  # Kota Kinabalu, Sabah, with state Kuala Lumpur (issue #23, finding 14)
        ("88000", "SBH", True),
        ("91309", "Sabah", True),
        ("59100", "KUL", True),
        ("59100", "Selangor", False),
        ("47400", "SGR", True),
        ("68000", "KUL", True),  # Ampang straddles Selangor and Kuala Lumpur
        ("68000", "SGR", True),
        ("62000", "PJY", True),
        ("93050", "SWK", True),
        ("10250", "JHR", False),
        ("01000", "PLS", True),
    ],
)
def test_a_malaysian_postcode_must_lie_in_the_state(buyer_api, postcode, state, ok):
    r = post(buyer_api, "/api/v1/addresses", {**ADDRESS, "postcode": postcode, "state": state})
    if ok:
        assert r.status_code == 201, r.content
    else:
        assert r.status_code == 400
        error = r.json()["error"]
        assert (error["code"], error["field"]) == ("postcode_state_mismatch", "postcode")
        assert postcode in error["message"]
        assert not Address.objects.exists()


def test_the_schema_states_each_states_postcodes_as_the_service_checks_them(client):
    """Issue #15: the addresses' anyOf, generated from POSTCODE_RANGES, matches a postcode and a state exactly
    when postcode_in_state() takes them (every hundred of 00000-99999, both ends of each hundred)."""
    import re

    from meadow.orders.models import MalaysianState
    from meadow.orders.services import postcode_in_state

    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    branches = schemas["AddressIn"]["anyOf"]
    assert schemas["AddressPatch"]["anyOf"][1:] == branches
    assert {b["properties"]["state"]["enum"][0] for b in branches} == set(MalaysianState.values)
    for branch in branches:
        code, label = branch["properties"]["state"]["enum"]
        assert label == MalaysianState(code).label
        pattern = re.compile(branch["properties"]["postcode"]["pattern"])
        for number in [n for hundred in range(0, 100_000, 100) for n in (hundred, hundred + 99)]:
            postcode = f"{number:05d}"
            assert bool(pattern.search(postcode)) == postcode_in_state(postcode, code), (code, postcode)


def test_an_address_edit_gives_the_postcode_and_the_state_together(buyer_api):
    created = post(buyer_api, "/api/v1/addresses", {**ADDRESS, "postcode": "47400", "state": "SGR"}).json()
    url = f"/api/v1/addresses/{created['id']}"
    for alone in ({"postcode": "47410"}, {"state": "Selangor"}, {"postcode": "47410", "state": None}):
        r = buyer_api.patch(url, alone, content_type="application/json")
        assert r.status_code == 400, r.content
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("postcode_with_state", "postcode")
    r = buyer_api.patch(url, {"postcode": "88000", "state": "SBH"}, content_type="application/json")
    assert r.status_code == 200 and (r.json()["postcode"], r.json()["state"]) == ("88000", "SBH")
    r = buyer_api.patch(url, {"city": "Kota Kinabalu"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["city"] == "Kota Kinabalu"

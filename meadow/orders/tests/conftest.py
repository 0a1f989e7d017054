import pytest
from django.test import Client

from meadow.orders.tests.factories import make_shop, make_sku


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def seller(shop):
    return shop.owner


@pytest.fixture
def sku(shop):
    return make_sku(shop=shop, price="12.50", stock=10)


@pytest.fixture
def buyer_api(user, api_for) -> Client:
    return api_for(user)


@pytest.fixture
def seller_api(seller, api_for) -> Client:
    return api_for(seller)

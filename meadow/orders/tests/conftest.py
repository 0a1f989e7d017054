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


@pytest.fixture
def threaded_db(transactional_db, tmp_path):
    """A database that threads can share as production processes do. PostgreSQL: the test database as it is.
    SQLite: the test database is in memory with a shared cache, where a second writer fails at once ("database
    table is locked") instead of waiting its turn; so the test runs on a copy in a file, opened with the
    project's own settings (WAL, busy timeout, ``BEGIN IMMEDIATE``), exactly like ``make run``'s database."""
    from django.db import connection, connections

    if connection.vendor != "sqlite":
        yield
        return
    original = connections["default"]
    original.ensure_connection()
    path = tmp_path / "threaded.sqlite3"
    import sqlite3

    target = sqlite3.connect(path)
    original.connection.backup(target)
    target.close()
    saved = connections.settings["default"]
    connections.settings["default"] = {**saved, "NAME": str(path)}
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        connections.settings["default"] = saved
        connections["default"] = original

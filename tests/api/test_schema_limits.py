"""The OpenAPI schema states the limits the services enforce, from the same constants, and booleans are strict.

Each test reads the live schema (``/api/v1/openapi.json``) and, where it matters, calls the endpoint: what the
schema refuses, the server refuses with the shared error shape, and nothing is written.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from meadow.accounts.models import BIO_MAX, DISPLAY_NAME_MAX, HANDLE_MAX, LOCATION_MAX, User
from meadow.core.pagination import MAX_LIMIT
from meadow.core.schema import NO_NUL_PATTERN
from meadow.enforcement.services import APPEAL_TEXT_MAX, REPORT_TEXT_MAX
from meadow.engagement.models import Board
from meadow.orders.services import QUANTITY_MAX


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _body(openapi: dict, name: str) -> dict:
    return openapi["components"]["schemas"][name]["properties"]


def _string(prop: dict) -> dict:
    """The string branch of a property (``anyOf: [string, null]`` for optional ones)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") == "string":
            return branch
    raise AssertionError(f"no string in {prop}")


def test_every_list_limit_is_1_to_max(openapi):
    """All list endpoints (17 of them when this was written, and any added later) state ?limit= 1–50."""
    found = 0
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] == "query" and param["name"] == "limit" and path != "/api/v1/products/suggest":
                    branch = next(
                        b for b in param["schema"].get("anyOf", [param["schema"]]) if b["type"] == "integer"
                    )
                    assert (branch.get("minimum"), branch.get("maximum")) == (1, MAX_LIMIT), (method, path)
                    found += 1
    assert found >= 17


def test_every_list_cursor_names_its_format(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] == "query" and param["name"] == "cursor" and path != "/api/v1/search":
                    assert _string(param["schema"]).get("format", "").endswith("cursor"), (method, path)


@pytest.mark.parametrize(
    ("schema", "field", "limit"),
    [
        ("MePatch", "bio", BIO_MAX),
        ("MePatch", "display_name", DISPLAY_NAME_MAX),
        ("MePatch", "handle", HANDLE_MAX),
        ("MePatch", "location", LOCATION_MAX),
        ("SignupIn", "display_name", DISPLAY_NAME_MAX),
        ("AppealIn", "text", APPEAL_TEXT_MAX),
        ("ReportIn", "text", REPORT_TEXT_MAX),
    ],
)
def test_text_limits_are_the_services_constants(openapi, schema, field, limit):
    assert _string(_body(openapi, schema)[field])["maxLength"] == limit


@pytest.mark.parametrize(("schema", "low"), [("CartItemIn", 1), ("CartQuantityIn", 0), ("LineIn", 1)])
def test_quantity_range_is_the_services(openapi, schema, low):
    quantity = _body(openapi, schema)["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (low, QUANTITY_MAX)


def test_every_request_string_refuses_nul(openapi):
    """Every string a JSON body names carries a pattern without NUL (the parser refuses NUL anywhere), and
    properties a schema does not name are documented NUL-free too."""
    checked = 0
    for name in (
        "MePatch",
        "SignupIn",
        "AppealIn",
        "ReportIn",
        "AddressIn",
        "CommentIn",
        "BoardIn",
        "NotePatch",
    ):
        component = openapi["components"]["schemas"][name]
        assert component["propertyNames"] == {"pattern": NO_NUL_PATTERN}, name
        for field, prop in component["properties"].items():
            try:
                branch = _string(prop)
            except AssertionError:
                continue
            if "enum" in branch or branch.get("format") in ("date", "binary"):
                continue
            pattern = branch.get("pattern")
            assert pattern, (name, field, branch)
            assert re.search(pattern, "ok") or re.search(pattern, "12345") or pattern != NO_NUL_PATTERN
            assert not re.search(pattern, "x\x00y"), (name, field, pattern)
            checked += 1
    assert checked > 15


def _error(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["field"] == field
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 0.0, "true", "false", None])
def test_is_private_is_a_strict_boolean(api_for, user, value):
    """``{"is_private": 0.0}`` used to be taken as false: the schema says boolean, so anything else is a 400 that
    changes nothing (null means "leave it", as for every optional field)."""
    User.objects.filter(pk=user.pk).update(is_private=True, bio="Before")
    client = api_for(user)
    response = client.patch(
        "/api/v1/me", {"is_private": value, "bio": "After"}, content_type="application/json"
    )
    user.refresh_from_db()
    if value is None:
        assert response.status_code == 200 and user.is_private is True and user.bio == "After"
        return
    _error(response, 400, "is_private")
    assert user.is_private is True and user.bio == "Before"


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 0.0, "false"])
def test_board_private_is_a_strict_boolean(api_for, user, value):
    """``{"private": 0}`` used to create a public board: now a 400, and no board."""
    before = Board.objects.filter(owner=user).count()
    response = api_for(user).post(
        "/api/v1/boards", {"name": "Trips", "private": value}, content_type="application/json"
    )
    _error(response, 400, "private")
    assert Board.objects.filter(owner=user).count() == before


@pytest.mark.django_db
def test_strict_booleans_still_take_json_booleans(api_for, user):
    client = api_for(user)
    assert (
        client.patch("/api/v1/me", {"is_private": True}, content_type="application/json").status_code == 200
    )
    user.refresh_from_db()
    assert user.is_private is True
    response = client.post(
        "/api/v1/boards", {"name": "Trips", "private": True}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Board.objects.get(owner=user, name="Trips").is_private is True


@pytest.mark.django_db
def test_limits_refused_by_the_service_with_its_code(api_for, user):
    """The schema only states the limits: the service's translated message and code answer (one check)."""
    client = api_for(user)
    err = _error(
        client.patch("/api/v1/me", {"bio": "b" * (BIO_MAX + 1)}, content_type="application/json"), 400, "bio"
    )
    assert err["code"] == "too_long"
    err = _error(client.get(f"/api/v1/notes?limit={MAX_LIMIT + 1}"), 400, "limit")
    assert err["code"] == "bad_limit"

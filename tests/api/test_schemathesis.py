"""Property-based contract tests: every operation of /api/v1/openapi.json, as an anonymous caller and as a
signed-in one (a real bearer token), must never answer a server error and must match its documented responses
(status codes, content type, headers and body schema).

Hermetic: requests go in-process through Django's WSGI handler, inside the test's database transaction.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from meadow.accounts.models import Follow, User
from meadow.accounts.services import _token_create
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through a plain WSGIHandler, which closes the database connection at the end of each
    request (``close_old_connections``); inside the test's transaction that would close it under the test.
    Django's own test client detaches that handler the same way while it runs a request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["anonymous", "signed_in"])
def caller(request, db):
    """Headers for the caller. The signed-in caller is a real account; each case gets a fresh token, because a
    generated ``DELETE /auth/token`` legitimately revokes the one it carries."""
    if request.param == "anonymous":
        return lambda: {}
    account = UserFactory(handle="schemathesis_user", bio="Contract tests.")
    return lambda: {"Authorization": f"Bearer {_token_create(user=account)}"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_contract(case, caller):
    case.call_and_validate(headers=caller(), excluded_checks=[positive_data_acceptance])


def _operation(method: str, path: str):
    return schema[path][method]


@pytest.fixture
def world(db):
    """A small social graph, so the explicit cases below reach the success responses (generated handles
    mostly answer 404): a public star with followers, a private account with a pending request."""
    me = UserFactory(handle="contract_me")
    star = UserFactory(handle="contract_star")
    private = UserFactory(handle="contract_private", is_private=True)
    fans = [UserFactory(handle=f"contract_fan{i}") for i in range(3)]
    Follow.objects.bulk_create([Follow(follower=fan, followee=star) for fan in fans])
    User.objects.filter(pk=star.pk).update(followers_count=3)
    Follow.objects.create(follower=star, followee=me, status=Follow.Status.PENDING)
    User.objects.filter(pk=me.pk).update(is_private=True)
    return {"me": me, "star": star, "private": private}


EXPLICIT_CASES = [
    ("GET", "/api/v1/me", {}, {}, None, 200),
    (
        "PATCH",
        "/api/v1/me",
        {},
        {},
        {"bio": "Contract bio 🌿", "location": "KL", "birthday": "1999-12-31"},
        200,
    ),
    ("GET", "/api/v1/me/follow-requests", {}, {"limit": 1}, None, 200),
    (
        "POST",
        "/api/v1/me/follow-requests/{handle}/{decision}",
        {"handle": "contract_star", "decision": "accept"},
        {},
        None,
        200,
    ),
    ("GET", "/api/v1/users/{handle}", {"handle": "contract_star"}, {}, None, 200),
    ("GET", "/api/v1/users/{handle}/followers", {"handle": "contract_star"}, {"limit": 2}, None, 200),
    ("GET", "/api/v1/users/{handle}/following", {"handle": "contract_fan0"}, {}, None, 200),
    ("GET", "/api/v1/users/{handle}/followers", {"handle": "contract_private"}, {}, None, 403),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_star"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_private"}, {}, None, 200),
    ("DELETE", "/api/v1/users/{handle}/follow", {"handle": "contract_star"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/block", {"handle": "contract_fan1"}, {}, None, 200),
    ("DELETE", "/api/v1/users/{handle}/block", {"handle": "contract_fan1"}, {}, None, 200),
    ("POST", "/api/v1/users/{handle}/follow", {"handle": "contract_me"}, {}, None, 400),
    (
        "POST",
        "/api/v1/auth/token",
        {},
        {},
        {"login": "contract_star", "password": "correct horse battery"},
        200,
    ),
    ("POST", "/api/v1/auth/phone/code", {}, {}, {"phone": "+60 12-345 0777"}, 202),
    (
        "POST",
        "/api/v1/auth/signup",
        {},
        {},
        {
            "handle": "contract_new",
            "email": "cn@example.com",
            "password": "blue meadow 2026",
            "agree_terms": True,
        },
        201,
    ),
    ("DELETE", "/api/v1/auth/token", {}, {}, None, 204),
]


@pytest.mark.parametrize(
    ("method", "path", "path_parameters", "query", "body", "status"),
    EXPLICIT_CASES,
    ids=[f"{c[0]} {c[1]} {c[5]}" for c in EXPLICIT_CASES],
)
def test_success_responses_match_the_schema(world, method, path, path_parameters, query, body, status):
    """Real, successful calls (the responses property-based generation rarely reaches) match the schema."""
    operation = _operation(method, path)
    kwargs = {"path_parameters": path_parameters, "query": query}
    if body is not None:
        kwargs["body"] = body
    case = operation.Case(**kwargs)
    headers = {"Authorization": f"Bearer {_token_create(user=world['me'])}"}
    response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
    assert response.status_code == status, response.text

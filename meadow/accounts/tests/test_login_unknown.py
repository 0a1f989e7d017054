"""Logging in with a login no account uses is refused like a wrong password (it answered 500: the backend
called a ``user_model`` attribute ModelBackend does not have)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_unknown_login_is_refused_not_a_500():
    response = Client().post("/login/", {"login": "nobody_here", "password": "whatever it is"})
    assert response.status_code == 200
    assert "not right" in response.content.decode()

"""Shared fixtures: clients for each kind of caller, factories, and a clean cache and SMS outbox per test."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from meadow.accounts.sms import LocmemBackend
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_state():
    from django.conf import settings
    from django.utils import translation

    cache.clear()
    LocmemBackend.outbox.clear()
    # A request handled in an earlier test leaves its language active in this thread (LocaleMiddleware
    # activates it and nothing deactivates it): every test starts in the default language instead.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
    LocmemBackend.outbox.clear()


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded media and private files (business licences) under this test's temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEADOW_PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    return tmp_path


@pytest.fixture
def moderator(db):
    """A staff account in the moderator group (the console and the decision endpoints)."""
    from meadow.enforcement.services import moderator_group_ensure

    account = UserFactory(is_staff=True)
    account.groups.add(moderator_group_ensure())
    return account


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


def bearer_client(user) -> Client:
    """A client that carries a real bearer token for ``user``, as a mobile app would."""
    from meadow.accounts.services import _token_create

    return Client(HTTP_AUTHORIZATION=f"Bearer {_token_create(user=user)}")


@pytest.fixture
def api_for():
    return bearer_client


@pytest.fixture
def anon():
    return Client()


def last_sms_code(phone: str) -> str:
    for message in reversed(LocmemBackend.outbox):
        if message["phone"] == phone:
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", message["message"])
            if found:
                return found.group(1)
    raise AssertionError(f"no SMS was sent to {phone}")


@pytest.fixture
def sms_code():
    return last_sms_code

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from meadow.core.outbox import outbox_drain
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


class Actor:
    """One account acting through the product's HTTP API from a network and a browser."""

    def __init__(self, ip: str, agent: str):
        self.client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        self.user = None

    def signup(self) -> Actor:
        n = next(_ids)
        r = self.client.post(
            "/api/v1/auth/signup",
            {
                "handle": f"acct{n:05d}",
                "email": f"acct{n:05d}@example.com",
                "password": "correct horse battery",
                "agree_terms": True,
            },
            content_type="application/json",
        )
        assert r.status_code == 201, r.content
        from meadow.accounts.models import User

        self.user = User.objects.get(handle=f"acct{n:05d}")
        r = self.client.post(
            "/api/v1/auth/token",
            {"login": f"acct{n:05d}", "password": "correct horse battery", "name": "phone"},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
        self.client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {r.json()['token']}"
        return self

    def post(self, path: str, data: dict | None = None):
        r = self.client.post(path, data or {}, content_type="application/json")
        assert r.status_code in (200, 201), (path, r.content)
        return r

    def delete(self, path: str):
        r = self.client.delete(path)
        assert r.status_code == 200, (path, r.content)
        return r

    def view(self, note) -> None:
        """See the card in a feed, then open the note."""
        self.post("/api/v1/impressions", {"note_ids": [note.pk], "source": "discover"})
        self.post(f"/api/v1/notes/{note.pk}/read")

    def like(self, note) -> None:
        self.post(f"/api/v1/notes/{note.pk}/like")
        # The like's event follows its commit (the likes log's consumer; the test's transaction never commits).
        outbox_drain(consumer=LIKES_CONSUMER)

    def follow(self, user) -> None:
        self.post(f"/api/v1/users/{user.handle}/follow")

    def unfollow(self, user) -> None:
        self.delete(f"/api/v1/users/{user.handle}/follow")

    def comment(self, note, body: str) -> None:
        self.post(f"/api/v1/notes/{note.pk}/comments", {"body": body})


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def creators(db):
    return [UserFactory() for _ in range(4)]


@pytest.fixture
def notes(creators):
    return {c.pk: [NoteFactory(author=c) for _ in range(6)] for c in creators}


@pytest.fixture
def no_rate_limits(settings):
    settings.MEADOW_RATE_LIMITS = "off"


def later(clock, seconds: float) -> None:
    clock.shift(timedelta(seconds=seconds))

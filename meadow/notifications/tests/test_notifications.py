"""Notifications: grouping, buckets, mutes, blocks, mark read, the API, note @mentions, and the real-time
badge through Channels."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator

from meadow.notes.models import NoteMention
from meadow.notes.tests.factories import NoteFactory
from meadow.notifications.models import Notification
from meadow.notifications.selectors import notifications_unread_counts
from meadow.notifications.services import notification_create, notifications_mark_read
from meadow.notifications.tasks import notify_note_mentions
from tests.factories import UserFactory


class WebsocketCommunicator(ApplicationCommunicator):
    """channels.testing's communicator without its package import (which needs daphne for live servers)."""

    def __init__(self, application, path: str, headers: list) -> None:
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 5):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        return response["type"] == "websocket.accept", response.get("code")

    async def receive_json_from(self, timeout: float = 5):
        response = await self.receive_output(timeout)
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


pytestmark = pytest.mark.django_db


def test_likes_of_one_note_are_grouped(user):
    note = NoteFactory(author=user)
    fans = [UserFactory(display_name=f"Fan {i}") for i in range(13)]
    for fan in fans:
        notification_create(recipient=user, kind="like", actor=fan, note=note)
    notification_create(recipient=user, kind="like", actor=fans[-1], note=note)  # the same latest actor again
    row = Notification.objects.get(recipient=user)
    assert row.actor == fans[-1] and row.actor_count == 13 and row.bucket == "likes"
    from meadow.notifications.text import notification_summary

    assert notification_summary(row) == "Fan 12 and 12 others liked your note"
    notifications_mark_read(user=user)
    notification_create(recipient=user, kind="like", actor=fans[0], note=note)
    assert Notification.objects.filter(recipient=user).count() == 2  # a new group after reading


def test_self_blocked_and_muted_are_silent(user, other_user):
    from meadow.accounts.services import block_create
    from meadow.notifications.services import notification_settings_update

    note = NoteFactory(author=user)
    assert notification_create(recipient=user, kind="like", actor=user, note=note) is None
    notification_settings_update(user=user, likes=False)
    assert notification_create(recipient=user, kind="save", actor=other_user, note=note) is None
    assert notification_create(recipient=user, kind="comment", actor=other_user, note=note) is not None
    block_create(blocker=user, blocked=other_user)
    assert notification_create(recipient=user, kind="follow", actor=other_user) is None
    system = notification_create(
        recipient=user, kind="penalty", text="Your note was limited.", data={"note": 1}
    )
    assert system is not None and system.bucket == "system"
    assert Notification.objects.filter(recipient=user).count() == 2


def test_unknown_kind_is_refused(user):
    from meadow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        notification_create(recipient=user, kind="nonsense")


def test_engagement_notifies_the_author_in_buckets(
    api_for, user, other_user, django_capture_on_commit_callbacks
):
    note = NoteFactory(author=user)
    with django_capture_on_commit_callbacks(execute=True):
        api_for(other_user).post(f"/api/v1/notes/{note.pk}/like")
        api_for(other_user).post(f"/api/v1/notes/{note.pk}/save")
        api_for(other_user).post(
            f"/api/v1/notes/{note.pk}/comments", {"body": "wow"}, content_type="application/json"
        )
        api_for(other_user).post(f"/api/v1/notes/{note.pk}/follow")
    counts = api_for(user).get("/api/v1/notifications").json()["unread"]
    assert counts == {"comments": 1, "likes": 2, "followers": 1, "system": 0, "total": 4}
    likes = api_for(user).get("/api/v1/notifications?bucket=likes").json()["items"]
    assert {n["kind"] for n in likes} == {"like", "save"}
    assert likes[0]["note"]["id"] == note.pk and likes[0]["actor"]["handle"] == other_user.handle
    r = api_for(user).post("/api/v1/notifications/read", {"bucket": "likes"}, content_type="application/json")
    assert r.json()["marked"] == 2 and r.json()["unread"]["total"] == 2
    r = api_for(user).post("/api/v1/notifications/read", {}, content_type="application/json")
    assert r.json()["unread"]["total"] == 0
    # nobody else can read or mark them
    assert api_for(other_user).get("/api/v1/notifications").json()["items"] == []


def test_settings_api(api_for, user, anon):
    assert anon.get("/api/v1/me/notification-settings").status_code == 401
    assert api_for(user).get("/api/v1/me/notification-settings").json()["likes"] is True
    r = api_for(user).patch(
        "/api/v1/me/notification-settings", {"likes": False}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["likes"] is False and r.json()["comments"] is True


def test_note_mentions_are_notified_once(user, other_user):
    note = NoteFactory(author=user)
    NoteMention.objects.create(note=note, user=other_user)
    assert notify_note_mentions(note_id=note.pk) == 1
    assert notify_note_mentions(note_id=note.pk) == 0
    assert Notification.objects.get(recipient=other_user).kind == "mention"


def test_notifications_page_lists_buckets_and_marks_read(client, user, other_user):
    note = NoteFactory(author=user)
    notification_create(recipient=user, kind="like", actor=other_user, note=note)
    client.force_login(user)
    page = client.get("/notifications/?bucket=likes")
    assert page.status_code == 200 and other_user.display_name in page.content.decode()
    assert notifications_unread_counts(user_id=user.pk)["total"] == 0
    client.logout()
    assert client.get("/notifications/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_badge_updates_over_websocket():
    from django.test import Client

    from meadow.asgi import application

    user, fan = UserFactory(), UserFactory()
    note = NoteFactory(author=user)
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/notifications/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
        )
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_json_from(timeout=5)
        assert first["type"] == "unread" and first["counts"]["total"] == 0
        await sync_to_async(notification_create)(recipient=user, kind="like", actor=fan, note=note)
        pushed = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return pushed

    pushed = asyncio.run(scenario())
    assert pushed["counts"]["likes"] == 1 and pushed["counts"]["total"] == 1


def test_anonymous_websocket_is_refused():
    from meadow.asgi import application

    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/notifications/", headers=[(b"origin", b"http://localhost")]
        )
        connected, _ = await communicator.connect()
        return connected

    assert asyncio.run(scenario()) is False


def test_publishing_a_note_notifies_its_mentions(
    user, django_capture_on_commit_callbacks, settings, tmp_path
):
    from meadow.notes.services import note_publish
    from meadow.notes.tests.factories import jpeg

    settings.MEDIA_ROOT = str(tmp_path)
    friend = UserFactory(handle="mentioned_friend")
    with django_capture_on_commit_callbacks(execute=True):
        note_publish(author=user, title="Lunch", body="With @mentioned_friend today", images=[jpeg()])
    assert Notification.objects.get(recipient=friend).kind == "mention"


def _followed_by(user, count):
    fans = [UserFactory(display_name=f"Follower {i:02d}") for i in range(count)]
    for fan in fans:
        notification_create(recipient=user, kind="follow", actor=fan)
    return fans


def test_the_api_pages_past_the_first_page_of_notifications(api_for, user):
    # A real ordering key (microseconds now, not a small test number) must fit in a keyset cursor.
    _followed_by(user, 25)
    first = api_for(user).get("/api/v1/notifications?limit=20")
    assert first.status_code == 200 and len(first.json()["items"]) == 20
    cursor = first.json()["next_cursor"]
    assert cursor
    second = api_for(user).get(f"/api/v1/notifications?limit=20&cursor={cursor}")
    assert second.status_code == 200, second.content
    assert len(second.json()["items"]) == 5 and second.json()["next_cursor"] is None
    ids = [n["id"] for n in first.json()["items"] + second.json()["items"]]
    assert len(set(ids)) == 25


def test_the_notification_centre_more_link_opens_the_next_page(client, user):
    _followed_by(user, 25)
    client.force_login(user)
    page = client.get("/notifications/?bucket=followers")
    assert page.status_code == 200
    html = page.content.decode()

    more = re.search(r'href="(\?bucket=followers&(?:amp;)?cursor=[^"]+)"', html)
    assert more, "no More link"
    shown = set(re.findall(r"Follower \d\d", html))
    second = client.get("/notifications/" + more.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    rest = set(re.findall(r"Follower \d\d", second.content.decode()))
    assert len(shown) == 20 and len(rest) == 5 and not shown & rest


def test_old_ordering_keys_are_rescaled_into_the_cursor_range(user):
    import importlib

    from django.apps import apps as global_apps

    fans = _followed_by(user, 3)
    old = [1_840_000_000_000_000_000 + i * 1024 for i in range(3)]  # the former microseconds × 1024 keys
    for fan, key in zip(fans, old, strict=True):
        Notification.objects.filter(recipient=user, actor=fan).update(sort_key=key)
    migration = importlib.import_module("meadow.notifications.migrations.0006_sort_key_in_cursor_range")
    migration.rescale_sort_keys(global_apps, None)
    keys = list(
        Notification.objects.filter(recipient=user).order_by("-sort_key").values_list("actor", "sort_key")
    )
    assert [a for a, _ in keys] == [f.pk for f in reversed(fans)]
    assert all(k < 10**18 for _, k in keys)

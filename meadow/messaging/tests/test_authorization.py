"""The authorization matrix of messages (issue #19), over every messaging operation the OpenAPI document lists
(a new one fails here until it is added), the pages and the WebSocket: someone else's conversation answers 404
and its body names nothing of it (no text, no handle, no display name), an anonymous caller gets 401 (the pages:
the login redirect), a person the other participant blocked is treated like a stranger, and nothing changes. A
realtime ticket carries exactly its own person's events, works once, and not after it expires."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from meadow.accounts.models import Block, Follow
from meadow.messaging import services
from meadow.messaging.models import Conversation, Message, Participant
from meadow.messaging.tests.test_realtime import Socket, cookie_for
from tests.factories import UserFactory

JSON = "application/json"
SECRET = "the-secret-text-Zq7"


def _world():
    a = UserFactory(display_name="Alice Secretname")
    b = UserFactory(display_name="Bob Hiddenname")
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    message, _ = services.message_send(sender=a, conversation=conversation, text=SECRET, client_id="m1")
    return a, b, conversation, message


def _operations() -> set[tuple[str, str]]:
    from meadow.api import api

    schema = api.get_openapi_schema()
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if "messages" in op.get("tags", [])
    }


# Every messaging operation: (method, path template, body, scope). "conversation" operations name a conversation
# (404 for anyone but its participants); "own" ones act on the caller's own things only.
MATRIX = [
    ("GET", "/api/v1/conversations", None, "own"),
    ("POST", "/api/v1/conversations", {"with": "{b}"}, "own"),
    ("GET", "/api/v1/conversations/{conversation_id}", None, "conversation"),
    ("DELETE", "/api/v1/conversations/{conversation_id}", None, "conversation"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages", None, "conversation"),
    (
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        {"text": "intrude", "client_id": "z"},
        "conversation",
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/accept", None, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/read", {"seq": 1}, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/mute", {"muted": True}, "conversation"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/unsend", None, "conversation"),
    ("POST", "/api/v1/realtime/ticket", None, "own"),
    ("GET", "/api/v1/me/quick-replies", None, "own"),
    ("POST", "/api/v1/me/quick-replies", {"title": "t", "text": "x"}, "own"),
    ("DELETE", "/api/v1/me/quick-replies/{reply_id}", None, "own"),
]
PAGES = [
    ("get", "/messages/{conversation_id}/"),
    ("post", "/messages/{conversation_id}/send/"),
    ("post", "/messages/{conversation_id}/accept/"),
    ("post", "/messages/{conversation_id}/delete/"),
    ("post", "/messages/{conversation_id}/block/"),
    ("post", "/messages/{conversation_id}/mute/"),
]


def _state():
    return (
        list(Message.objects.values_list("pk", "text", "withdrawn_at").order_by("pk")),
        list(
            Participant.objects.values_list(
                "user_id", "last_read_seq", "deleted_before_seq", "muted", "state"
            ).order_by("pk")
        ),
        list(Conversation.objects.values_list("pk", "state", "last_seq").order_by("pk")),
        list(Block.objects.values_list("blocker_id", "blocked_id")),
    )


def _leaks(body: str, a, b) -> list[str]:
    return [word for word in (SECRET, a.handle, b.handle, a.display_name, b.display_name) if word in body]


@pytest.mark.django_db
def test_the_matrix_covers_every_messaging_operation_in_the_openapi_document():
    documented = _operations()
    covered = {(method, path) for method, path, _body, _scope in MATRIX}
    assert documented == covered, f"not in the matrix: {documented - covered}; gone: {covered - documented}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "blocked"])
def test_someone_elses_conversation_answers_404_naming_nothing_and_changes_nothing(who, api_for):
    a, b, conversation, message = _world()
    if who == "stranger":
        caller = UserFactory()
    else:  # B blocked A: for A the conversation is gone, exactly as for a stranger
        Block.objects.create(blocker=b, blocked=a)
        caller = a
    before = _state()
    client = api_for(caller)
    for method, template, body, scope in MATRIX:
        if scope != "conversation":
            continue
        url = template.format(conversation_id=conversation.pk, message_id=message.pk)
        kwargs = {"data": body, "content_type": JSON} if body is not None else {}
        response = getattr(client, method.lower())(url, **kwargs)
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "not_found"
        assert _leaks(response.content.decode(), a, b) == [], (method, url)
    pages = Client()
    pages.force_login(caller)
    for method, template in PAGES:
        response = getattr(pages, method)(template.format(conversation_id=conversation.pk), {"text": "x"})
        assert response.status_code == 404, (method, template)
        assert SECRET not in response.content.decode() and b.display_name not in response.content.decode()
    # the caller's own lists do not show it either
    listed = (
        client.get("/api/v1/conversations").content.decode()
        + client.get("/api/v1/conversations?box=requests").content.decode()
    )
    assert SECRET not in listed and b.handle not in listed
    assert client.get(f"/api/v1/conversations?q={SECRET}").json()["items"] == []
    assert _state() == before


@pytest.mark.django_db
def test_anonymous_gets_401_everywhere_and_the_pages_send_to_login():
    a, b, conversation, message = _world()
    before = _state()
    anonymous = Client()
    for method, template, body, _scope in MATRIX:
        url = template.format(conversation_id=conversation.pk, message_id=message.pk, reply_id=1, b=b.handle)
        if body is not None:
            body = {k: (v.format(b=b.handle) if isinstance(v, str) else v) for k, v in body.items()}
        kwargs = {"data": body, "content_type": JSON} if body is not None else {}
        response = getattr(anonymous, method.lower())(url, **kwargs)
        assert response.status_code == 401, (method, url)
        assert _leaks(response.content.decode(), a, b) == []
    for method, template in [*PAGES, ("get", "/messages/")]:
        response = getattr(anonymous, method)(template.format(conversation_id=conversation.pk))
        assert response.status_code == 302 and "/login" in response["Location"], template
    assert _state() == before


@pytest.mark.django_db
def test_a_quick_reply_of_someone_else_is_404_and_stays(api_for):
    business = UserFactory(is_verified_enterprise=True)
    reply = services.quick_reply_create(owner=business, title="Hours", text="9 to 5")
    other = api_for(UserFactory(is_verified_enterprise=True))
    response = other.delete(f"/api/v1/me/quick-replies/{reply.pk}")
    assert response.status_code == 404 and "9 to 5" not in response.content.decode()
    assert "9 to 5" not in other.get("/api/v1/me/quick-replies").content.decode()
    assert api_for(business).get("/api/v1/me/quick-replies").json()["items"][0]["text"] == "9 to 5"


@pytest.mark.django_db(transaction=True)
def test_a_sockets_events_are_its_own_persons_only():
    """A's socket (by ticket) and a stranger's (by session) hear nothing of B and C's conversation: no message,
    no typing, no read, no withdrawn, no accepted; asking to resume it answers ``not_found`` and nothing else."""
    from meadow.asgi import application

    a, stranger = UserFactory(), UserFactory()
    b, c = UserFactory(), UserFactory()
    # nobody follows anybody: B's first message to C is a request, which C accepts
    conversation, _ = services.conversation_open(user=b, other=c)
    ticket, _ = services.realtime_ticket_issue(user=a)
    cookie = cookie_for(stranger)

    async def scenario():
        sa = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        ss = Socket(application, "/ws/messages/", cookie=cookie)
        sc = Socket(application, "/ws/messages/", cookie=await sync_to_async(cookie_for)(c))
        assert await sa.connect() and await ss.connect() and await sc.connect()
        for s in (sa, ss, sc):
            assert (await s.receive_json())["type"] == "unread"
        message, _ = await sync_to_async(services.message_send)(
            sender=b, conversation=conversation, text=SECRET, client_id="1"
        )
        assert (await sc.next_of("message"))["message"]["text"] == SECRET  # it was sent, to C
        await sync_to_async(services.conversation_accept)(user=c, conversation=conversation)
        await sc.send_json({"type": "typing", "conversation": conversation.pk})
        await sync_to_async(services.conversation_read)(user=c, conversation=conversation, seq=1)
        await sync_to_async(services.message_unsend)(user=b, message=message)
        heard = []
        for s in (sa, ss):
            await s.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
            answer = [await s.receive_json(), await s.receive_json()]
            nothing = await s.receive_nothing(timeout=0.5)
            heard.append((answer, nothing))
        for s in (sa, ss, sc):
            await s.close()
        return heard

    for answer, nothing in asyncio.run(scenario()):
        assert answer == [
            {"type": "error", "code": "not_found", "conversation": str(conversation.pk)},
            {"type": "resumed"},
        ]
        assert nothing is True


@pytest.mark.django_db(transaction=True)
def test_a_ticket_works_once_not_after_it_expires_and_not_for_a_deactivated_account(monkeypatch):
    from meadow.asgi import application

    user, gone = UserFactory(), UserFactory()
    monkeypatch.setattr(services, "TICKET_SECONDS", 1)
    expiring, seconds = services.realtime_ticket_issue(user=user)
    assert seconds == 1
    monkeypatch.undo()
    fresh, _ = services.realtime_ticket_issue(user=user)
    deactivated, _ = services.realtime_ticket_issue(user=gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    time.sleep(1.5)  # past the first ticket's lifetime (the others live a minute)

    async def attempt(ticket: str) -> bool:
        sock = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        accepted = await sock.connect()
        if accepted:
            await sock.close()
        return accepted

    async def scenario():
        return [await attempt(t) for t in (expiring, fresh, fresh, deactivated, "made-up", "x" * 200)]

    assert asyncio.run(scenario()) == [False, True, False, False, False, False]

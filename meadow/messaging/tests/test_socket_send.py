"""Sending over the messages socket (issue #19): a ``send`` frame runs the same service as ``POST
/api/v1/conversations/{id}/messages`` and is answered with an ``ack`` — the stored message, or the refusal the
HTTP API gives (moderation with its findings, blocks, a request's limit, bad input) — and delivered to every
participant after its commit. A retried client_id returns the same message; someone else's conversation is
``not_found`` and nothing of it reaches anyone."""

from __future__ import annotations

import asyncio

import pytest
from django.test import Client

from meadow.accounts.models import Block
from meadow.enforcement.models import BlockedAttempt
from meadow.messaging import services
from meadow.messaging.models import Conversation, Message
from meadow.messaging.tests.test_realtime import Socket, cookie_for, friends
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT = "add my wechat abc12345"
ACK_WAIT = 30  # seconds: a loaded machine answers late; a missing ack still fails


def frame(conversation_id, client_id, text, **extra):
    return {"type": "send", "conversation": conversation_id, "client_id": client_id, "text": text, **extra}


def run(scenario):
    return asyncio.run(scenario())


@pytest.fixture(autouse=True)
def moderation_built(db):
    """The moderation engine is built on its first check (seconds on a loaded machine): build it before the
    sockets wait for their acks."""
    from meadow.moderation.services import moderation_check

    moderation_check(text="warm", field="dm")


def test_a_send_is_stored_acknowledged_and_delivered_live_to_both():
    from meadow.asgi import application

    a, b, conversation = friends()
    ca, cb = cookie_for(a), cookie_for(b)

    async def scenario():
        sa = Socket(application, "/ws/messages/", cookie=ca)
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await sa.connect() and await sb.connect()
        await sa.send_json(frame(conversation.pk, "c-1", "hello over the socket"))
        ack = await sa.next_of("ack", ACK_WAIT)
        own = await sa.next_of("message")
        theirs = await sb.next_of("message")
        badge = await sb.next_of("unread")
        await sa.close()
        await sb.close()
        return ack, own, theirs, badge

    ack, own, theirs, badge = run(scenario)
    stored = Message.objects.get()
    assert ack["created"] is True and ack["client_id"] == "c-1" and ack["conversation"] == conversation.pk
    assert ack["message"]["id"] == stored.pk and ack["message"]["seq"] == 1
    assert (
        ack["message"]["text"] == "hello over the socket" and ack["message"]["sender"]["handle"] == a.handle
    )
    # the live copies are the same message, read like one fetched later
    assert own["message"] == theirs["message"] == ack["message"]
    assert badge["total"] == 1
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 1


def test_a_retried_client_id_returns_the_same_message_and_delivers_it_once():
    from meadow.asgi import application

    a, b, conversation = friends()
    ca, cb = cookie_for(a), cookie_for(b)

    async def scenario():
        sa = Socket(application, "/ws/messages/", cookie=ca)
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await sa.connect() and await sb.connect()
        await sa.send_json(frame(conversation.pk, "same", "only once"))
        first = await sa.next_of("ack", ACK_WAIT)
        await sb.next_of("message")
        await sb.next_of("unread")  # the badge that follows the message
        # the page resends an unacknowledged frame after a reconnect: on a new socket, the same client_id
        await sa.close()
        again = Socket(application, "/ws/messages/", cookie=ca)
        assert await again.connect()
        await again.send_json(frame(conversation.pk, "same", "only once"))
        second = await again.next_of("ack", ACK_WAIT)
        nothing = await sb.receive_nothing(timeout=0.5)
        await again.close()
        await sb.close()
        return first, second, nothing

    first, second, nothing = run(scenario)
    assert first["created"] is True and second["created"] is False
    assert second["message"] == first["message"]
    assert Message.objects.count() == 1
    # the retry delivered nothing new (the badge and the message went out once)
    assert nothing is True


def test_a_redirect_to_a_stranger_is_refused_with_the_http_apis_body_and_recorded():
    from meadow.asgi import application

    stranger, me = UserFactory(), UserFactory()
    conversation, _ = services.conversation_open(user=stranger, other=me)
    assert conversation.state == Conversation.State.REQUEST
    cs, cm = cookie_for(stranger), cookie_for(me)

    async def scenario():
        ss = Socket(application, "/ws/messages/", cookie=cs)
        sm = Socket(application, "/ws/messages/", cookie=cm)
        assert await ss.connect() and await sm.connect()
        await sm.next_of("unread")
        await ss.send_json(frame(conversation.pk, "r1", REDIRECT))
        ack = await ss.next_of("ack", ACK_WAIT)
        nothing = await sm.receive_nothing(timeout=0.5)
        await ss.close()
        await sm.close()
        return ack, nothing

    ack, nothing = run(scenario)
    assert nothing is True and not Message.objects.exists()
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 0
    assert BlockedAttempt.objects.filter(account=stranger).count() == 1  # the ladder's blocked attempt
    # the very body POST …/messages answers (400), with the ack's own keys beside it
    http = Client()
    http.force_login(stranger)
    body = http.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": REDIRECT, "client_id": "r2"},
        content_type="application/json",
    ).json()
    assert ack["error"] == body["error"] and ack["error"]["code"] == "moderation_blocked"
    assert ack["moderation"] == body["moderation"]
    assert [h["category"] for h in ack["moderation"]["hits"]] == ["redirect"]
    assert {k: v for k, v in ack.items() if k not in ("error", "moderation")} == {
        "type": "ack",
        "client_id": "r1",
        "conversation": conversation.pk,
    }


def test_a_requests_limit_a_block_and_bad_input_are_refused_like_the_api():
    from meadow.asgi import application

    stranger, me = UserFactory(), UserFactory()
    request, _ = services.conversation_open(user=stranger, other=me)
    a, b, conversation = friends()
    Block.objects.create(blocker=b, blocked=a)  # b blocked a: b may not write to a either
    cs, cb = cookie_for(stranger), cookie_for(b)

    async def scenario():
        ss = Socket(application, "/ws/messages/", cookie=cs)
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await ss.connect() and await sb.connect()
        acks = []
        for n, text in enumerate(("hello!", "are you there?", "hello??")):
            await ss.send_json(frame(request.pk, f"q{n}", text))
            acks.append(await ss.next_of("ack", ACK_WAIT))
        await sb.send_json(frame(conversation.pk, "x", "bye"))
        blocked = await sb.next_of("ack", ACK_WAIT)
        bad = []
        for sent in (
            frame(conversation.pk, "t", 5),
            frame(conversation.pk, None, "no id"),
            frame(conversation.pk, "", "empty id"),
            frame(conversation.pk, "n", "nul\x00"),
            frame(conversation.pk, "c", "a card", card="note"),
            frame(conversation.pk, "e", "   "),
        ):
            await sb.send_json(sent)
            bad.append(await sb.next_of("ack", ACK_WAIT))
        await ss.close()
        await sb.close()
        return acks, blocked, bad

    acks, blocked, bad = run(scenario)
    assert [("message" in x, x.get("error", {}).get("code")) for x in acks] == [
        (True, None),
        (True, None),
        (False, "request_pending"),
    ]
    assert blocked["error"]["code"] == "blocked"
    assert [(x["error"]["code"], x["error"]["field"]) for x in bad] == [
        ("invalid", "text"),
        ("invalid", "client_id"),
        ("invalid", "client_id"),
        ("invalid", "text"),
        ("invalid", "card"),
        ("required", "text"),
    ]
    assert bad[1]["client_id"] is None and bad[0]["client_id"] == "t"
    assert Message.objects.filter(conversation=conversation).count() == 0
    assert Message.objects.filter(conversation=request).count() == 2


def test_someone_elses_conversation_is_not_found_and_nothing_leaks():
    from meadow.asgi import application

    a, b, conversation = friends()
    services.message_send(sender=a, conversation=conversation, text="private", client_id="p")
    snoop = UserFactory()
    cs, ca, cb = cookie_for(snoop), cookie_for(a), cookie_for(b)

    async def scenario():
        s = Socket(application, "/ws/messages/", cookie=cs)
        sa = Socket(application, "/ws/messages/", cookie=ca)
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await s.connect() and await sa.connect() and await sb.connect()
        await sa.next_of("unread")
        await sb.next_of("unread")
        acks = []
        # someone else's conversation (with the client_id its sender used), one that does not exist, nonsense
        for target in (conversation.pk, conversation.pk + 1000, "1", True, -1):
            await s.send_json(frame(target, "p", "let me in"))
            acks.append(await s.next_of("ack", ACK_WAIT))
        quiet = [await sa.receive_nothing(timeout=0.3), await sb.receive_nothing(timeout=0.3)]
        await s.close()
        await sa.close()
        await sb.close()
        return acks, quiet

    acks, quiet = run(scenario)
    for ack in acks:
        assert ack["error"]["code"] == "not_found" and "message" not in ack
        assert set(ack) == {"type", "client_id", "conversation", "error"}
    # the two answers for a real and a missing conversation cannot be told apart
    assert acks[0]["error"] == acks[1]["error"]
    assert quiet == [True, True]
    assert list(Message.objects.values_list("text", flat=True)) == ["private"]


def test_an_api_client_with_a_ticket_sends_and_the_refusal_is_in_the_pages_language():
    from meadow.asgi import application

    a, _b, conversation = friends()
    a.language = "ms"
    a.save(update_fields=["language"])
    ticket, _seconds = services.realtime_ticket_issue(user=a)

    async def scenario():
        s = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        assert await s.connect()
        await s.send_json(frame(conversation.pk, "long", "x" * (services.MESSAGE_MAX + 1)))
        too_long = await s.next_of("ack", ACK_WAIT)
        await s.send_json(frame(conversation.pk, "ok", "baik"))
        ok = await s.next_of("ack", ACK_WAIT)
        await s.close()
        return too_long, ok

    too_long, ok = run(scenario)
    assert too_long["error"]["code"] == "too_long"
    assert too_long["error"]["message"] == "Mesej mempunyai paling banyak 2000 aksara."
    assert ok["message"]["text"] == "baik" and ok["message"]["seq"] == 1


def test_a_deactivated_account_cannot_send_on_a_socket_it_opened_before():
    from meadow.asgi import application

    a, _b, conversation = friends()
    ca = cookie_for(a)

    async def scenario():
        from asgiref.sync import sync_to_async

        s = Socket(application, "/ws/messages/", cookie=ca)
        assert await s.connect()
        await sync_to_async(type(a).objects.filter(pk=a.pk).update)(is_active=False)
        await s.send_json(frame(conversation.pk, "late", "still here?"))
        ack = await s.next_of("ack", ACK_WAIT)
        await s.close()
        return ack

    ack = run(scenario)
    assert ack["error"]["code"] == "not_found"
    assert not Message.objects.exists()


def test_a_store_that_fails_is_answered_server_error_and_commits_nothing(monkeypatch):
    """The database going away mid-send: the sender hears ``server_error`` (the page posts it again over HTTP with
    the same client_id), the socket stays open, and nothing was stored or delivered."""
    from django.db import OperationalError

    from meadow.asgi import application

    a, b, conversation = friends()
    ca, cb = cookie_for(a), cookie_for(b)

    def gone(**kwargs):
        raise OperationalError("the database went away")

    async def scenario():
        sa = Socket(application, "/ws/messages/", cookie=ca)
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await sa.connect() and await sb.connect()
        await sb.next_of("unread")
        with monkeypatch.context() as patch:
            patch.setattr(services, "message_send", gone)
            await sa.send_json(frame(conversation.pk, "f1", "will it?"))
            failed = await sa.next_of("ack", ACK_WAIT)
        nothing = await sb.receive_nothing(timeout=0.5)
        await sa.send_json(frame(conversation.pk, "f1", "will it?"))  # the retry, once it is back
        stored = await sa.next_of("ack", ACK_WAIT)
        await sa.close()
        await sb.close()
        return failed, nothing, stored

    failed, nothing, stored = run(scenario)
    assert failed["error"]["code"] == "server_error" and "message" not in failed
    assert nothing is True
    assert stored["created"] is True and stored["message"]["seq"] == 1
    assert Message.objects.count() == 1


def test_events_deferred_collects_instead_of_sending(monkeypatch):
    """Inside ``events_deferred`` the services' after-commit events are collected for the consumer to send on its
    own loop; outside it they go to the channel layer as before."""
    from meadow.messaging import events

    hops: list = []
    monkeypatch.setattr(events, "async_to_sync", lambda fn: lambda pairs: hops.append(pairs))
    with events.events_deferred() as collected:
        events.event_send(user_ids=[1, 2], event={"type": "typing"})
    assert collected == [(1, {"type": "typing"}), (2, {"type": "typing"})] and hops == []
    events.event_send(user_ids=[3], event={"type": "typing"})
    assert hops == [[(3, {"type": "typing"})]]

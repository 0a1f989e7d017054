"""Regression tests for the socket side of the attack pass's gaps (issue #19): an over-long frame is refused with
a clear error, catching up is rate-limited per person (the socket's ``?after=`` and ``resume``, the history
endpoints), a block between two group members delivers the group's messages to both, and a team member the
customer blocked has no way to the customer's conversation through their socket."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from meadow.accounts.models import Block, Follow
from meadow.messaging import services
from meadow.messaging.tests.test_realtime import Socket, cookie_for, friends
from meadow.store.tests.factories import verified_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_catching_up_is_rate_limited_per_person(api_for, settings):
    """``MEADOW_RATE_LIMITS`` scales every limit: 0.05 × 120 a minute = 6 catching-up reads for this test."""
    from meadow.asgi import application

    settings.MEADOW_RATE_LIMITS = "0.05"
    a, b, conversation = friends()
    services.message_send(sender=a, conversation=conversation, text="one", client_id="m1")
    path = f"/api/v1/conversations/{conversation.pk}/messages"
    answers = [api_for(a).get(f"{path}?after=0").status_code for _ in range(6)]
    refused = api_for(a).get(f"{path}?before=5")
    assert answers == [200] * 6
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    # b is someone else: not limited by a's reads
    assert api_for(b).get(f"{path}?after=0").status_code == 200
    cookie = cookie_for(a)

    async def scenario():
        resumed = Socket(
            application, "/ws/messages/", cookie=cookie, query=f"after={conversation.pk}:0".encode()
        )
        await resumed.send_input({"type": "websocket.connect"})
        closed = await resumed.receive_output(5)
        plain = Socket(application, "/ws/messages/", cookie=cookie)
        assert await plain.connect()
        assert (await plain.receive_json())["type"] == "unread"
        await plain.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
        error = await plain.receive_json()
        await plain.send_json({"type": "ping"})
        pong = await plain.receive_json()
        await plain.close()
        return closed, error, pong

    closed, error, pong = asyncio.run(scenario())
    assert closed["type"] == "websocket.close" and closed["code"] == 4429
    assert error == {"type": "error", "code": "rate_limited"} and pong == {"type": "pong"}


def test_a_block_between_group_members_still_delivers_the_group_to_both():
    from meadow.asgi import application

    creator, b, c = UserFactory(), UserFactory(), UserFactory()
    for p in (b, c):
        Follow.objects.create(follower=p, followee=creator)
    group = services.group_create(user=creator, members=[b, c], name="Book club")
    Block.objects.create(blocker=b, blocked=c)
    cb, cc = cookie_for(b), cookie_for(c)

    async def scenario():
        sb, sc = (
            Socket(application, "/ws/messages/", cookie=cb),
            Socket(application, "/ws/messages/", cookie=cc),
        )
        assert await sb.connect() and await sc.connect()
        await sync_to_async(services.message_send)(
            sender=c, conversation=group, text="hi from c", client_id="c1"
        )
        got_b = await sb.next_of("message")
        await sc.send_json({"type": "resume", "after": {str(group.pk): 0}})
        resumed_c = await sc.next_of("resumed")
        await sb.close()
        await sc.close()
        return got_b, resumed_c

    got_b, _resumed = asyncio.run(scenario())
    assert got_b["message"]["text"] == "hi from c" and got_b["message"]["conversation"] == group.pk


def test_a_blocked_team_members_socket_has_no_way_to_the_customers_conversation():
    from meadow.asgi import application

    business, member, customer = verified_user(), UserFactory(), UserFactory()
    services.team_invite(business=business, handle=member.handle)
    services.team_accept(member=member, business=business)
    conversation, _ = services.conversation_open(user=customer, other=business)
    services.message_send(sender=customer, conversation=conversation, text="Is it in stock?", client_id="c1")
    Block.objects.create(blocker=customer, blocked=member)
    cookie = cookie_for(member)

    async def scenario():
        s = Socket(application, "/ws/messages/", cookie=cookie)
        assert await s.connect()
        await s.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
        error = await s.next_of("error")
        await s.send_json({"type": "typing", "conversation": conversation.pk})
        typing_error = await s.next_of("error")
        await sync_to_async(services.message_send)(
            sender=customer, conversation=conversation, text="hello?", client_id="c2"
        )
        await s.send_json({"type": "ping"})
        after = await s.receive_json()
        while after["type"] != "pong":  # nothing of the conversation reaches the member's socket
            assert after["type"] not in ("message", "typing"), after
            after = await s.receive_json()
        await s.close()
        return error, typing_error

    error, typing_error = asyncio.run(scenario())
    assert error["code"] == "not_found" and error["conversation"] == str(conversation.pk)
    assert typing_error["code"] == "not_found"

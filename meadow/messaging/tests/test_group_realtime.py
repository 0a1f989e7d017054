"""A group over the messages socket: every member receives a message live and typing, a removed member hears
"removed" and then nothing more of the group (a resume of it is refused), in the style of test_realtime.py."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from meadow.accounts.models import Follow
from meadow.messaging import services
from meadow.messaging.tests.test_realtime import Socket, cookie_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
send = sync_to_async(services.message_send)


def group_of_three():
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for p in (b, c):
        Follow.objects.create(follower=p, followee=a)
    group = services.group_create(user=a, members=[b, c], name="Trio")
    return a, b, c, group


def test_every_member_receives_live_and_a_removed_member_nothing_more():
    from meadow.asgi import application

    a, b, c, group = group_of_three()
    ca, cb, cc = cookie_for(a), cookie_for(b), cookie_for(c)

    async def scenario():
        sa, sb, sc = (Socket(application, "/ws/messages/", cookie=k) for k in (ca, cb, cc))
        assert await sa.connect() and await sb.connect() and await sc.connect()
        await send(sender=a, conversation=group, text="hello trio", client_id="1")
        got = [await s.next_of("message") for s in (sa, sb, sc)]
        await sb.send_json({"type": "typing", "conversation": group.pk})
        typing = [await sa.next_of("typing"), await sc.next_of("typing")]
        await sync_to_async(services.group_member_remove)(user=a, conversation=group, member=c)
        removed = await sc.next_of("removed")
        members = await sb.next_of("members")
        await send(sender=b, conversation=group, text="just us", client_id="2")
        after = await sa.next_of("message")
        await sb.next_of("message")
        leaked = [e async for e in _drain(sc) if e["type"] in ("message", "typing")]
        await sc.send_json({"type": "resume", "after": {str(group.pk): 0}})
        resume = await sc.receive_json()
        for s in (sa, sb, sc):
            await s.close()
        return got, typing, removed, members, after, leaked, resume

    got, typing, removed, members, after, leaked, resume = asyncio.run(scenario())
    assert [g["message"]["text"] for g in got] == ["hello trio"] * 3
    assert {g["message"]["seq"] for g in got} == {1}
    assert [t["who"] for t in typing] == [b.handle, b.handle]
    assert removed == {"type": "removed", "conversation": group.pk}
    assert sorted(members["members"]) == sorted([a.handle, b.handle])
    assert after["message"]["text"] == "just us" and after["message"]["seq"] == 2
    assert leaked == []
    assert resume["type"] == "error" and resume["code"] == "not_found"


async def _drain(socket, timeout: float = 0.5):
    """Every event the socket still has within ``timeout``."""
    while not await socket.receive_nothing(timeout=timeout):
        yield await socket.receive_json()

"""The messages socket: both people receive a message live, read and typing events, a reconnect that resumes
after its last seq loses nothing, someone else's conversation is refused, API clients connect with a single-use
ticket, and a recipient with no socket open gets a notification instead."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from meadow.accounts.models import Follow
from meadow.messaging import services
from meadow.messaging.models import Conversation
from meadow.notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Socket(ApplicationCommunicator):
    """A WebSocket client against the ASGI application (channels.testing's, without its daphne import)."""

    def __init__(self, application, path: str, *, cookie: bytes | None = None, query: bytes = b"") -> None:
        headers = [(b"origin", b"http://localhost")]
        if cookie:
            headers.append((b"cookie", cookie))
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query,
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 5) -> bool:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        return response["type"] == "websocket.accept"

    async def send_json(self, data) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json(self, timeout: float = 5):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def next_of(self, kind: str, timeout: float = 5):
        """The next event of ``kind`` (skipping unread-badge updates and the like)."""
        while True:
            event = await self.receive_json(timeout)
            if event["type"] == kind:
                return event

    async def close(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(5)


def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def friends():
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _ = services.conversation_open(user=a, other=b)
    return a, b, conversation


send = sync_to_async(services.message_send)


def test_both_people_receive_the_message_live_with_read_and_typing():
    from meadow.asgi import application

    a, b, conversation = friends()
    ca, cb = cookie_for(a), cookie_for(b)

    async def scenario():
        sa, sb = (
            Socket(application, "/ws/messages/", cookie=ca),
            Socket(application, "/ws/messages/", cookie=cb),
        )
        assert await sa.connect() and await sb.connect()
        assert (await sb.receive_json())["type"] == "unread"
        await send(sender=a, conversation=conversation, text="hello b", client_id="m1")
        got_b = await sb.next_of("message")
        got_a = await sa.next_of("message")
        badge = await sb.next_of("unread")
        await sb.send_json({"type": "typing", "conversation": conversation.pk})
        typing = await sa.next_of("typing")
        await sync_to_async(services.conversation_read)(user=b, conversation=conversation, seq=1)
        read = await sa.next_of("read")
        await sa.close()
        await sb.close()
        return got_a, got_b, badge, typing, read

    got_a, got_b, badge, typing, read = asyncio.run(scenario())
    assert got_b["message"]["text"] == "hello b" and got_b["message"]["seq"] == 1
    assert got_b["message"]["sender"]["handle"] == a.handle
    assert got_a["message"] == got_b["message"]
    assert badge["total"] == 1
    assert typing == {"type": "typing", "conversation": conversation.pk, "who": b.handle}
    assert read["seq"] == 1 and read["reader"] == b.handle
    # connected: no notification
    assert not Notification.objects.filter(recipient=b).exists()


def test_a_reconnect_that_resumes_loses_nothing():
    from meadow.asgi import application

    a, b, conversation = friends()
    cb = cookie_for(b)

    async def scenario():
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await sb.connect()
        await send(sender=a, conversation=conversation, text="one", client_id="1")
        first = await sb.next_of("message")
        await sb.close()  # the connection drops mid-stream
        for i in (2, 3, 4):
            await send(sender=a, conversation=conversation, text=f"m{i}", client_id=str(i))
        again = Socket(application, "/ws/messages/", cookie=cb)
        assert await again.connect()
        await again.send_json({"type": "resume", "after": {str(conversation.pk): first["message"]["seq"]}})
        missed = []
        while True:
            event = await again.receive_json()
            if event["type"] == "resumed":
                break
            if event["type"] == "message":
                missed.append(event["message"])
        await send(sender=a, conversation=conversation, text="live again", client_id="5")
        live = await again.next_of("message")
        await again.close()
        return first, missed, live

    first, missed, live = asyncio.run(scenario())
    assert first["message"]["seq"] == 1
    assert [m["seq"] for m in missed] == [2, 3, 4] and [m["text"] for m in missed] == ["m2", "m3", "m4"]
    assert live["message"]["seq"] == 5


def test_someone_elses_conversation_is_refused_and_nothing_leaks():
    from meadow.asgi import application

    a, _b, conversation = friends()
    snoop = UserFactory()
    cs = cookie_for(snoop)

    async def scenario():
        s = Socket(application, "/ws/messages/", cookie=cs)
        assert await s.connect()
        assert (await s.receive_json())["type"] == "unread"
        await s.send_json({"type": "typing", "conversation": conversation.pk})
        typing = await s.receive_json()
        await s.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
        resumed = [await s.receive_json(), await s.receive_json()]
        await send(sender=a, conversation=conversation, text="secret", client_id="s")
        nothing = await s.receive_nothing(timeout=0.5)
        await s.close()
        return typing, resumed, nothing

    await_typing, resumed, nothing = asyncio.run(scenario())
    assert await_typing == {"type": "error", "code": "not_found"}
    assert resumed[0]["type"] == "error" and resumed[1] == {"type": "resumed"}
    assert nothing is True


def test_anonymous_is_refused_and_a_ticket_works_once():
    from meadow.asgi import application

    user = UserFactory()
    ticket, _ = services.realtime_ticket_issue(user=user)

    async def scenario():
        anonymous = Socket(application, "/ws/messages/")
        refused = await anonymous.connect()
        with_ticket = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        accepted = await with_ticket.connect()
        await with_ticket.close()
        reused = Socket(application, "/ws/messages/", query=f"ticket={ticket}".encode())
        return refused, accepted, await reused.connect()

    refused, accepted, reused = asyncio.run(scenario())
    assert (refused, accepted, reused) == (False, True, False)


def test_a_recipient_with_no_socket_open_gets_one_notification():
    a, b, conversation = friends()
    services.message_send(sender=a, conversation=conversation, text="are you there?", client_id="1")
    services.message_send(sender=a, conversation=conversation, text="hello?", client_id="2")
    found = list(Notification.objects.filter(recipient=b))
    assert len(found) == 1
    assert found[0].data["conversation"] == conversation.pk and found[0].actor_id == a.pk
    assert not Notification.objects.filter(recipient=a).exists()
    # a muted conversation stays quiet
    services.conversation_read(user=b, conversation=conversation, seq=2)
    services.conversation_mute(user=b, conversation=conversation, muted=True)
    services.message_send(sender=a, conversation=conversation, text="still there?", client_id="3")
    assert Notification.objects.filter(recipient=b).count() == 1
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 3


def test_bad_frames_are_answered_and_the_socket_stays_open():
    """Not JSON, a binary frame: an ``error`` event, and the socket still answers (the default decoder raised,
    which closed it with a server error). A frame past FRAME_MAX is refused unread with ``frame_too_large``."""
    from meadow.asgi import application
    from meadow.messaging.consumers import FRAME_MAX

    user = UserFactory()
    cookie = cookie_for(user)

    async def scenario():
        s = Socket(application, "/ws/messages/", cookie=cookie)
        assert await s.connect()
        assert (await s.receive_json())["type"] == "unread"
        await s.send_input({"type": "websocket.receive", "text": "{not json"})
        bad_json = await s.receive_json()
        await s.send_input({"type": "websocket.receive", "bytes": b"\x00\x01"})
        bad_frame = await s.receive_json()
        await s.send_json({"type": "ping"})
        pong = await s.receive_json()
        await s.send_input(
            {"type": "websocket.receive", "text": json.dumps({"type": "ping", "pad": "x" * FRAME_MAX})}
        )
        too_large = await s.receive_json()
        await s.send_json({"type": "ping"})
        pong_after = await s.receive_json()
        await s.close()
        return bad_json, bad_frame, pong, (too_large, pong_after)

    bad_json, bad_frame, pong, closed = asyncio.run(scenario())
    assert bad_json == {"type": "error", "code": "bad_json"}
    assert bad_frame == {"type": "error", "code": "bad_frame"}
    assert pong == {"type": "pong"}
    assert closed == ({"type": "error", "code": "frame_too_large", "max": FRAME_MAX}, {"type": "pong"})


def test_typing_in_a_loop_reaches_the_other_person_once_a_second():
    """200 "typing" frames sent at once: the other person hears it once (it reached them 200 times)."""
    from meadow.asgi import application

    a, b, conversation = friends()
    ca, cb = cookie_for(a), cookie_for(b)

    async def scenario():
        sa, sb = (
            Socket(application, "/ws/messages/", cookie=ca),
            Socket(application, "/ws/messages/", cookie=cb),
        )
        assert await sa.connect() and await sb.connect()
        assert (await sb.receive_json())["type"] == "unread"
        for _ in range(200):
            await sa.send_json({"type": "typing", "conversation": conversation.pk})
        await sa.send_json({"type": "ping"})
        await sa.next_of("pong")
        # everything the loop caused has been handed to b's socket by now: count it
        await sync_to_async(services.message_send)(
            sender=a, conversation=conversation, text="hi", client_id="x"
        )
        heard = []
        while True:
            event = await sb.receive_json()
            if event["type"] == "message":
                break
            heard.append(event["type"])
        await sa.close()
        await sb.close()
        return heard

    heard = asyncio.run(scenario())
    assert heard.count("typing") == 1


def test_a_resumed_card_reads_as_the_reader_may_see_it():
    """A message with a card missed while offline comes back like the live one: resolved for the reader (the
    stored ``{"type", "id"}`` was sent as is, and the page showed every resumed card as "unavailable")."""
    from meadow.asgi import application
    from meadow.notes.models import Note
    from meadow.notes.tests.factories import NoteFactory

    a, b, conversation = friends()
    public = NoteFactory(author=a, title="Cendol stalls")
    private = NoteFactory(author=a, title="Secret diary", visibility=Note.Visibility.PRIVATE)
    services.message_send(
        sender=a, conversation=conversation, text="", client_id="1", card={"type": "note", "id": public.pk}
    )
    services.message_send(
        sender=a, conversation=conversation, text="", client_id="2", card={"type": "note", "id": private.pk}
    )
    cb = cookie_for(b)

    async def scenario():
        sb = Socket(application, "/ws/messages/", cookie=cb)
        assert await sb.connect()
        await sb.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
        cards = []
        while True:
            event = await sb.receive_json()
            if event["type"] == "resumed":
                break
            if event["type"] == "message":
                cards.append(event["message"]["card"])
        await sb.close()
        return cards

    cards = asyncio.run(scenario())
    assert cards[0] == {
        "type": "note",
        "id": public.pk,
        "available": True,
        "title": "Cendol stalls",
        "url": f"/notes/{public.pk}/",
        "status": None,
    }
    assert cards[1] == {
        "type": "note",
        "id": private.pk,
        "available": False,
        "title": None,
        "url": None,
        "status": None,
    }


async def _collect_until(
    sock: Socket, conversation_id: int, last_seq: int, timeout: float = 20
) -> list[dict]:
    """Every message event of the conversation until the one numbered ``last_seq`` (other events skipped)."""
    got: list[dict] = []
    while not got or got[-1]["seq"] < last_seq:
        event = await sock.receive_json(timeout)
        if event["type"] == "message" and event["message"]["conversation"] == conversation_id:
            got.append(event["message"])
    return got


@pytest.mark.parametrize("how", ["connect", "resume_event"])
def test_a_socket_dropped_mid_stream_reconnects_and_gets_each_message_once_in_order(how):
    """Issue #19: while 40 messages are being sent, the recipient's socket drops (what was queued for it is
    lost with it), reconnects naming the last seq it saw, and receives every message exactly once. With
    ``?after=`` at connect the order is the seq order too. Runs on the in-memory layer and on Redis."""
    from meadow.asgi import application

    a, b, conversation = friends()
    cb = cookie_for(b)
    total = 40

    async def sender(started: asyncio.Event) -> None:
        for i in range(1, total + 1):
            await send(sender=a, conversation=conversation, text=f"m{i}", client_id=f"c{i}")
            if i == 5:
                started.set()
            await asyncio.sleep(0.002)

    async def scenario():
        first = Socket(application, "/ws/messages/", cookie=cb)
        assert await first.connect()
        started = asyncio.Event()
        sending = asyncio.create_task(sender(started))
        await started.wait()
        before: list[dict] = []
        while len(before) < 10:
            event = await first.receive_json(10)
            if event["type"] == "message":
                before.append(event["message"])
        await first.close()  # dropped mid-stream: events queued for this socket are gone with it
        seen = before[-1]["seq"]
        await asyncio.sleep(0.05)  # a few more are sent while nobody listens
        cid = conversation.pk
        if how == "connect":
            again = Socket(application, "/ws/messages/", cookie=cb, query=f"after={cid}:{seen}".encode())
            assert await again.connect()
        else:
            again = Socket(application, "/ws/messages/", cookie=cb)
            assert await again.connect()
            await again.send_json({"type": "resume", "after": {str(cid): seen}})
        after = await _collect_until(again, cid, total)
        await sending
        nothing_more = True  # no message after the last one (unread badges may follow)
        while not await again.receive_nothing(timeout=0.3):
            nothing_more = nothing_more and (await again.receive_json())["type"] != "message"
        await again.close()
        return before, after, nothing_more

    before, after, nothing_more = asyncio.run(scenario())
    assert [m["seq"] for m in before] == list(range(1, 11))
    seqs = [m["seq"] for m in after]
    assert len(seqs) == len(set(seqs)), "a message was delivered twice"
    assert sorted(seqs) == list(range(11, total + 1)), "a message was lost"
    if how == "connect":
        assert seqs == list(range(11, total + 1)), "not in seq order"
    assert all(m["text"] == f"m{m['seq']}" for m in before + after)
    assert nothing_more is True


def test_a_malformed_after_is_refused_and_bad_resume_values_are_answered_not_crashed():
    from meadow.asgi import application

    a, b, conversation = friends()
    services.message_send(sender=a, conversation=conversation, text="one", client_id="1")
    cb = cookie_for(b)

    async def scenario():
        results = []
        for query in (b"after=abc", b"after=1:-3", b"after=1:99999999999999999999999", b"after=:5"):
            sock = Socket(application, "/ws/messages/", cookie=cb, query=query)
            results.append(await sock.connect())
        sock = Socket(application, "/ws/messages/", cookie=cb)
        assert await sock.connect()
        await sock.receive_json()  # the badge
        # JSON's Infinity, a huge number, a negative one: errors, and the socket keeps working
        await sock.send_input(
            {
                "type": "websocket.receive",
                "text": f'{{"type": "resume", "after": {{"{conversation.pk}": Infinity}}}}',
            }
        )
        answers = [await sock.receive_json(), await sock.receive_json()]
        await sock.send_json({"type": "resume", "after": {str(conversation.pk): 2**70, "x": 0}})
        answers += [await sock.receive_json(), await sock.receive_json(), await sock.receive_json()]
        await sock.send_json({"type": "resume", "after": {str(conversation.pk): 0}})
        good = await sock.next_of("message")
        await sock.close()
        return results, answers, good

    results, answers, good = asyncio.run(scenario())
    assert results == [False, False, False, False]
    assert [x["type"] for x in answers] == ["error", "resumed", "error", "error", "resumed"]
    assert {x.get("code") for x in answers if x["type"] == "error"} == {"bad_resume"}
    assert good["message"]["text"] == "one"

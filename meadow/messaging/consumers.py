"""The messages socket ``/ws/messages/``: a signed-in page (session) or an API client (``?ticket=`` from
``POST /api/v1/realtime/ticket``) joins its person's group and receives ``message``, ``withdrawn``, ``read``,
``typing``, ``accepted`` and ``unread`` events (sent by the services after commit). The client may send
``{"type": "typing", "conversation": id}`` and ``{"type": "resume", "after": {"<conversation id>": seq}}``; the
latter answers every message it missed, in ``seq`` order (a card as this person may see it, like every other
message event), then ``{"type": "resumed"}``. A conversation that is not the person's is ignored (and answered with
an ``error`` event): nothing of it leaks.

What a client sends is small: a frame longer than ``FRAME_MAX`` characters is refused unread with an ``error``
event (``frame_too_large``, with ``max``); a binary frame or one that is not JSON is answered with an ``error``
event (``bad_frame``, ``bad_json``); the socket stays open. The server itself reads no frame past
``WS_MAX_SIZE`` bytes (uvicorn's ``--ws-max-size`` in Procfile and Procfile.scale; it closes the socket with
1009 before the frame reaches this consumer). "typing" goes to the other person at most once a ``TYPING_EVERY``
seconds per conversation (a client sending it in a loop floods nobody).

Exactly once, in order (issue #19): the socket remembers, per conversation, the range of ``seq`` it has sent. A
live message it already sent (the resume found it in the database first) is not sent again; a live message past
a gap (another process delivered a later message first, or the socket joined while messages were being sent) is
preceded by the missing ones, read from the database. A reconnecting client that names its last seen ``seq``
at connect time — ``/ws/messages/?after=<conversation id>:<seq>,…`` — therefore receives every message it missed
and then the live ones, each once and in ``seq`` order, whatever is being sent meanwhile. (The ``resume`` event
sent after connecting loses and doubles nothing either, but a live message may overtake it.)"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meadow.messaging.events import user_group

RESUME_MAX_CONVERSATIONS = 50
RESUME_MAX_MESSAGES = 500
FRAME_MAX = 16 * 1024  # characters; the largest a client sends (a resume of 50 conversations) is about 2 KB
WS_MAX_SIZE = 64 * 1024  # bytes: uvicorn's --ws-max-size in the Procfiles (a test checks they agree)
TYPING_EVERY = 1.0  # seconds
SEQ_MAX = 2**63 - 1


def _seq(value: Any) -> int | None:
    """A sequence number from a client (an int, or its decimal string); ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value <= SEQ_MAX:
        return value
    return None


def parse_after(raw: str) -> dict[int, int] | None:
    """``"12:5,13:0"`` → ``{12: 5, 13: 0}``; ``None`` when malformed (the connection is refused as bad input)."""
    found: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key, sep, value = part.partition(":")
        conversation_id, seq = _seq(key), _seq(value)
        if not sep or conversation_id is None or conversation_id < 1 or seq is None:
            return None
        found[conversation_id] = seq
    return found if len(found) <= RESUME_MAX_CONVERSATIONS else None


class MessagesConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        # per conversation, the seqs this socket sent (each message goes out once)
        self.sent: dict[int, _Sent] = {}
        query = parse_qs((self.scope.get("query_string") or b"").decode(errors="replace"))
        after = parse_after((query.get("after") or [""])[0])
        if after is None:
            await self.close(code=4400)  # a malformed ?after=: bad input, refused before anything is read
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            ticket = (query.get("ticket") or [""])[0]
            user = await self._redeem(ticket) if ticket else None
        if user is None or not user.is_active:
            await self.close(code=4401)
            return
        self.user = user
        if after and not await self._resume_allowed():
            await self.close(code=4429)  # resumes are rate-limited per person: try again in a minute
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._presence(True)
        await self.send_json({"type": "unread", "total": await self._unread()})
        if after:
            # joined first, then read: a message committed in between is read here and its live copy skipped
            await self._send_resumed(
                await self._resume({str(k): v for k, v in after.items()}), after, tell_done=True
            )

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)
            await self._presence(False)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """A frame from the client: too big, binary or not JSON is refused here (the default decoder raised, which
        closed the socket with a server error and logged a traceback for every bad frame)."""
        if text_data is None:
            await self.send_json({"type": "error", "code": "bad_frame"})
            return
        if len(text_data) > FRAME_MAX:
            await self.send_json({"type": "error", "code": "frame_too_large", "max": FRAME_MAX})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "code": "bad_json"})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not hasattr(self, "user"):
            return
        kind = content.get("type")
        if kind == "typing":
            conversation_id = content.get("conversation")
            if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
                sent_at = getattr(self, "typing_sent", {})
                now = time.monotonic()
                if now - sent_at.get(conversation_id, -TYPING_EVERY) < TYPING_EVERY:
                    return  # told a moment ago
                if len(sent_at) > RESUME_MAX_CONVERSATIONS:
                    sent_at.clear()
                sent_at[conversation_id] = now
                self.typing_sent = sent_at
            ok = await self._typing(conversation_id)
            if not ok:
                await self.send_json({"type": "error", "code": "not_found"})
        elif kind == "resume":
            if not await self._resume_allowed():
                await self.send_json({"type": "error", "code": "rate_limited"})
                return
            after = content.get("after")
            events = await self._resume(after)
            asked = {}
            if isinstance(after, dict):
                asked = {
                    c: s for c, s in ((_seq(k), _seq(v)) for k, v in after.items()) if c and s is not None
                }
            await self._send_resumed(events, asked, tell_done=True)
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def messaging_event(self, event: dict[str, Any]) -> None:
        data = event["event"]
        if data.get("type") != "message":
            await self.send_json(data)
            return
        conversation_id, seq = data["message"]["conversation"], data["message"]["seq"]
        track = self.sent.setdefault(conversation_id, _Sent())
        if track.has(seq):
            return  # sent already (read from the database by a resume or a gap fill)
        if track.floor is not None and seq > track.floor + 1:
            # a gap: the messages between came (or will come) by another path; send them from the database first
            for item in await self._resume({str(conversation_id): track.floor}):
                if item["type"] == "message" and item["message"]["seq"] < seq:
                    await self._send_once(item)
        track.add(seq)
        await self.send_json(data)

    async def _send_once(self, event: dict[str, Any]) -> None:
        track = self.sent.setdefault(event["message"]["conversation"], _Sent())
        if not track.has(event["message"]["seq"]):
            track.add(event["message"]["seq"])
            await self.send_json(event)

    async def _send_resumed(
        self, events: list[dict[str, Any]], asked: dict[int, int], *, tell_done: bool
    ) -> None:
        """Send a resume's answer, skipping what this socket sent already; the client has everything up to the
        ``seq`` it named, so from now on a gap after it is filled from the database."""
        for conversation_id, seq in asked.items():
            self.sent.setdefault(conversation_id, _Sent()).known(seq)
        for event in events:
            if event["type"] == "message":
                await self._send_once(event)
            else:
                await self.send_json(event)
        if tell_done:
            await self.send_json({"type": "resumed"})

    # --- database work, off the event loop ---------------------------------------------------------------------
    @database_sync_to_async
    def _redeem(self, ticket: str):
        from meadow.messaging.services import realtime_ticket_redeem

        return realtime_ticket_redeem(ticket=ticket)

    @database_sync_to_async
    def _resume_allowed(self) -> bool:
        from meadow.core.ratelimit import RateLimited
        from meadow.messaging.services import resume_rate_check

        try:
            resume_rate_check(user=self.user)
        except RateLimited:
            return False
        return True

    @database_sync_to_async
    def _presence(self, joined: bool) -> None:
        from meadow.messaging.presence import presence_join, presence_leave

        (presence_join if joined else presence_leave)(user_id=self.user.pk)

    @database_sync_to_async
    def _unread(self) -> int:
        from meadow.messaging.selectors import messages_unread_total

        return messages_unread_total(user_id=self.user.pk)

    @database_sync_to_async
    def _typing(self, conversation_id: Any) -> bool:
        from django.http import Http404

        from meadow.messaging.selectors import conversation_get_for_participant
        from meadow.messaging.services import typing_send

        if isinstance(conversation_id, bool) or not isinstance(conversation_id, int):
            return False
        try:
            conversation = conversation_get_for_participant(user=self.user, conversation_id=conversation_id)
        except Http404:
            return False
        typing_send(user=self.user, conversation=conversation)
        return True

    @database_sync_to_async
    def _resume(self, after: Any) -> list[dict[str, Any]]:
        """Every message after the given seq of each of the person's conversations (others are skipped)."""
        from django.http import Http404

        from meadow.messaging.selectors import messages_for_participant, participant_get

        if not isinstance(after, dict):
            return [{"type": "error", "code": "bad_resume"}]
        events: list[dict[str, Any]] = []
        for key, seq in list(after.items())[:RESUME_MAX_CONVERSATIONS]:
            conversation_id, last = _seq(key), _seq(seq)
            if last is None or not conversation_id:
                events.append({"type": "error", "code": "bad_resume", "conversation": str(key)[:20]})
                continue
            try:
                participant = participant_get(user=self.user, conversation_id=conversation_id)
            except Http404:
                events.append({"type": "error", "code": "not_found", "conversation": str(key)[:20]})
                continue
            cursor = None
            sent = 0
            while sent < RESUME_MAX_MESSAGES:
                page = messages_for_participant(
                    participant=participant, after=max(last, 0), cursor=cursor, limit=50
                )
                events += [{"type": "message", "message": _for_reader(m, self.user)} for m in page["items"]]
                sent += len(page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        return events


class _Sent:
    """The seqs of one conversation this socket delivered: all up to ``floor`` (once it is known — the client
    named its last seq, or a resume brought it there), and the others in ``above``."""

    def __init__(self) -> None:
        self.floor: int | None = None
        self.above: set[int] = set()

    def has(self, seq: int) -> bool:
        return (self.floor is not None and seq <= self.floor) or seq in self.above

    def known(self, seq: int) -> None:
        self.floor = seq if self.floor is None else max(self.floor, seq)
        self._compact()

    def add(self, seq: int) -> None:
        self.above.add(seq)
        self._compact()

    def _compact(self) -> None:
        if self.floor is None:
            return
        self.above = {s for s in self.above if s > self.floor}
        while self.floor + 1 in self.above:
            self.floor += 1
            self.above.discard(self.floor)


def _for_reader(message: Any, reader: Any) -> dict[str, Any]:
    """A message as the live event carries it to ``reader``: its card as that reader may see it."""
    from meadow.messaging.cards import card_for_reader
    from meadow.messaging.shapes import message_data

    data = message_data(message)
    if data["card"]:
        data["card"] = card_for_reader(data["card"], reader=reader)
    return data

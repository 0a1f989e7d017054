"""The messages socket ``/ws/messages/``: a signed-in page (session) or an API client (``?ticket=`` from
``POST /api/v1/realtime/ticket``) joins its person's group and receives ``message``, ``withdrawn``, ``read``,
``typing``, ``accepted`` and ``unread`` events (sent by the services after commit). The client may send
``{"type": "typing", "conversation": id}`` and ``{"type": "resume", "after": {"<conversation id>": seq}}``; the
latter answers every message it missed, in ``seq`` order (a card as this person may see it, like every other
message event), then ``{"type": "resumed"}``. A conversation that is not the person's is ignored (and answered with
an ``error`` event): nothing of it leaks.

What a client sends is small: a frame longer than ``FRAME_MAX`` characters closes the socket (1009, "message too
big") unread; a binary frame or one that is not JSON is answered with an ``error`` event (``bad_frame``,
``bad_json``) and the socket stays open. "typing" goes to the other person at most once a ``TYPING_EVERY``
seconds per conversation (a client sending it in a loop floods nobody)."""

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
TYPING_EVERY = 1.0  # seconds


class MessagesConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            query = parse_qs((self.scope.get("query_string") or b"").decode())
            ticket = (query.get("ticket") or [""])[0]
            user = await self._redeem(ticket) if ticket else None
        if user is None or not user.is_active:
            await self.close(code=4401)
            return
        self.user = user
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._presence(True)
        await self.send_json({"type": "unread", "total": await self._unread()})

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
            await self.close(code=1009)
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
            for event in await self._resume(content.get("after")):
                await self.send_json(event)
            await self.send_json({"type": "resumed"})
        elif kind == "ping":
            await self.send_json({"type": "pong"})

    async def messaging_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["event"])

    # --- database work, off the event loop ---------------------------------------------------------------------
    @database_sync_to_async
    def _redeem(self, ticket: str):
        from meadow.messaging.services import realtime_ticket_redeem

        return realtime_ticket_redeem(ticket=ticket)

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

        from meadow.messaging.cards import card_for_reader
        from meadow.messaging.selectors import messages_for_participant, participant_get
        from meadow.messaging.shapes import message_data

        if not isinstance(after, dict):
            return [{"type": "error", "code": "bad_resume"}]
        events: list[dict[str, Any]] = []
        for key, seq in list(after.items())[:RESUME_MAX_CONVERSATIONS]:
            try:
                conversation_id, last = int(key), int(seq)
                participant = participant_get(user=self.user, conversation_id=conversation_id)
            except (TypeError, ValueError, Http404):
                events.append({"type": "error", "code": "not_found", "conversation": str(key)[:20]})
                continue
            cursor = None
            sent = 0
            while sent < RESUME_MAX_MESSAGES:
                page = messages_for_participant(
                    participant=participant, after=max(last, 0), cursor=cursor, limit=50
                )
                for m in page["items"]:
                    data = message_data(m)
                    # the stored card is only {"type", "id"}: resolve it for this reader, as live events do
                    data["card"] = card_for_reader(data["card"], reader=self.user)
                    events.append({"type": "message", "message": data})
                sent += len(page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        return events

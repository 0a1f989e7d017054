"""The messages socket ``/ws/messages/``: a signed-in page (session) or an API client (``?ticket=`` from
``POST /api/v1/realtime/ticket``) joins its person's group and receives ``message``, ``withdrawn``, ``read``,
``typing``, ``accepted`` and ``unread`` events (sent by the services after commit). The client may send
``{"type": "typing", "conversation": id}`` and ``{"type": "resume", "after": {"<conversation id>": seq}}``; the
latter answers every message it missed, in ``seq`` order, then ``{"type": "resumed"}``. A conversation that is not
the person's is ignored (and answered with an ``error`` event): nothing of it leaks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meadow.messaging.events import user_group

RESUME_MAX_CONVERSATIONS = 50
RESUME_MAX_MESSAGES = 500


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

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not hasattr(self, "user"):
            return
        kind = content.get("type")
        if kind == "typing":
            ok = await self._typing(content.get("conversation"))
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
                events += [{"type": "message", "message": message_data(m)} for m in page["items"]]
                sent += len(page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        return events

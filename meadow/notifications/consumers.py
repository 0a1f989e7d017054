"""Real-time unread badges: each signed-in page joins its person's group and receives the new unread counts
after every change (``services.notifications_changed`` sends them after commit)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from meadow.notifications.services import user_group


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "unread", "counts": await self._counts(user.pk)})

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def notifications_unread(self, event) -> None:
        await self.send_json({"type": "unread", "counts": event["counts"]})

    @database_sync_to_async
    def _counts(self, user_id: int) -> dict[str, int]:
        from meadow.notifications.selectors import notifications_unread_counts

        return notifications_unread_counts(user_id=user_id)

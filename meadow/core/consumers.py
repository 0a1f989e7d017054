from channels.generic.websocket import AsyncJsonWebsocketConsumer


class HealthConsumer(AsyncJsonWebsocketConsumer):
    """Answers a ping through the channel layer, so operators can tell the real-time path works end to end."""

    async def connect(self) -> None:
        await self.accept()
        await self.channel_layer.group_add("health", self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard("health", self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        await self.channel_layer.group_send("health", {"type": "health.pong", "echo": content.get("ping")})

    async def health_pong(self, event) -> None:
        await self.send_json({"pong": event["echo"]})

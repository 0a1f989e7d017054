"""WebSocket routes (Channels). Real-time features (messages, notification badges) add their consumers here."""

from django.urls import path

from meadow.core.consumers import HealthConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
]

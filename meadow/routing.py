"""WebSocket routes (Channels). Real-time features (messages, notification badges) add their consumers here."""

from django.urls import path

from meadow.core.consumers import HealthConsumer
from meadow.messaging.consumers import MessagesConsumer
from meadow.notifications.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/messages/", MessagesConsumer.as_asgi()),
]

"""Real-time delivery: after a commit the services send events to each person's Channels group (every open
messages socket of theirs joined it); the consumer forwards them as JSON. In memory on the embedded default,
through Redis at scale, so two web processes deliver to each other."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """The Channels group of one person's open messages sockets."""
    return f"messaging.user.{user_id}"


def event_send(*, user_ids: list[int], event: dict[str, Any]) -> None:
    """Send ``event`` (``{"type": "message" | "read" | "typing" | …}``) to each person's sockets. A delivery that
    fails never fails the action (the message is stored; a reconnecting client resumes after its last seq)."""
    try:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        for user_id in user_ids:
            async_to_sync(layer.group_send)(user_group(user_id), {"type": "messaging.event", "event": event})
    except Exception:
        logger.warning("message delivery failed for %s", user_ids, exc_info=True)

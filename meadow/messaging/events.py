"""Real-time delivery: after a commit the services send events to each person's Channels group (every open
messages socket of theirs joined it); the consumer forwards them as JSON. In memory on the embedded default,
through Redis at scale, so two web processes deliver to each other."""

from __future__ import annotations

import asyncio
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
    events_send([(user_id, event) for user_id in user_ids])


def events_send(pairs: list[tuple[int, dict[str, Any]]]) -> None:
    """Send each ``(user_id, event)`` in one hop to the event loop (``group_send`` concurrently, in order per
    person): a message's delivery and badges cost one ``async_to_sync`` instead of one per person and event."""
    if not pairs:
        return
    try:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return

        async def send_all() -> None:
            by_user: dict[int, list[dict[str, Any]]] = {}
            for user_id, event in pairs:
                by_user.setdefault(user_id, []).append(event)

            async def for_user(user_id: int, events: list[dict[str, Any]]) -> None:
                for event in events:  # one person's events keep their order
                    await layer.group_send(user_group(user_id), {"type": "messaging.event", "event": event})

            await asyncio.gather(*(for_user(u, e) for u, e in by_user.items()))

        async_to_sync(send_all)()
    except Exception:
        logger.warning("message delivery failed for %s", sorted({u for u, _e in pairs}), exc_info=True)

"""The JSON shapes of conversations and messages, shared by the API, the WebSocket events and the pages (one
definition, so a message pushed live reads exactly like the same message fetched later)."""

from __future__ import annotations

from typing import Any

from meadow.messaging.models import Message


def person_data(user: Any) -> dict[str, Any]:
    return {
        "handle": user.handle,
        "display_name": user.display_name,
        "avatar": user.avatar.url if user.avatar else None,
        "verified": bool(user.is_verified_enterprise),
    }


def image_url(conversation_id: int, image_id: int) -> str:
    """Where a participant fetches a message's image (session or token; 404 for anyone else)."""
    return f"/api/v1/conversations/{conversation_id}/images/{image_id}"


def message_data(message: Message) -> dict[str, Any]:
    """A message as its readers see it; an unsent one keeps its place in the sequence as "message withdrawn"
    (``withdrawn``: true, the text erased; each reader's client says so in its language)."""
    withdrawn = message.withdrawn_at is not None
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "seq": message.seq,
        "sender": person_data(message.sender),
        "client_id": message.client_id,
        "text": "" if withdrawn else message.text,
        "card": None if withdrawn else message.card,
        "images": []
        if withdrawn
        else [
            {"url": image_url(message.conversation_id, i.pk), "width": i.width, "height": i.height}
            for i in message.images.all()
        ],
        "withdrawn": withdrawn,
        "system": message.system or None,
        "created_at": message.created_at.isoformat(),
    }

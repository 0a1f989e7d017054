"""What the engagement app does after the commit of its own facts (``meadow.core.outbox``): a like's event,
score and author total follow from the like row (the like request writes only the row and the counter).
Registered in ``EngagementConfig.ready``."""

from __future__ import annotations

from meadow.engagement.models import Like
from meadow.engagement.services import like_recorded


def likes(like: Like) -> None:
    like_recorded(like)

"""What the notes app tells the apps above it, through the outbox (``meadow.core.outbox``).

The notes app records these facts in the transaction that makes them true; search (indexing), distribution
(pool entry), notifications (@mentions) and moderation (the media scan) register consumers for them in their
``AppConfig.ready``. The notes app imports none of them.
"""

from __future__ import annotations

# A note was saved for the first time. Payload: {"note_id", "published"} (``published``: it went out at once,
# not as a draft).
NOTE_CREATED = "notes.note_created"
# A note was edited. Payload: {"note_id", "went_public" (a draft was published by this edit), "published" (it
# is published now), "text_changed" (title or body changed)}.
NOTE_UPDATED = "notes.note_updated"
# A note was deleted (status removed). Payload: {"note_id"}.
NOTE_DELETED = "notes.note_deleted"
# A video's poster frame became the note's cover image (no cover was uploaded). Payload: {"note_id"}.
NOTE_COVER_REPLACED = "notes.note_cover_replaced"


def note_went_public(event_topic: str, payload: dict) -> bool:
    """Whether the event says the note has just gone out (published at creation, or a draft published)."""
    if event_topic == NOTE_CREATED:
        return bool(payload.get("published"))
    if event_topic == NOTE_UPDATED:
        return bool(payload.get("went_public"))
    return False

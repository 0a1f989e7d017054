from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "meadow.moderation"
    label = "moderation"
    verbose_name = _("Moderation")

    def ready(self) -> None:
        from meadow.core.outbox import register_consumer
        from meadow.notes.events import NOTE_COVER_REPLACED, NOTE_CREATED, NOTE_UPDATED

        register_consumer(
            "moderation.note_media_scan",
            topics=[NOTE_CREATED, NOTE_UPDATED, NOTE_COVER_REPLACED],
            handle=_note_media_scan,
        )


def _note_media_scan(event) -> None:
    """A new note, a draft that goes out and a video whose poster became the cover are scanned (QR codes, text
    in images, explicit images, copying); new copy on a published note re-checks the copy only (搬运)."""
    from meadow.core.tasks import enqueue
    from meadow.moderation.tasks import note_media_scan
    from meadow.notes.events import NOTE_UPDATED

    payload = event.payload
    if event.topic != NOTE_UPDATED or payload["went_public"]:
        enqueue(note_media_scan, note_id=payload["note_id"])
    elif payload["published"] and payload["text_changed"]:
        enqueue(note_media_scan, note_id=payload["note_id"], images=False)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "meadow.search"
    label = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.core.outbox import register_consumer
        from meadow.notes.events import NOTE_CREATED, NOTE_DELETED, NOTE_UPDATED
        from meadow.search import checks  # noqa: F401 - registers the RUM check

        register_consumer(
            "search.notes", topics=[NOTE_CREATED, NOTE_UPDATED, NOTE_DELETED], handle=_note_changed
        )


def _note_changed(event) -> None:
    """A note saved or edited is (re)indexed as it is now; a deleted one leaves the index."""
    from meadow.core.tasks import enqueue
    from meadow.notes.events import NOTE_DELETED
    from meadow.search.tasks import search_index_note, search_remove_note

    if event.topic == NOTE_DELETED:
        enqueue(search_remove_note, note_id=event.payload["note_id"])
    else:
        enqueue(search_index_note, note_id=event.payload["note_id"])

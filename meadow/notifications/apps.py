from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "meadow.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import FOLLOW_ACTIVATED
        from meadow.core.outbox import register_consumer
        from meadow.notes.events import NOTE_CREATED, NOTE_UPDATED

        register_consumer("notifications.follow", topics=[FOLLOW_ACTIVATED], handle=_notify_follow)
        register_consumer(
            "notifications.note_mentions", topics=[NOTE_CREATED, NOTE_UPDATED], handle=_notify_mentions
        )


def _notify_follow(event) -> None:
    """A new follower: the followee gets a notification."""
    from meadow.notifications.tasks import notify_follow

    notify_follow(follower_id=event.payload["follower_id"], followee_id=event.payload["followee_id"])


def _notify_mentions(event) -> None:
    """A note that goes out (published at once, or a draft published) tells the people it @mentions."""
    from meadow.core.tasks import enqueue
    from meadow.notes.events import note_went_public
    from meadow.notifications.tasks import notify_note_mentions

    if note_went_public(event.topic, event.payload):
        enqueue(notify_note_mentions, note_id=event.payload["note_id"])

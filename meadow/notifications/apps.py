from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "meadow.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import FOLLOW_ACTIVATED
        from meadow.core.outbox import register_consumer, register_log_consumer
        from meadow.enforcement.services import NOTICE_TOPICS
        from meadow.engagement.models import CommentLike, EngagementEvent
        from meadow.notes.events import NOTE_CREATED, NOTE_UPDATED
        from meadow.notifications import reactions

        register_consumer("notifications.follow", topics=[FOLLOW_ACTIVATED], handle=reactions.follow_notify)
        register_consumer("notifications.enforcement", topics=NOTICE_TOPICS, handle=reactions.account_notice)
        register_log_consumer(
            "notifications.engagement",
            log=EngagementEvent.objects.all(),
            wants=reactions.engagement_wanted,
            handle=reactions.engagement_notify,
        )
        register_log_consumer(
            "notifications.comment_likes", log=CommentLike.objects.all(), handle=reactions.comment_like_notify
        )
        register_consumer(
            "notifications.note_mentions", topics=[NOTE_CREATED, NOTE_UPDATED], handle=_notify_mentions
        )


def _notify_mentions(event) -> None:
    """A note that goes out (published at once, or a draft published) tells the people it @mentions."""
    from meadow.core.tasks import enqueue
    from meadow.notes.events import note_went_public
    from meadow.notifications.tasks import notify_note_mentions

    if note_went_public(event.topic, event.payload):
        enqueue(notify_note_mentions, note_id=event.payload["note_id"])

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

        register_consumer("notifications.follow", topics=[FOLLOW_ACTIVATED], handle=_notify_follow)


def _notify_follow(event) -> None:
    """A new follower: the followee gets a notification."""
    from meadow.notifications.tasks import notify_follow

    notify_follow(follower_id=event.payload["follower_id"], followee_id=event.payload["followee_id"])

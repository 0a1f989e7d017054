from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "meadow.engagement"
    label = "engagement"
    verbose_name = _("Engagement")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.core.outbox import register_log_consumer
        from meadow.engagement import reactions
        from meadow.engagement.models import Like
        from meadow.engagement.selectors import (
            notes_annotate_viewer,
            notes_exclude_not_interested,
            viewer_state,
        )
        from meadow.engagement.services import LIKES_CONSUMER
        from meadow.notes.selectors import notes_engagement_set

        # Notes sits below engagement: its reads carry the viewer's likes and saves (and leave out what they
        # said "not interested" to) with the functions handed in here, in the same SELECT as before.
        notes_engagement_set(
            annotate_viewer=notes_annotate_viewer,
            exclude_not_interested=notes_exclude_not_interested,
            viewer_state=viewer_state,
        )
        # A like's event, score and author total are recorded after its commit, from the like row itself.
        register_log_consumer(LIKES_CONSUMER, log=Like.objects.all(), handle=reactions.likes)

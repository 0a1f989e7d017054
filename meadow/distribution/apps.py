from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "meadow.distribution"
    label = "distribution"
    verbose_name = _("Distribution")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import FOLLOW_CREATED
        from meadow.core.outbox import register_consumer, register_log_consumer
        from meadow.distribution import reactions
        from meadow.engagement.models import EngagementEvent

        register_consumer(
            "distribution.interests_follow", topics=[FOLLOW_CREATED], handle=reactions.interests_follow
        )
        register_log_consumer(
            "distribution.interests_engagement",
            log=EngagementEvent.objects.all(),
            wants=reactions.engagement_wanted,
            handle=reactions.interests_engagement,
        )

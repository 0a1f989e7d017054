from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "meadow.distribution"
    label = "distribution"
    verbose_name = _("Distribution")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import FOLLOW_CREATED
        from meadow.core.outbox import register_consumer

        register_consumer("distribution.interests_follow", topics=[FOLLOW_CREATED], handle=_interests_follow)


def _interests_follow(event) -> None:
    """A follow teaches the followee's categories to the follower's interest profile."""
    from meadow.distribution.services import interests_learn_follow

    interests_learn_follow(user_id=event.payload["follower_id"], followee_id=event.payload["followee_id"])

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnforcementConfig(AppConfig):
    name = "meadow.enforcement"
    label = "enforcement"
    verbose_name = _("Enforcement")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.core.outbox import register_consumer
        from meadow.enforcement import reactions
        from meadow.moderation.services import FINDING_REPORTED

        register_consumer(
            "enforcement.findings", topics=[FINDING_REPORTED], handle=reactions.finding_reported
        )

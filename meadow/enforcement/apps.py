from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnforcementConfig(AppConfig):
    name = "meadow.enforcement"
    label = "enforcement"
    verbose_name = _("Enforcement")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.accounts.services import account_gates_set
        from meadow.core.outbox import register_consumer
        from meadow.enforcement import reactions
        from meadow.enforcement.selectors import note_is_held, visible_in_distribution
        from meadow.enforcement.services import enforcement_login_gate, enforcement_screen_profile
        from meadow.moderation.services import FINDING_REPORTED
        from meadow.notes.selectors import notes_enforcement_set

        register_consumer(
            "enforcement.findings", topics=[FINDING_REPORTED], handle=reactions.finding_reported
        )

        # Accounts sits below enforcement: it signs in and edits profiles through the gates handed in here.
        account_gates_set(login_gate=enforcement_login_gate, profile_screen=enforcement_screen_profile)
        # Notes sits below too: its reads leave out limited and held notes with the filter handed in here.
        notes_enforcement_set(visible_in_distribution=visible_in_distribution, note_is_held=note_is_held)

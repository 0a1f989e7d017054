from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "meadow.messaging"
    label = "messaging"
    verbose_name = _("Messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.core.privacy import register_erasure_step, register_export_section
        from meadow.enforcement.services import register_content_remover
        from meadow.messaging import checks  # noqa: F401 - registers the settings checks
        from meadow.messaging.privacy import erase_messages, messages_section
        from meadow.messaging.services import reported_messages_withdraw

        register_content_remover("messaging.Conversation", reported_messages_withdraw)
        register_content_remover("messaging.Message", reported_messages_withdraw)
        register_export_section("messages", messages_section)
        register_erasure_step("messages", erase_messages, order=25)

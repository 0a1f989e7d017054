from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "meadow.privacy"
    label = "privacy"
    verbose_name = _("Privacy (data export and account deletion)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The sections and erasure steps of the apps that exist today; a new app registers its own in its
        # AppConfig.ready (meadow/core/privacy.py).
        from meadow.privacy import erasure, sections

        sections.register()
        erasure.register()

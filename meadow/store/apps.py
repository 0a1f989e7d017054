from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoreConfig(AppConfig):
    name = "meadow.store"
    label = "store"
    verbose_name = _("Store")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meadow.store import selectors

        selectors.register_search_provider()

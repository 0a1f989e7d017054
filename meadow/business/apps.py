from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BusinessConfig(AppConfig):
    name = "meadow.business"
    label = "business"
    verbose_name = _("Business accounts")
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "meadow.distribution"
    label = "distribution"
    verbose_name = _("Distribution")
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "meadow.core"
    label = "core"
    verbose_name = "Meadow core"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "meadow.core"
    label = "core"
    verbose_name = "Meadow core"

    def ready(self) -> None:
        from meadow.core import checks  # noqa: F401  (registers the system checks)

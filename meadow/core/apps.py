from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "meadow.core"
    label = "core"
    verbose_name = "Meadow core"

    def ready(self) -> None:
        import logging

        from meadow.core import (
            checks,  # noqa: F401  (registers the system checks)
            jobs,  # noqa: F401  (connects the task signals that record job runs)
        )
        from meadow.core.health import ProbeAccessFilter

        logging.getLogger("uvicorn.access").addFilter(ProbeAccessFilter())

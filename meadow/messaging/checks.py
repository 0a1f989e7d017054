"""Startup checks of the messaging settings (``meadow check`` and every server start run them)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

GROUP_MAX_RANGE = (2, 50)
IMAGES_MAX_RANGE = (1, 9)


def _in_range(name: str, value: object, low: int, high: int, check_id: str) -> list[Error]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return [
            Error(
                f"{name} is {value!r}; it must be a whole number from {low} to {high}.",
                hint=f"Set {name} to a number from {low} to {high} in the environment.",
                id=check_id,
            )
        ]
    return []


@register()
def check_messaging_limits(app_configs=None, **kwargs) -> list[Error]:
    return _in_range(
        "MEADOW_MESSAGE_GROUP_MAX",
        getattr(settings, "MEADOW_MESSAGE_GROUP_MAX", 50),
        *GROUP_MAX_RANGE,
        "meadow.messaging.E001",
    ) + _in_range(
        "MEADOW_MESSAGE_IMAGES_MAX",
        getattr(settings, "MEADOW_MESSAGE_IMAGES_MAX", 4),
        *IMAGES_MAX_RANGE,
        "meadow.messaging.E002",
    )

"""Meadow's own system checks (``meadow check``; ``--deploy`` adds the deployment ones)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

SANDBOX_GATEWAY = "meadow.orders.gateway.SandboxGateway"


@register(Tags.security, deploy=True)
def check_payment_gateway(app_configs=None, **kwargs) -> list[Warning]:
    """A deployment that still takes "payments" through the sandbox moves no real money and signs its own
    webhooks: warn (``meadow.W001``)."""
    if getattr(settings, "MEADOW_PAYMENT_GATEWAY", SANDBOX_GATEWAY) != SANDBOX_GATEWAY:
        return []
    return [
        Warning(
            "MEADOW_PAYMENT_GATEWAY is the sandbox payment gateway: no real money moves and anyone can "
            "complete a payment on its test page.",
            hint="Set MEADOW_PAYMENT_GATEWAY to a real provider's adapter before opening shops "
            "(docs/operations.md).",
            id="meadow.W001",
        )
    ]


@register(Tags.security)
def check_private_storage(app_configs=None, **kwargs) -> list[Error]:
    """Private files (licences, models) must not be under the public media root (``meadow.E001``)."""
    private = Path(settings.MEADOW_PRIVATE_MEDIA_ROOT).resolve()
    public = Path(settings.MEDIA_ROOT).resolve()
    if private == public or private.is_relative_to(public):
        return [
            Error(
                "MEADOW_PRIVATE_MEDIA_ROOT is inside MEDIA_ROOT, which is served to anyone.",
                hint="Point MEADOW_PRIVATE_MEDIA_ROOT at a folder outside MEADOW_MEDIA_ROOT.",
                id="meadow.E001",
            )
        ]
    return []

"""Pluggable SMS backends for one-time codes (settings.MEADOW_SMS_BACKEND, a dotted path).

* ``ConsoleBackend`` (development): writes the message to the log, like Django's console e-mail backend.
* ``LocmemBackend`` (tests): keeps messages in ``LocmemBackend.outbox``.
* ``MissingBackend`` (production default): refuses, so an operator notices they must configure a real provider
  (subclass ``BaseBackend`` and implement ``send``).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

log = logging.getLogger("meadow.sms")


class BaseBackend:
    def send(self, *, phone: str, message: str) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send(self, *, phone: str, message: str) -> None:
        log.warning("SMS to %s: %s", phone, message)
        print(f"[sms] to {phone}: {message}", flush=True)


class LocmemBackend(BaseBackend):
    outbox: ClassVar[list[dict[str, str]]] = []

    def send(self, *, phone: str, message: str) -> None:
        self.outbox.append({"phone": phone, "message": message})


class MissingBackend(BaseBackend):
    def send(self, *, phone: str, message: str) -> None:
        raise ImproperlyConfigured(
            "No SMS provider is configured: set MEADOW_SMS_BACKEND (docs/operations.md)."
        )


def get_backend() -> BaseBackend:
    return import_string(settings.MEADOW_SMS_BACKEND)()

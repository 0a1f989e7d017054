"""``meadow integrity_scan``: run the fake-engagement detectors now (the beat task does it periodically)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from meadow.integrity.services import integrity_enabled, scan


class Command(BaseCommand):
    help = "Detect fake engagement, open review cases and hold the suspected accounts' signals."

    def handle(self, *args, **options) -> None:
        if not integrity_enabled():
            self.stdout.write("integrity checks are off (MEADOW_INTEGRITY_ENABLED=false)")
            return
        result = scan()
        self.stdout.write(
            f"flagged {result['flagged']} account(s), opened {result['opened']} case(s), held {result['held']} signal(s)"
        )

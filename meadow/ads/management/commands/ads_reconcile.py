"""Check every ad balance against its ledger: balance = top-ups − charges + refunds. Exits 1 on any difference."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Check that every ad balance equals top-ups − charges + refunds of its ledger (exit 1 if not)."

    def handle(self, *args, **options) -> None:
        from meadow.ads.models import AdAccount
        from meadow.ads.services import reconcile

        differences = reconcile()
        for d in differences:
            self.stderr.write(
                f"account {d.account} (user {d.user}): balance {d.balance}, ledger says {d.expected} "
                f"(difference {d.balance - d.expected})"
            )
        if differences:
            raise CommandError(f"{len(differences)} ad account(s) do not reconcile")
        self.stdout.write(f"{AdAccount.objects.count()} ad account(s) reconcile: difference 0.00")

"""``meadow search_rum``: create the RUM extension and search index on PostgreSQL (after installing the
extension on a server that did not offer it when ``meadow migrate`` ran)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError


class Command(BaseCommand):
    help = "Create the RUM extension and the ranked search index on PostgreSQL (docs/operations.md)."

    def handle(self, *args, **options):
        from meadow.search.rum import rum_create, rum_state

        state = rum_state()
        if state == "":
            raise CommandError("RUM is for PostgreSQL; the embedded default (SQLite) searches with FTS5.")
        if state == "index":
            self.stdout.write("The RUM search index exists already; search uses it.")
            return
        if state == "missing":
            raise CommandError(
                "This PostgreSQL server does not offer the rum extension: install it (Debian: "
                "apt-get install postgresql-15-rum) or ask your provider, then run this again."
            )
        try:
            rum_create()
        except DatabaseError as exc:
            raise CommandError(f"PostgreSQL refused to create RUM: {exc}") from exc
        self.stdout.write("Created the RUM search index; search now ranks through it.")

"""``meadow moderate --json`` (one text on stdin) or ``--jsonl`` (``{"text", "field", "account"}`` per line),
with the lexicon the site uses: the shipped data files plus the moderators' entries."""

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from meadow.moderation.engine import cli
from meadow.moderation.services import moderation_engine


class Command(BaseCommand):
    help = (
        "Check texts with the moderation engine: --json (one text on stdin) or --jsonl (one object per line)."
    )

    def run_from_argv(self, argv):
        # the engine's own CLI parses the arguments; Django's option parser would reject them
        self._called_from_command_line = True
        try:
            engine = moderation_engine()
        except DatabaseError as exc:  # no database yet, or not migrated: the moderators' entries live there
            sys.stderr.write(
                "meadow moderate: cannot read the moderators' lexicon entries from the database "
                f"({str(exc).strip()}). Run `meadow migrate` first (`make run` does it).\n"
            )
            sys.exit(2)
        sys.exit(cli.main(argv[2:], sys.stdin, sys.stdout, engine=engine))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv is the entry point
        return None

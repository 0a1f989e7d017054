"""``meadow moderate --json`` (one text on stdin) or ``--jsonl`` (``{"text", "field", "account"}`` per line),
with the lexicon the site uses: the shipped data files plus the moderators' entries."""

import sys

from django.core.management.base import BaseCommand

from meadow.moderation.engine import cli
from meadow.moderation.services import moderation_engine


class Command(BaseCommand):
    help = (
        "Check texts with the moderation engine: --json (one text on stdin) or --jsonl (one object per line)."
    )

    def run_from_argv(self, argv):
        # the engine's own CLI parses the arguments; Django's option parser would reject them
        self._called_from_command_line = True
        sys.exit(cli.main(argv[2:], sys.stdin, sys.stdout, engine=moderation_engine()))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv is the entry point
        return None

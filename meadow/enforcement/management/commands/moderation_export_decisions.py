"""``meadow moderation_export_decisions --out rows.jsonl``: the moderators' decisions (held texts approved or
taken down, appeals upheld or rejected) as training rows in the moderation corpus's format, for
``meadow moderation_train --extra rows.jsonl``. See ``enforcement.selectors.moderator_decision_rows``."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from meadow.enforcement.selectors import moderator_decision_rows


class Command(BaseCommand):
    help = "Export the moderators' decisions on screened texts as training rows (JSON lines)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="-", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        rows = moderator_decision_rows()
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        if options["out"] == "-":
            sys.stdout.write(lines)
        else:
            with open(options["out"], "w", encoding="utf-8") as fh:
                fh.write(lines)
            self.stderr.write(f"{len(rows)} rows written to {options['out']}")

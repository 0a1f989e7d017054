"""``meadow openapi``: print, write or check the committed OpenAPI snapshot (docs/api/openapi.json).

The snapshot is the API contract mobile and third-party clients rely on; ``--check`` (run by the test suite and
CI) fails when the live schema drifts from it, so a contract change is always a deliberate, reviewed diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

SNAPSHOT_PATH = Path(__file__).resolve().parents[4] / "docs" / "api" / "openapi.json"


def render_schema() -> str:
    """The live schema as the snapshot stores it: pretty-printed JSON with sorted keys and a final newline."""
    from django.utils import translation

    from meadow.api import api

    with translation.override("en"):  # descriptions are gettext-ready; the snapshot is the English contract
        schema = api.get_openapi_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def schema_diff(*, live: str, committed: str, context: int = 3, max_lines: int = 200) -> str:
    """A unified diff from the committed snapshot to the live schema ('' when they are equal)."""
    lines = list(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            live.splitlines(keepends=True),
            fromfile="docs/api/openapi.json (committed)",
            tofile="live schema (meadow.api)",
            n=context,
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... {len(lines) - max_lines} more diff lines\n"]
    return "".join(lines)


class Command(BaseCommand):
    help = "Print the OpenAPI schema, write it to docs/api/openapi.json (--write) or check it has not drifted (--check)."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--write", action="store_true", help="Write the snapshot to docs/api/openapi.json."
        )
        group.add_argument(
            "--check", action="store_true", help="Exit 1 if the live schema differs from the snapshot."
        )
        parser.add_argument(
            "--path", default=str(SNAPSHOT_PATH), help="The snapshot file (default: %(default)s)."
        )

    def handle(self, *args, write: bool = False, check: bool = False, path: str = "", **options) -> None:
        target = Path(path or SNAPSHOT_PATH)
        live = render_schema()
        if write:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(live, encoding="utf-8")
            self.stdout.write(f"Wrote {target}")
            return
        if check:
            if not target.exists():
                raise CommandError(f"{target} does not exist; run `meadow openapi --write`.", returncode=1)
            diff = schema_diff(live=live, committed=target.read_text(encoding="utf-8"))
            if diff:
                self.stderr.write(diff)
                raise CommandError(
                    "The OpenAPI schema drifted from the snapshot. If the change is intended, run "
                    "`meadow openapi --write` and commit docs/api/openapi.json.",
                    returncode=1,
                )
            self.stdout.write(f"{target} is up to date.")
            return
        self.stdout.write(live, ending="")

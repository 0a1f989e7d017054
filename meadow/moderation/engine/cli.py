"""Command line: ``python -m meadow.moderation.engine.cli --json`` or ``--jsonl``.

* ``--json``: the whole of stdin is one text; prints one result ``{"verdict", "hits"}``.
* ``--jsonl``: each input line is ``{"text", "field", "account"}`` (field/account optional); prints one result
  per line, in order. A bad line prints ``{"error": {"code": "bad_input", "message": ...}}`` and the run goes on.

``--field`` and ``--account`` set the defaults. Exit status: 0, or 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .engine import ACCOUNTS, FIELDS, Engine, default_engine


def _error(message: str) -> str:
    return json.dumps({"error": {"code": "bad_input", "message": message}}, ensure_ascii=False)


def _one_line(engine: Engine, line: str, field: str, account: str) -> str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(f"invalid JSON: {exc.msg}")
    if not isinstance(obj, dict):
        return _error("each line must be a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        return _error('"text" must be a string')
    f = obj.get("field", field)
    a = obj.get("account", account)
    if f not in FIELDS:
        return _error(f'"field" must be one of {", ".join(FIELDS)}')
    if a not in ACCOUNTS:
        return _error(f'"account" must be one of {", ".join(ACCOUNTS)}')
    try:
        result = engine.check(text, field=f, account=a)
    except (TypeError, ValueError) as exc:
        return _error(str(exc))
    return json.dumps(result.to_dict(), ensure_ascii=False)


def main(
    argv: list[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    engine: Engine | None = None,
) -> int:
    """Run the CLI; ``engine`` defaults to the shipped lexicon (the Django command passes the site's)."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    parser = argparse.ArgumentParser(
        prog="meadow-moderate", description="Check texts against the moderation lexicon."
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--json", action="store_true", help="one text on stdin → one JSON result")
    mode.add_argument("--jsonl", action="store_true", help='JSON lines {"text","field","account"} → results')
    parser.add_argument("--field", default="note", choices=FIELDS)
    parser.add_argument("--account", default="personal", choices=ACCOUNTS)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    engine = engine if engine is not None else default_engine()
    if args.json:
        text = stdin.read()
        try:
            result = engine.check(text, field=args.field, account=args.account)
        except (TypeError, ValueError) as exc:
            stdout.write(_error(str(exc)) + "\n")
            return 0
        stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        return 0
    for raw in stdin:
        line = raw.rstrip("\r\n")
        if not line.strip():
            stdout.write(_error("empty line") + "\n")
            continue
        stdout.write(_one_line(engine, line, args.field, args.account) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))

"""The committed OpenAPI snapshot (docs/api/openapi.json) is the API contract: the live schema must match it."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from meadow.web.management.commands.openapi import SNAPSHOT_PATH, render_schema, schema_diff


def test_live_schema_matches_the_committed_snapshot():
    assert SNAPSHOT_PATH.exists(), "docs/api/openapi.json is missing: run `meadow openapi --write`"
    live = render_schema()
    diff = schema_diff(live=live, committed=SNAPSHOT_PATH.read_text(encoding="utf-8"))
    assert not diff, (
        "The API contract changed. If this is intended, run `meadow openapi --write` and commit "
        "docs/api/openapi.json; otherwise restore the API.\n\n" + diff
    )


def test_snapshot_is_pretty_printed_with_sorted_keys():
    text = SNAPSHOT_PATH.read_text(encoding="utf-8")
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in schema["paths"]


def test_check_command_fails_with_a_diff_on_drift(tmp_path, capsys):
    drifted = json.loads(render_schema())
    drifted["info"]["title"] = "Not the Meadow API"
    target = tmp_path / "openapi.json"
    target.write_text(json.dumps(drifted, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as excinfo:
        call_command("openapi", "--check", "--path", str(target))
    assert excinfo.value.returncode == 1
    err = capsys.readouterr().err
    assert '-    "title": "Not the Meadow API"' in err
    assert '+    "title": "Meadow API"' in err


def test_write_then_check_round_trips(tmp_path):
    target = tmp_path / "api" / "openapi.json"
    call_command("openapi", "--write", "--path", str(target))
    assert target.read_text(encoding="utf-8") == render_schema()
    call_command("openapi", "--check", "--path", str(target))  # no drift: does not raise


def test_check_command_fails_when_the_snapshot_is_missing(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        call_command("openapi", "--check", "--path", str(tmp_path / "missing.json"))
    assert excinfo.value.returncode == 1


def test_no_two_api_schemas_share_a_name():
    """Django Ninja names an OpenAPI component after its class: two `Schema` classes of one name (in two apps)
    overwrite each other in the document, and one endpoint's answers are then checked against the other's schema
    (a messaging `PersonOut` once replaced engagement's)."""
    import ast
    from collections import defaultdict
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "meadow"
    where: dict[str, list[str]] = defaultdict(list)
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            # a Schema, or a class built on another schema (``DayOut(NumbersOut)``: an ads ``DayOut`` once
            # replaced the creator centre's, and its stats answers failed their own schema)
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")) == "Schema"
                or getattr(b, "id", "").endswith(("Out", "In"))
                for b in node.bases
            ):
                where[node.name].append(str(path.relative_to(root)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}

from __future__ import annotations

import io
import json

from meadow.moderation.engine.cli import main


def run(argv: list[str], data: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(argv, io.StringIO(data), out)
    return code, out.getvalue().splitlines()


def test_json_mode() -> None:
    code, lines = run(["--json"], "加我vx: abc123")
    assert code == 0
    assert json.loads(lines[0])["verdict"] == "block"


def test_jsonl_mode_keeps_order_and_survives_bad_lines() -> None:
    data = "\n".join(
        [
            json.dumps({"text": "最近好忙"}),
            "not json",
            json.dumps({"text": 5}),
            json.dumps({"text": "x", "field": "title"}),
            json.dumps({"text": "WhatsApp me 0123456789", "field": "comment", "account": "enterprise"}),
            json.dumps(["a"]),
        ]
    )
    code, lines = run(["--jsonl"], data + "\n")
    assert code == 0 and len(lines) == 6
    out = [json.loads(x) for x in lines]
    assert out[0] == {"verdict": "pass", "hits": []}
    for i in (1, 2, 3, 5):
        assert out[i]["error"]["code"] == "bad_input"
    assert out[4]["verdict"] == "block"


def test_bad_arguments() -> None:
    code, _ = run(["--nope"], "")
    assert code == 2

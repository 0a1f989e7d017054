"""The fake-engagement harness (bench/integrity.py) at its tiny size, so it does not rot: the plan is seeded and
deterministic, organic behaviour does not depend on the attacks, and a whole attack run goes through the real
HTTP API without a server error — every account signs up, the rings' engagement reaches the traffic-pool score,
and (when the integrity app is installed) the scans run and its answer is read."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "bench" / "integrity.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("bench_integrity", PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_integrity"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _organic(plan):
    return [(e.at, e.actor, e.action, repr(e.args)) for e in plan.events if plan.accounts.get(e.actor) is None
            or plan.accounts[e.actor].kind != "ring"]  # fmt: skip


def test_plan_is_seeded_and_organic_behaviour_does_not_depend_on_the_attacks(harness):
    one, two = harness.make_plan(7, "smoke"), harness.make_plan(7, "smoke")
    assert [(e.at, e.actor, e.action) for e in one.events] == [(e.at, e.actor, e.action) for e in two.events]
    other = harness.make_plan(8, "smoke")
    assert _organic(other) != _organic(one)
    groups = {a.group for a in one.accounts.values() if a.kind == "ring"}
    assert groups == set(harness.SHAPES)
    assert {a.group for a in one.accounts.values() if a.kind == "organic"} >= {
        "regular",
        "campus",
        "office",
        "new_fan",
    }
    # every like of an organic user comes after a read of that note by that user (impressions before reads too)
    seen: dict[tuple[str, int], str] = {}
    for e in one.events:
        if e.actor and one.accounts[e.actor].kind == "organic":
            if e.action == "impressions":
                for n in e.args["notes"]:
                    seen.setdefault((e.actor, n), "shown")
            elif e.action == "read":
                seen[(e.actor, e.args["note"])] = "read"
            elif e.action == "like":
                assert seen.get((e.actor, e.args["note"])) == "read"


@pytest.mark.django_db(transaction=True)
def test_a_tiny_attack_run_goes_through_the_api(harness, settings):
    plan = harness.make_plan(7, "smoke")
    result = harness.run_plan(plan, attack=True, defence=True)
    assert result["failures"] == []
    assert not any(s.startswith("signup 4") or s.startswith("token 4") for s in result["status"]), result[
        "status"
    ]
    assert all(result["accounts"].values()), "every planned account exists"
    assert result["status"].get("like 200", 0) >= 10
    like_target = [str(i) for i, (ck, *_r) in enumerate(plan.notes) if ck == plan.targets["like_ring"]]
    assert sum(result["scores"][i] for i in like_target) > 0
    if result["integrity"] == "present":
        assert result["scans"] >= 1
        assert result["scan_errors"] == [] and result["flag_error"] == ""
    else:
        assert result["integrity"].startswith("integrity app missing")

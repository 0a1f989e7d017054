"""Moderation quality on the independent corpus (issue #18): recall, false positives and cost, per category.

    .venv/bin/python bench/moderation_quality.py                 # the frozen test split
    .venv/bin/python bench/moderation_quality.py --split dev     # tune on dev (or train); never on test
    .venv/bin/python bench/moderation_quality.py --by family     # also per family / lang / field
    .venv/bin/python bench/moderation_quality.py --misses 30     # print some misses and false positives

The corpus (tests/moderation/eval/, README there) was written by writers who never read the engine or its
lexicon; the split is by a hash of the text, so it cannot move when rows are added elsewhere, and the test
split's SHA-256 is pinned in tests/moderation/eval/README.md.

Definitions (the same for every run):
- a row's *labels* are the violation categories a human moderator tagged, judged as in a public note;
- the *expected action* of a label is the policy's action for that category in the row's field and account
  type at medium severity (so an absolute claim in a DM, which the policy lets pass, expects nothing);
- a labelled category is *found* when the engine reports a hit of that category, and *held* when it is found
  and the verdict is not "pass" — recall counts held;
- a *false positive* is a clean row (no labels) whose verdict is not "pass".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meadow.moderation.engine import REPORTED_CATEGORIES, Engine  # noqa: E402
from meadow.moderation.engine.engine import default_engine, learned_engine  # noqa: E402
from meadow.moderation.engine.policy import DEFAULT_POLICY  # noqa: E402

EVAL = ROOT / "tests" / "moderation" / "eval"

# What a wrong verdict costs, in words (shown beside the figures).
MISS_COST = {
    "redirect": "a user is taken off the platform (scams, lost buyer protection)",
    "adult": "sexual solicitation reaches users, minors included",
    "absolute": "a misleading ad claim is published (the advertiser's legal risk)",
    "inducement": "engagement bought with prizes distorts distribution",
    "disparage": "a competitor is defamed",
    "sensitive": "a regulated claim (health, money, education…) misleads readers",
}
FP_COST = "an honest note is held for review; its author waits and may give up"


def load(split: str) -> list[dict]:
    path = EVAL / f"{split}.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def expected(row: dict) -> set[str]:
    table = DEFAULT_POLICY.table(row["field"], row["account"])
    return {c for c in row["labels"] if DEFAULT_POLICY.action(table, c, "medium") != "pass"}


def evaluate(engine: Engine, rows: list[dict], by: str | None) -> dict:
    held: Counter = Counter()
    found: Counter = Counter()
    total: Counter = Counter()
    clean = flagged = 0
    fp_by_cat: Counter = Counter()
    groups: dict[str, Counter] = defaultdict(Counter)
    misses: list[tuple[dict, object]] = []
    fps: list[tuple[dict, object]] = []
    for row in rows:
        res = engine.check(row["text"], field=row["field"], account=row["account"])
        cats = res.categories
        exp = expected(row)
        g = groups[row.get(by, "?")] if by else None
        if not row["labels"]:
            clean += 1
            if g is not None:
                g["clean"] += 1
            if res.verdict != "pass":
                flagged += 1
                fps.append((row, res))
                for c in cats:
                    fp_by_cat[c] += 1
                if g is not None:
                    g["fp"] += 1
            continue
        for c in exp:
            total[c] += 1
            ok_found = c in cats
            ok_held = ok_found and res.verdict != "pass"
            found[c] += ok_found
            held[c] += ok_held
            if g is not None:
                g["pos"] += 1
                g["held"] += ok_held
            if not ok_held:
                misses.append((row, res))
    return {
        "held": held,
        "found": found,
        "total": total,
        "clean": clean,
        "flagged": flagged,
        "fp_by_cat": fp_by_cat,
        "groups": groups,
        "misses": misses,
        "fps": fps,
    }


def report(r: dict, split: str, n_rows: int, by: str | None) -> str:
    out = [f"split={split} rows={n_rows} clean={r['clean']}"]
    out.append(f"{'category':26} {'n':>4} {'found':>6} {'held':>6} {'fp-hits':>7}  a miss costs")
    for c in (*REPORTED_CATEGORIES,):
        n = r["total"][c]
        if not n and not r["fp_by_cat"][c]:
            continue
        f = r["found"][c] / n if n else float("nan")
        h = r["held"][c] / n if n else float("nan")
        cost = MISS_COST.get(c.split(".")[0], "")
        out.append(f"{c:26} {n:4d} {f:6.3f} {h:6.3f} {r['fp_by_cat'][c]:7d}  {cost}")
    n = sum(r["total"].values())
    out.append(
        f"{'ALL (recall)':26} {n:4d} {sum(r['found'].values()) / max(n, 1):6.3f} "
        f"{sum(r['held'].values()) / max(n, 1):6.3f}"
    )
    fpr = r["flagged"] / max(r["clean"], 1)
    out.append(f"false-positive rate: {fpr:.3f} ({r['flagged']}/{r['clean']} clean rows held) — {FP_COST}")
    if by:
        out.append(f"\nby {by}: {'pos':>5} {'recall':>7} {'clean':>6} {'fpr':>6}")
        for key, g in sorted(r["groups"].items()):
            rec = g["held"] / g["pos"] if g["pos"] else float("nan")
            fr = g["fp"] / g["clean"] if g["clean"] else float("nan")
            out.append(f"  {key:28} {g['pos']:5d} {rec:7.3f} {g['clean']:6d} {fr:6.3f}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test", choices=("train", "dev", "test"))
    ap.add_argument("--by", choices=("family", "lang", "field", "account"))
    ap.add_argument("--misses", type=int, default=0, help="print this many misses and false positives")
    ap.add_argument(
        "--learned",
        action="store_true",
        help="with the learned layer (engine/learned.py), as the site runs it",
    )
    args = ap.parse_args()
    rows = load(args.split)
    if args.split == "test":
        digest = hashlib.sha256((EVAL / "test.jsonl").read_bytes()).hexdigest()
        print(f"test split sha256 {digest}")
    engine = learned_engine() if args.learned else default_engine()
    print(
        f"engine: lexicon {engine.version}" + (f" + learned {engine.learned.version}" if args.learned else "")
    )
    r = evaluate(engine, rows, args.by)
    print(report(r, args.split, len(rows), args.by))
    for title, items in (("misses", r["misses"]), ("false positives", r["fps"])):
        if args.misses:
            print(f"\n-- {title} --")
            for row, res in items[: args.misses]:
                print(
                    f"[{row['field']}/{row['account']}/{row['lang']}] {row['labels']} got {res.to_dict()['verdict']} "
                    f"{sorted(res.categories)}: {row['text'][:140]}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

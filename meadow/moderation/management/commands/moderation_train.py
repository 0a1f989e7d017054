"""``meadow moderation_train [--extra rows.jsonl ...]``: train the moderation engine's learned layer.

Fits on the independent corpus's train split (tests/moderation/eval/train.jsonl) plus the extra rows (e.g. the
moderators' decisions from ``meadow moderation_export_decisions``), chooses the per-category thresholds on the
dev split, and writes meadow/moderation/engine/data/learned.npz + learned.json (commit both: the engine loads
them at build time). The test split is never read. See meadow/moderation/training.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from meadow.moderation.engine.engine import Engine
from meadow.moderation.engine.learned import ARTEFACT, METADATA
from meadow.moderation.training import EVAL, load_rows, train


class Command(BaseCommand):
    help = (
        "Train the moderation engine's learned layer on the train split (+ --extra rows); thresholds on dev."
    )

    def add_arguments(self, parser):
        parser.add_argument("--extra", action="append", default=[], help="more training rows (JSON lines)")
        parser.add_argument("--train", default=str(EVAL / "train.jsonl"))
        parser.add_argument("--dev", default=str(EVAL / "dev.jsonl"))
        parser.add_argument("--out", default=str(ARTEFACT.parent), help="directory for learned.npz/.json")
        parser.add_argument("--c", type=float, default=8.0, help="inverse L2 regularisation strength")
        parser.add_argument("--fp-budget", type=float, default=0.03, help="false-positive rate on dev")

    def handle(self, *args, **options):
        if Path(options["train"]).name == "test.jsonl" or Path(options["dev"]).name == "test.jsonl":
            raise CommandError("the test split is never used for training or tuning")
        rows = load_rows(Path(options["train"]))
        for extra in options["extra"]:
            more = load_rows(Path(extra))
            for r in more:  # the engine's own regression corpus (tests/moderation/corpus.jsonl) says "expect"
                if "labels" not in r and isinstance(r.get("expect"), list):
                    r["labels"] = r["expect"]
            bad = [
                r for r in more if not isinstance(r.get("text"), str) or not isinstance(r.get("labels"), list)
            ]
            if bad:
                raise CommandError(f"{extra}: rows need a text and a list of labels")
            rows += more
        dev = load_rows(Path(options["dev"]))
        base = Engine(learned=None)
        model, meta = train(
            train_rows=rows, dev_rows=dev, base=base, c=options["c"], fp_budget=options["fp_budget"]
        )
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        meta["extra"] = [Path(e).name for e in options["extra"]]
        model.save(out / ARTEFACT.name, out / METADATA.name, **meta)
        dev_fig = meta["dev"]
        self.stdout.write(
            f"model {model.version}: {len(rows)} training rows, {meta['features']} feature rows; dev held "
            f"{dev_fig['before']['held']} -> {dev_fig['after']['held']} of {dev_fig['positives']}, "
            f"false positives {dev_fig['before']['fp']} -> {dev_fig['after']['fp']} of {dev_fig['clean']}"
        )
        self.stdout.write(
            json.dumps(
                {c: round(float(t), 2) for c, t in zip(model.categories, model.thresholds, strict=True)}
            )
        )

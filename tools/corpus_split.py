"""Split the independent moderation corpus into train / dev / test by a hash of each text (issue #18).

    .venv/bin/python tools/corpus_split.py /work/corpus/w1.jsonl /work/corpus/w2.jsonl ...

A row's split depends only on its normalised text (SHA-256, 60/20/20), so the test split never moves when rows
are added, and a near-duplicate (same text after case and whitespace folding) cannot sit in two splits. Rows
are validated (fields, languages, categories) and exact duplicates dropped. Writes tests/moderation/eval/.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meadow.moderation.engine import REPORTED_CATEGORIES  # noqa: E402

OUT = ROOT / "tests" / "moderation" / "eval"
FIELDS = {"note", "comment", "bio", "username", "dm"}
LANGS = {"zh-Hans", "zh-Hant", "en", "ms", "mixed"}
ACCOUNTS = {"personal", "enterprise"}


def key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def split_of(text: str) -> str:
    b = int(hashlib.sha256(key(text).encode()).hexdigest()[:8], 16) % 10
    return "test" if b < 2 else "dev" if b < 4 else "train"


def main(paths: list[str]) -> int:
    seen: set[str] = set()
    out: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    bad = Counter()
    for p in paths:
        writer = Path(p).stem
        for n, line in enumerate(Path(p).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad["json"] += 1
                continue
            labels = row.get("labels")
            if (
                not isinstance(row.get("text"), str)
                or not row["text"].strip()
                or row.get("field") not in FIELDS
                or row.get("lang") not in LANGS
                or row.get("account") not in ACCOUNTS
                or not isinstance(labels, list)
                or any(c not in REPORTED_CATEGORIES for c in labels)
            ):
                bad[f"invalid ({writer}:{n})"] += 1
                continue
            k = key(row["text"])
            if k in seen:
                bad["duplicate"] += 1
                continue
            seen.add(k)
            rec = {
                "text": row["text"],
                "field": row["field"],
                "lang": row["lang"],
                "account": row["account"],
                "labels": sorted(set(labels)),
                "family": str(row.get("family", "")),
                "writer": writer,
            }
            out[split_of(row["text"])].append(json.dumps(rec, ensure_ascii=False))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in out.items():
        (OUT / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(name, len(rows))
    for reason, count in bad.items():
        print("dropped", reason, count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Search relevance on a judged query set: NDCG@10 per query language of Meadow's ranker against plain BM25 on the
same notes, on the dev and the test split.

    .venv/bin/python bench/search_quality.py [--db sqlite|postgres] [--data bench/search_eval]

The judged set (``bench/search_eval/``: corpus, queries, graded qrels, dev/test split; written by another helper
without reading the search code — see its README) is checked against its ``SHA256SUMS`` first (the test split must
be the pinned one). The corpus is loaded into a scratch database (SQLite in a temporary folder, or PostgreSQL
``meadow_search_quality`` on ``MEADOW_BENCH_POSTGRES``, with the RUM path where the server offers it): one
account per author, each note published and public (no engagement, one publication time, so the ranking is the
text's), its tags as hashtags, indexed by the search service. Every query goes through ``search_run`` (the notes
tab, relevance, 10 results, signed out).

*BM25* is Okapi BM25 (k1 = 1.2, b = 0.75, the ``rank_bm25`` package's formula) over the very tokens the index holds
(title, tags and body as segmented by ``meadow.search.analysis.index_text``, one bag of words, no field weights),
the query segmented the same way, any word matching (OR). NDCG@10 uses gains 2^grade − 1 and the ideal ordering of
every judged note of the query. Tune on dev; test is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_DB = os.environ.get("MEADOW_BENCH_QUALITY_DB", "meadow_search_quality")
TEST_SPLIT_SHA256 = "faf31fe8b83dacb441900e9f3dd7b9d6b4c16615c944934c88740e3791f34b10"  # split.json as pinned


def verify(data: Path) -> None:
    sums = {}
    for line in (data / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.strip()] = digest
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv", "split.json"):
        got = hashlib.sha256((data / name).read_bytes()).hexdigest()
        if got != sums.get(name):
            raise SystemExit(f"{name}: sha256 {got} does not match SHA256SUMS")
    if sums["split.json"] != TEST_SPLIT_SHA256:
        raise SystemExit("split.json is not the pinned split")


def load(data: Path):
    corpus = [
        json.loads(line) for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    queries = [
        json.loads(line) for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (data / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, doc, grade = line.split("\t")
            qrels[qid][doc] = int(grade)
    split = json.loads((data / "split.json").read_text(encoding="utf-8"))
    return corpus, queries, qrels, split


def ndcg_at_10(ranked: list[str], grades: dict[str, int]) -> float:
    def dcg(gs):
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gs[:10]))

    ideal = dcg(sorted((g for g in grades.values() if g > 0), reverse=True))
    return dcg([grades.get(d, 0) for d in ranked]) / ideal if ideal > 0 else 0.0


class Bm25:
    """Okapi BM25 as ``rank_bm25.BM25Okapi`` computes it (idf floored at ε·mean idf)."""

    def __init__(self, docs: dict[str, list[str]], k1: float = 1.2, b: float = 0.75, epsilon: float = 0.25):
        self.docs, self.k1, self.b = docs, k1, b
        self.tf = {d: Counter(tokens) for d, tokens in docs.items()}
        self.len = {d: len(tokens) for d, tokens in docs.items()}
        self.avg = sum(self.len.values()) / max(1, len(docs))
        df = Counter(t for tokens in docs.values() for t in set(tokens))
        n = len(docs)
        idf = {t: math.log(n - f + 0.5) - math.log(f + 0.5) for t, f in df.items()}
        floor = epsilon * (sum(idf.values()) / max(1, len(idf)))
        self.idf = {t: (v if v > 0 else floor) for t, v in idf.items()}

    def top(self, tokens: list[str], k: int = 10) -> list[str]:
        scores: dict[str, float] = {}
        for d, tf in self.tf.items():
            s = 0.0
            for t in tokens:
                f = tf.get(t, 0)
                if f:
                    s += (
                        self.idf[t]
                        * f
                        * (self.k1 + 1)
                        / (f + self.k1 * (1 - self.b + self.b * self.len[d] / self.avg))
                    )
            if s > 0:
                scores[d] = s
        return [d for d, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def populate(corpus: list[dict]) -> dict[int, str]:
    """Load the corpus through the models and the search service; returns note id → corpus id."""
    from django.utils import timezone

    from meadow.accounts.models import User
    from meadow.notes.models import Hashtag, Note, NoteHashtag, NoteImage
    from meadow.search.services import search_index_note

    published = timezone.now() - timedelta(days=1)
    authors: dict[str, User] = {}
    by_note: dict[int, str] = {}
    for i, doc in enumerate(corpus):
        author = authors.get(doc["author"])
        if author is None:
            author = User.objects.create(handle=f"judge{len(authors):04d}", display_name=doc["author"][:50])
            authors[doc["author"]] = author
        note = Note.objects.create(
            author=author,
            title=doc["title"],
            body=doc["body"],
            status=Note.Status.PUBLISHED,
            visibility=Note.Visibility.PUBLIC,
            media_state=Note.MediaState.READY,
            published_at=published,
            created_at=published,
        )
        NoteImage.objects.create(
            note=note,
            position=0,
            thumb=f"notes/eval/{i}_t.webp",
            detail=f"notes/eval/{i}_d.webp",
            width=1080,
            height=1440,
            thumb_width=540,
            thumb_height=720,
        )
        for position, tag in enumerate(dict.fromkeys(doc.get("tags") or [])):
            hashtag, _ = Hashtag.objects.get_or_create(name=tag.lower(), defaults={"display_name": tag})
            if NoteHashtag.objects.filter(note=note, hashtag=hashtag).exists():
                continue
            NoteHashtag.objects.create(note=note, hashtag=hashtag, position=position)
        search_index_note(note_id=note.pk)
        by_note[note.pk] = doc["id"]
    return by_note


def run(db: str, data: Path, *, show_dev: bool = False) -> dict:
    corpus, queries, qrels, split = load(data)
    workdir = tempfile.mkdtemp(prefix="meadow-search-quality-")
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/quality.sqlite3"
    os.environ["MEADOW_DATA_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    try:
        by_note = populate(corpus)
        from meadow.search.analysis import index_text
        from meadow.search.backends import search_backend
        from meadow.search.models import NoteSearchDoc
        from meadow.search.selectors import search_filters, search_run

        engine = search_backend().engine
        docs = {
            by_note[d.note_id]: f"{d.title} {d.tags} {d.body}".split() for d in NoteSearchDoc.objects.all()
        }
        bm25 = Bm25(docs)
        dev, test = set(split["dev"]), set(split["test"])
        scores: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (split, lang, system) -> ndcg
        for query in queries:
            part = "dev" if query["qid"] in dev else "test" if query["qid"] in test else None
            if part is None:
                continue
            result = search_run(q=query["query"], filters=search_filters(), viewer=None, limit=10)
            ours = [by_note[n.pk] for n in result.items]
            plain = bm25.top(index_text(query["query"]).split())
            values = {}
            for system, ranked in (("meadow", ours), ("bm25", plain)):
                value = values[system] = ndcg_at_10(ranked, qrels.get(query["qid"], {}))
                scores[(part, query["lang"], system)].append(value)
                scores[(part, "all", system)].append(value)
            if show_dev and part == "dev" and values["meadow"] < values["bm25"]:  # never the test split
                print(
                    f"  dev {query['qid']} {query['type']:<11} {query['query']!r}: Meadow {values['meadow']:.2f} "
                    f"({len(ours)} found) < BM25 {values['bm25']:.2f}"
                )
        return {"engine": engine, "vendor": connection.vendor, "scores": scores}
    finally:
        connections.close_all()
        if db == "postgres":
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--data", default=str(ROOT / "bench" / "search_eval"))
    parser.add_argument("--show-dev", action="store_true", help="list the dev queries where BM25 does better")
    args = parser.parse_args()
    data = Path(args.data)
    verify(data)
    out = run(args.db, data, show_dev=args.show_dev)
    scores = out["scores"]
    print(
        f"{datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC, {out['vendor']} ({out['engine']}), NDCG@10 (mean over "
        "queries; n = queries)"
    )
    print("| split | language | n | Meadow | BM25 | Meadow − BM25 |")
    print("|---|---|---|---|---|---|")
    for part in ("dev", "test"):
        langs = [*sorted({lang for (p, lang, _s) in scores if p == part and lang != "all"}), "all"]
        for lang in langs:
            ours, plain = scores[(part, lang, "meadow")], scores[(part, lang, "bm25")]
            if not ours:
                continue
            m, b = sum(ours) / len(ours), sum(plain) / len(plain)
            print(f"| {part} | {lang} | {len(ours)} | {m:.3f} | {b:.3f} | {m - b:+.3f} |")


if __name__ == "__main__":
    main()

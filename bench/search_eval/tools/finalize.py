#!/usr/bin/env python3
"""Validate corpus/queries/qrels, write split.json (sha1(qid) last hex digit < 9 -> dev, i.e. digits 0-8 of 16 ~ 56%),
print counts, and write SHA256SUMS."""
import json, hashlib, os, re, sys, collections
R = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
err = []
corpus = [json.loads(l) for l in open(f"{R}/corpus.jsonl", encoding="utf-8")]
ids = [d["id"] for d in corpus]
if len(set(ids)) != len(ids): err.append("duplicate note ids")
LANGS = {"zh-Hans", "zh-Hant", "en", "ms", "mixed"}
for d in corpus:
    if set(d) != {"id", "lang", "title", "body", "tags", "author"}: err.append(f"{d['id']} keys")
    if d["lang"] not in LANGS: err.append(f"{d['id']} lang")
    lim = 20 if d["lang"] in ("zh-Hans", "zh-Hant") else 60
    if len(d["title"]) > lim: err.append(f"{d['id']} title too long ({len(d['title'])}>{lim}): {d['title']}")
    if not (0 <= len(d["tags"]) <= 6): err.append(f"{d['id']} tags")
    if any(t.startswith("#") for t in d["tags"]): err.append(f"{d['id']} tag with #")
    if not d["body"].strip() or not d["author"].strip(): err.append(f"{d['id']} empty")
    if not re.fullmatch(r"n\d{4}", d["id"]): err.append(f"{d['id']} id format")
queries = [json.loads(l) for l in open(f"{R}/queries.jsonl", encoding="utf-8")]
TYPES = {"single", "compound", "multiword", "place", "name", "traditional", "inflection", "mixed", "tag"}
qids = [q["qid"] for q in queries]
if len(set(qids)) != len(qids): err.append("duplicate qids")
for q in queries:
    if q["type"] not in TYPES: err.append(f"{q['qid']} type")
    if q["lang"] not in LANGS: err.append(f"{q['qid']} lang")
    if not q["intent"].strip(): err.append(f"{q['qid']} intent")
qrels = collections.defaultdict(dict)
idset = set(ids)
for ln, l in enumerate(open(f"{R}/qrels.tsv", encoding="utf-8"), 1):
    q, d, g = l.rstrip("\n").split("\t")
    if q not in qids or d not in idset or g not in "0123": err.append(f"qrels line {ln} bad: {l!r}")
    if d in qrels[q]: err.append(f"qrels dup {q} {d}")
    qrels[q][d] = int(g)
for q in qids:
    if not any(g >= 2 for g in qrels[q].values()): err.append(f"{q} has no grade>=2")
split = {"dev": [], "test": []}
for q in qids:
    (split["dev"] if int(hashlib.sha1(q.encode()).hexdigest()[-1], 16) < 9 else split["test"]).append(q)
json.dump(split, open(f"{R}/split.json", "w"), indent=1)
print("notes", len(corpus), dict(collections.Counter(d["lang"] for d in corpus)))
print("queries", len(queries), "dev", len(split["dev"]), "test", len(split["test"]))
ql = collections.Counter(q["lang"] for q in queries); qt = collections.Counter(q["type"] for q in queries)
print("query langs", dict(ql)); print("query types", dict(qt))
tab = collections.defaultdict(collections.Counter)
for q in queries: tab[q["lang"]][q["type"]] += 1
print("lang x type:")
for L in sorted(tab): print(" ", L, dict(sorted(tab[L].items())))
gc = collections.Counter(g for q in qrels for g in qrels[q].values())
print("qrels", sum(gc.values()), dict(sorted(gc.items())))
if err:
    print("ERRORS:", len(err)); [print(" ", e) for e in err[:50]]; sys.exit(1)
files = ["corpus.jsonl", "queries.jsonl", "qrels.tsv", "split.json", "README.md"] + sorted(
    os.path.relpath(os.path.join(dp, f), R) for sub in ("tools", "src", "qsrc") for dp, _, fs in os.walk(f"{R}/{sub}") for f in fs if not f.endswith(".pyc"))
with open(f"{R}/SHA256SUMS", "w") as out:
    for f in files:
        if os.path.exists(f"{R}/{f}"):
            out.write(f"{hashlib.sha256(open(f'{R}/{f}', 'rb').read()).hexdigest()}  {f}\n")
print("OK")

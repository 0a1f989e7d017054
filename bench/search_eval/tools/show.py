#!/usr/bin/env python3
"""Print the judged notes for the given query strings (for the judge's manual review)."""
import json, sys, os
R = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C = {json.loads(l)["id"]: json.loads(l) for l in open(f"{R}/corpus.jsonl", encoding="utf-8")}
Q = [json.loads(l) for l in open(f"{R}/queries.jsonl", encoding="utf-8")]
rel = {}
for l in open(f"{R}/qrels.tsv"):
    q, d, g = l.split(); rel.setdefault(q, []).append((int(g), d))
minG = int(os.environ.get("MING", "0"))
for q in Q:
    if q["query"] in sys.argv[1:] or q["qid"] in sys.argv[1:]:
        print(f"== {q['qid']} [{q['lang']}] {q['query']} :: {q['intent']}")
        for g, d in sorted(rel.get(q["qid"], []), reverse=True):
            if g >= minG:
                n = C[d]; print(f"  {g} {d} {n['lang']:7} {n['title']} | {n['body'][:50]} | {','.join(n['tags'])}")

#!/usr/bin/env python3
"""Rewrite the counts block of README.md (between the stats markers) from the current files."""
import json, collections, os, re
R = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Q = [json.loads(l) for l in open(f"{R}/queries.jsonl", encoding="utf-8")]
types = ["single", "compound", "multiword", "place", "name", "traditional", "inflection", "mixed", "tag"]
langs = ["zh-Hans", "zh-Hant", "en", "ms", "mixed"]
tab = collections.Counter((q["lang"], q["type"]) for q in Q)
L = ["| lang \\ type | " + " | ".join(types) + " | total |", "|---|" + "---|" * (len(types) + 1)]
for la in langs:
    L.append(f"| {la} | " + " | ".join(str(tab[(la, t)]) for t in types) + f" | {sum(tab[(la, t)] for t in types)} |")
L.append("| total | " + " | ".join(str(sum(tab[(la, t)] for la in langs)) for t in types) + f" | {len(Q)} |")
g = collections.Counter(l.split()[2] for l in open(f"{R}/qrels.tsv"))
sp = json.load(open(f"{R}/split.json"))
block = "\n".join(L) + (f"\n\nJudgments: {sum(g.values())} rows in qrels.tsv — grade 3: {g['3']}, grade 2: {g['2']}, "
                         f"grade 1: {g['1']}, grade 0: {g['0']}.\nSplit: {len(sp['dev'])} dev / {len(sp['test'])} test.\n")
s = open(f"{R}/README.md", encoding="utf-8").read()
s = re.sub(r"<!-- stats:begin -->\n.*?<!-- stats:end -->\n", lambda m: "<!-- stats:begin -->\n" + block + "<!-- stats:end -->\n", s, flags=re.S)
n_ov = sum(1 for l in open(f"{R}/qsrc/overrides.tsv", encoding="utf-8") if l.strip() and not l.startswith("#"))
s = re.sub(r"\(\d+ corrections,", f"({n_ov} corrections,", s)
open(f"{R}/README.md", "w", encoding="utf-8").write(s)
print(block)

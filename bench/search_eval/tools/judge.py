#!/usr/bin/env python3
"""Grade notes for each query from the judge's own annotations.
Inputs: corpus.jsonl, tools/note_topics.json (topic keys the author assigned to each note while writing it),
qsrc/*.txt (query specs, ' ;; '-separated: lang, type, query, intent, rel, marg, title_re, mention_re, cand_re),
qsrc/overrides.tsv (query<TAB>doc_id<TAB>grade: manual corrections after reading candidates).
Rules (see README): rel topics -> 3 if a query-term variant is in the title, 2 if the note uses a query-term variant or
is in the searcher's language/script, else 1 (relevant topic, other language); marg topics -> 1; passing mention in
title/body -> 1; other candidates found by grep (incl. tag-only hits and decoys) -> 0."""
import json, re, glob, os, sys
HERE = os.path.dirname(os.path.abspath(__file__)); ROOT = os.path.dirname(HERE)
PLACES = {
 "penang": r"penang|pulau pinang|george ?town|槟城|檳城|乔治市|喬治市|gurney|batu ferringhi|升旗山|armenian|lorong selamat|air itam|新关仔角|新關仔角|汕头街|汕頭街",
 "kl": r"(?<![a-z])kl(?![a-z])|kuala lumpur|吉隆坡|bangsar|klcc|bukit bintang|cheras|chow kit|kampung baru|brickfields|mont kiara|ttdi|petaling street|茨厂街|茨廠街|jalan alor|bukit jalil|pavilion|mid valley|蕉赖|甘榜巴魯|taman connaught|kelana jaya|班底谷|武吉",
 "ipoh": r"ipoh|怡保",
 "melaka": r"melaka|malacca|马六甲|馬六甲|jonker|鸡场街|雞場街",
}
PTOPIC = {"penang": {"penang", "penang_food", "penang_travel"}, "kl": {"kl"}, "ipoh": {"ipoh", "ipoh_travel"}, "melaka": {"melaka", "melaka_food"}}
SAME = {"zh-Hans": {"zh-Hans", "zh-Hant", "mixed"}, "zh-Hant": {"zh-Hans", "zh-Hant", "mixed"},
        "en": {"en", "mixed"}, "ms": {"ms", "mixed"}, "mixed": {"zh-Hans", "zh-Hant", "en", "mixed"}}
def rx(s):
    return None if s.strip() in ("-", "") else re.compile(s.strip(), re.I)
def load_queries():
    qs = []
    for fn in sorted(glob.glob(os.path.join(ROOT, "qsrc", "q_*.txt"))):
        for ln, line in enumerate(open(fn, encoding="utf-8"), 1):
            if not line.strip():
                continue
            p = [x.strip() for x in line.rstrip("\n").split(" ;; ")]
            if len(p) != 9:
                sys.exit(f"{fn}:{ln}: {len(p)} fields")
            qs.append(dict(lang=p[0], type=p[1], query=p[2], intent=p[3], rel=p[4].split() if p[4] != "-" else [],
                           marg=p[5].split() if p[5] != "-" else [], title_re=rx(p[6]), mention_re=rx(p[7]), cand_re=rx(p[8])))
    return qs
def conj_ok(conj, tops, note, alltext, mr=None):
    for el in conj.split("+"):
        if el == "%":
            if not (mr and mr.search(note["title"] + " " + note["body"])):
                return False
        elif el.startswith("@"):
            pl = el[1:]
            if not (tops & PTOPIC[pl]) and not re.search(PLACES[pl], alltext, re.I):
                return False
        elif el not in tops:
            return False
    return True
def grade(q, note, tops):
    text = note["title"] + " " + note["body"]
    alltext = text + " " + " ".join(note["tags"])
    mainkeys = {el for c in q["rel"] for el in c.split("+") if not el.startswith("@") and el != "%"}
    decoy = any(("!" + k) in tops for k in mainkeys)
    tr, mr, cr = q["title_re"], q["mention_re"], q["cand_re"]
    if any(conj_ok(c, tops, note, alltext, mr) for c in q["rel"]):
        if tr and tr.search(note["title"]):
            return 3
        lex = (tr and tr.search(alltext)) or (mr and mr.search(alltext)) or (cr and cr.search(alltext))
        return 2 if (lex or note["lang"] in SAME[q["lang"]]) else 1
    if any(conj_ok(c, tops, note, alltext, mr) for c in q["marg"]):
        return 1
    if not decoy and mr and mr.search(text):
        return 1
    for r in (tr, mr, cr):
        if r and r.search(alltext):
            return 0
    return None
def main():
    corpus = [json.loads(l) for l in open(os.path.join(ROOT, "corpus.jsonl"), encoding="utf-8")]
    topics = json.load(open(os.path.join(HERE, "note_topics.json"), encoding="utf-8"))
    qs = load_queries()
    ov = {}
    op = os.path.join(ROOT, "qsrc", "overrides.tsv")
    if os.path.exists(op):
        for line in open(op, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                qq, d, g = line.rstrip("\n").split("\t")[:3]
                ov[(qq, d)] = int(g)
    known = {q["query"] for q in qs}
    bad = sorted({k[0] for k in ov if k[0] not in known} | {k[1] for k in ov if k[1] not in topics})
    if bad:
        sys.exit(f"overrides refer to unknown queries/notes: {bad}")
    qrels, qout = [], []
    for i, q in enumerate(qs, 1):
        qid = f"q{i:03d}"
        qout.append({"qid": qid, "lang": q["lang"], "query": q["query"], "intent": q["intent"], "type": q["type"]})
        for n in corpus:
            g = grade(q, n, set(topics[n["id"]]))
            if (q["query"], n["id"]) in ov:
                g = ov[(q["query"], n["id"])]
                g = None if g < 0 else g
            if g is not None:
                qrels.append((qid, n["id"], g))
    with open(os.path.join(ROOT, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in qout:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(os.path.join(ROOT, "qrels.tsv"), "w", encoding="utf-8") as f:
        for r in qrels:
            f.write(f"{r[0]}\t{r[1]}\t{r[2]}\n")
    print(len(qout), "queries", len(qrels), "qrels")
main()

#!/usr/bin/env python3
"""Assemble corpus.jsonl from the hand-written note files in src/*.txt.
Source line format: lang|title|body|tags(comma-separated)|topic keys (judge-only, not exported).
Ids are assigned in file order. Authors come from a hand-written pool, picked by a stable hash of the title."""
import json, glob, hashlib, os, sys
HERE = os.path.dirname(os.path.abspath(__file__)); ROOT = os.path.dirname(HERE)
AUTHORS = ["小橘妈妈", "阿Ken吃遍大马", "Mei Ling 美玲", "kopi_addict", "Nurul Aisyah", "Farah.eats", "吃货小胖",
  "檳城阿嬤的孫女", "Jason Tan", "Hafiz Travels", "sunscreen_queen", "Priya K.", "咖啡与猫", "麦芽糖",
  "Aiman Runs", "littlebunmum", "Siew Yee", "Wei Jie 伟杰", "Kak Long Bakes", "台北小日子", "Izzat",
  "mama_hanis", "Chloe Lim", "z.h.r", "晴天小雨", "Uncle Boon", "plant_parent_kl", "Syafiqah", "Alvin 阿文",
  "Devi Ramesh", "粉紅泡泡", "TechBro MY", "花花的小窝", "Lina 丽娜", "Amirul Haikal", "budget.babe",
  "一颗榴莲", "Yuki 由纪", "Rachel Wong", "Cikgu Zana"]
def main():
    notes, topics = [], {}
    n = 0
    for fn in sorted(glob.glob(os.path.join(ROOT, "src", "*.txt"))):
        for ln, line in enumerate(open(fn, encoding="utf-8"), 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("|")
            if len(parts) != 5:
                sys.exit(f"{fn}:{ln}: expected 5 fields, got {len(parts)}: {line}")
            lang, title, body, tags, tks = parts
            n += 1
            nid = f"n{n:04d}"
            h = int(hashlib.sha1(title.encode()).hexdigest(), 16)
            notes.append({"id": nid, "lang": lang, "title": title, "body": body,
                          "tags": [t.strip() for t in tags.split(",") if t.strip()],
                          "author": AUTHORS[h % len(AUTHORS)]})
            topics[nid] = tks.split()
    with open(os.path.join(ROOT, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for d in notes:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "note_topics.json"), "w", encoding="utf-8") as f:
        json.dump(topics, f, ensure_ascii=False, indent=0)
    print(len(notes), "notes")
main()

"""Search benchmark on PostgreSQL: p50/p99 latency and throughput of note search through the search service
(``meadow.search``: parse and segment the query, safety filters, exact top-k by relevance × engagement ×
freshness over static-rank slices, one page of 20) against the same queries as raw SQL on the same indexes, side
by side in one run, at growing index sizes. Two raw comparators: *raw* is the plain GIN query ranked by text
(``tsv @@ q ORDER BY ts_rank_cd LIMIT 20``, every match ranked); *raw top-k* is the service's own ranking as raw
SQL the same way (the same slices through GIN ∧ the ``static_rank`` btree, the same score and stopping rule)
without the safety filters and the ORM.

    .venv/bin/python bench/search.py [--notes 100000] [--steps 10000,100000] [--rounds 3] [--write] [--engines]

``--engines`` measures instead the GIN path against the RUM path (``RumBackend``; the script builds the RUM
index as ``meadow search_rum`` does if it is missing), top 10 through the service, interleaved, and checks that
both answer the same ids.

A scratch database ``meadow_bench_search`` (``MEADOW_BENCH_SEARCH_DB``) is created on ``MEADOW_BENCH_POSTGRES``
(default postgresql://postgres@127.0.0.1:5432) and dropped afterwards (``--keep`` keeps it; ``--seed-only --keep``
seeds a large one once, ``--reuse`` measures it later — migrating it first). Notes are seeded directly
with bulk inserts — note rows plus their pre-segmented search documents (and static ranks) drawn from a
Zipf-distributed Chinese/English/Malay vocabulary — not through the media pipeline. ``--notes 1000000`` works
(3–20 minutes of seeding on a 2-CPU machine, depending on its load). ``--write`` appends the numbers to
bench/RESULTS.md under "## Search".
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_DB = os.environ.get("MEADOW_BENCH_SEARCH_DB", "meadow_bench_search")

ZH = (
    "美食 吉隆坡 推荐 探店 咖啡 咖啡厅 早餐 火锅 奶茶 甜品 蛋糕 面包 肉骨茶 椰浆饭 榴莲 海南鸡饭 叻沙 炒粿条 云吞面 "
    "口红 护肤 面膜 防晒 粉底 眼影 香水 穿搭 裙子 外套 鞋子 包包 旅行 海边 酒店 民宿 攻略 机票 槟城 马六甲 兰卡威 怡保 "
    "新山 沙巴 云顶 健身 瑜伽 跑步 减脂 增肌 食谱 家常菜 烘焙 宝宝 育儿 学习 考试 英语 读书 电影 音乐 摄影 手机 电脑 "
    "耳机 相机 装修 家居 收纳 植物 猫咪 狗狗 宠物 周末 日常 生活 分享 好物 平价 学生党 秋冬 春夏 夜市 街头 老字号 排队 "
    "好吃 便宜 安静 打卡 拍照 风景 日落 露营 徒步 骑行 游泳 滑板 咖啡豆 手冲 拿铁 抹茶 芒果 椰子 辣椒 酱料 米饭 面条"
).split()
EN = (
    "food coffee cafe brunch breakfast dessert cake bread noodle rice chicken spicy sweet review recipe cooking "
    "baking travel beach hotel trip guide tips budget skincare makeup lipstick sunscreen serum outfit dress "
    "fashion shoes bag fitness workout running yoga gym diet healthy home decor plants cat dog pet weekend daily "
    "life haul cheap student autumn summer night market street photo sunset camping hiking cycling swimming "
    "latte matcha mango coconut sambal durian laksa satay penang malacca langkawi ipoh sabah genting kl bangsar"
).split()
MS = (
    "makan sedap kedai kopi sarapan nasi lemak mee goreng roti canai teh tarik ayam ikan pedas manis murah "
    "resipi masak percutian pantai hotel cuti panduan kecantikan solekan baju kasut beg senaman larian sihat "
    "rumah hiasan kucing anjing hujung minggu harian hidup pasar malam jalan gambar matahari terbenam "
    "berkhemah mendaki berbasikal berenang durian rendang cendol laksa satay kuih"
).split()


def zipf_sampler(words: list[str], rng: random.Random, s: float = 1.05):
    weights = [1 / (i + 1) ** s for i in range(len(words))]
    cum = list(_accumulate(weights))
    total = cum[-1]

    def draw(k: int) -> list[str]:
        import bisect

        return [words[bisect.bisect_left(cum, rng.random() * total)] for _ in range(k)]

    return draw


def _accumulate(values):
    running = 0.0
    for v in values:
        running += v
        yield running


def query_set(rng: random.Random, n: int = 90) -> list[str]:
    """A mixed set: a third each Chinese, English, Malay; 1–3 terms drawn from the popular half of the
    vocabulary (what people type), Chinese terms written together (jieba splits them again)."""
    out = []
    for i in range(n):
        lang = i % 3
        k = 1 + (i // 3) % 3
        words = (ZH, EN, MS)[lang]
        picked = rng.sample(words[: len(words) // 2], k)
        out.append("".join(picked) if lang == 0 else " ".join(picked))
    return out


# --- worker (inside Django, on the scratch database) ----------------------------------------------------------------
def seed(upto: int, *, batch: int = 5000, seed_value: int = 20240512) -> float:
    """Add notes until there are ``upto`` of them. Returns the seconds it took."""
    from django.db import connection, transaction

    from meadow.accounts.models import User
    from meadow.notes.models import Note
    from meadow.search.backends import static_rank
    from meadow.search.models import NoteSearchDoc

    start = time.perf_counter()
    have = Note.objects.count()
    if not User.objects.exists():
        User.objects.bulk_create(
            [User(handle=f"bench{i:04d}", display_name=f"Bench {i}") for i in range(1000)]
        )
    authors = list(User.objects.values_list("id", flat=True))
    rng = random.Random(seed_value + have)
    draws = [zipf_sampler(words, rng) for words in (ZH, EN, MS)]
    now = datetime.now(tz=UTC)
    while have < upto:
        size = min(batch, upto - have)
        notes, docs = [], []
        for i in range(size):
            lang = rng.randrange(3)
            draw = draws[lang]
            sep = "" if lang == 0 else " "
            title_words, body_words, tag_words = draw(rng.randint(2, 4)), draw(rng.randint(12, 40)), draw(3)
            published = now - timedelta(seconds=rng.randint(0, 365 * 86400))
            notes.append(
                Note(
                    author_id=authors[(have + i) % len(authors)],
                    title=sep.join(title_words)[:20],
                    body=sep.join(body_words),
                    status=Note.Status.PUBLISHED,
                    visibility=Note.Visibility.PUBLIC if rng.random() > 0.05 else Note.Visibility.PRIVATE,
                    kind=Note.Kind.VIDEO if rng.random() < 0.2 else Note.Kind.IMAGE,
                    like_count=int(rng.paretovariate(1.2)) - 1,
                    save_count=int(rng.paretovariate(1.5)) - 1,
                    comment_count=int(rng.paretovariate(1.6)) - 1,
                    created_at=published,
                    updated_at=published,
                    published_at=published,
                )
            )
            docs.append(
                (" ".join(title_words), " ".join(tag_words), " ".join(body_words), published.timestamp())
            )
        with transaction.atomic():
            made = Note.objects.bulk_create(notes, batch_size=batch)
            NoteSearchDoc.objects.bulk_create(
                [
                    NoteSearchDoc(
                        note_id=n.pk,
                        title=t,
                        tags=g,
                        body=b,
                        published_ts=ts,
                        static_rank=static_rank(
                            likes=n.like_count, saves=n.save_count, comments=n.comment_count, published_ts=ts
                        ),
                    )
                    for n, (t, g, b, ts) in zip(made, docs, strict=True)
                ],
                batch_size=batch,
            )
        have += size
        print(f"  seeded {have:,} notes", file=sys.stderr, end="\r")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(file=sys.stderr)
    return time.perf_counter() - start


def measure(queries: list[str], rounds: int) -> dict:
    from django.db import connection

    from meadow.search import backends
    from meadow.search.analysis import parse_query
    from meadow.search.backends import SearchFilters, search_backend
    from meadow.search.selectors import search_notes, searchable_notes

    backend = search_backend()
    backends._histograms.clear()  # the index statistics just changed (seeding, ANALYZE): not the cached ones
    parsed = {q: parse_query(q) for q in queries}
    raw_sql = (
        "SELECT note_id FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s) "
        "ORDER BY ts_rank_cd(tsv, to_tsquery('simple', %s)) DESC LIMIT 20"
    )
    # The service's ranking as raw SQL on the same indexes, the same way: the same static-rank bands (the
    # planner's estimate, then GIN ∧ btree), the full score, the same stopping rule — without the safety filters
    # and the ORM.
    topk_sql = (
        "SELECT d.note_id, 2.0 * LN(GREATEST(LEAST(CAST(ts_rank_cd(d.tsv, q) AS DOUBLE PRECISION), 1.0) "
        "/ (0.5 + LEAST(CAST(ts_rank_cd(d.tsv, q) AS DOUBLE PRECISION), 1.0)), 1e-300)) + d.static_rank AS score "
        "FROM search_notedoc d, to_tsquery('simple', %s) q WHERE d.tsv @@ q {band}"
        "ORDER BY score DESC, d.note_id DESC LIMIT 21"
    )
    bands_used: dict[str, list[int]] = {"raw_topk": []}

    def service(q: str) -> int:
        page = backend.search(
            parse_query(q), SearchFilters(), None, notes=searchable_notes(viewer=None), limit=20
        )
        return len(page.ids)

    def full(q: str) -> int:
        notes, _cursor = search_notes(query=parse_query(q), viewer=None, filters=SearchFilters(), limit=20)
        return len(notes)

    def raw(q: str) -> int:
        tsq = parsed[q].to_tsquery()
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, [tsq, tsq])
            return len(cursor.fetchall())

    def raw_topk(q: str) -> int:
        tsq = parsed[q].to_tsquery()
        tried = 0

        def rank(floor, ceiling, pool):  # no safety filters: every match counts, the pool is never cut
            nonlocal tried
            tried += 1
            band, params = "", [tsq]
            if floor is not None:
                band, params = band + "AND d.static_rank >= %s ", [*params, floor]
            if ceiling is not None:
                band, params = band + "AND d.static_rank < %s ", [*params, ceiling]
            with connection.cursor() as cursor:
                cursor.execute(topk_sql.format(band=band), params)
                return cursor.fetchall(), False

        rows = backend.top_k(parsed[q], 21, rank)
        bands_used["raw_topk"].append(tried)
        return min(len(rows), 20)

    cls = type(backend)
    original_bands, original_ranked = cls._bands, cls.ranked
    floors_used: list[list] = []  # per service search: the floor of each ranking statement

    def counting_bands(self, query, k):
        floors_used.append([])
        yield from original_bands(self, query, k)

    def counting_ranked(self, *args, floor, **kw):
        floors_used[-1].append(floor)
        return original_ranked(self, *args, floor=floor, **kw)

    cls._bands, cls.ranked = counting_bands, counting_ranked

    timings: dict[str, list[float]] = {"raw": [], "raw_topk": [], "service": [], "full": []}
    hits = {q: raw(q) for q in queries}  # warm caches once
    for q in queries:
        raw_topk(q), service(q), full(q)
    for values in bands_used.values():
        values.clear()
    floors_used.clear()
    for _ in range(rounds):
        for q in queries:
            for name, fn in (("raw", raw), ("raw_topk", raw_topk), ("service", service), ("full", full)):
                t0 = time.perf_counter()
                fn(q)
                timings[name].append(time.perf_counter() - t0)

    def stats(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            "qps": len(ordered) / sum(ordered),
        }

    matches = {}
    with connection.cursor() as cursor:
        for q in queries[:30]:
            cursor.execute(
                "SELECT count(*) FROM search_notedoc WHERE tsv @@ to_tsquery('simple', %s)",
                [parsed[q].to_tsquery()],
            )
            matches[q] = cursor.fetchone()[0]
    cls._bands, cls.ranked = original_bands, original_ranked
    searches = [f for f in floors_used if f]
    return {
        **{name: stats(values) for name, values in timings.items()},
        "everything": sum(1 for f in searches if f[-1] is None) / max(1, len(searches)),
        "early": sum(1 for f in searches if f[-1] is not None) / max(1, len(searches)),
        "statements": statistics.mean(len(f) for f in searches) if searches else 0,
        "max_statements": max((len(f) for f in searches), default=0),
        "empty": sum(1 for n in hits.values() if n == 0),
        "median_matches": statistics.median(matches.values()),
        "max_matches": max(matches.values()),
    }


def measure_engines(queries: list[str], rounds: int, limit: int = 10) -> dict:
    """GIN against RUM on the same database, interleaved query by query: ``SearchBackend.search`` (parse, safety
    filters, exact top-k, one page of ``limit`` ids) through ``PostgresBackend`` with the RUM index (created here
    if missing) dropped inside
    a transaction that is rolled back (so the planner cannot use it: the GIN path as a server without RUM runs
    it) and through ``RumBackend``. Also checks that both answer the same ids."""
    from django.db import connection, transaction

    from meadow.search import backends
    from meadow.search.analysis import parse_query
    from meadow.search.backends import RUM_INDEX, PostgresBackend, RumBackend, SearchFilters
    from meadow.search.rum import rum_create
    from meadow.search.selectors import searchable_notes

    rum_create()  # the RUM index, if this database has none yet (IF NOT EXISTS)
    backends._histograms.clear()
    parsed = {q: parse_query(q) for q in queries}
    chunks: list[int] = []
    original_chunk = RumBackend.ranked_chunk

    def counting_chunk(self, *args, **kw):
        chunks[-1] += 1
        return original_chunk(self, *args, **kw)

    RumBackend.ranked_chunk = counting_chunk  # type: ignore[method-assign]

    def gin(q: str) -> tuple[float, list[int]]:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX {RUM_INDEX}")
            t0 = time.perf_counter()
            page = PostgresBackend().search(
                parsed[q], SearchFilters(), None, notes=searchable_notes(viewer=None), limit=limit
            )
            elapsed = time.perf_counter() - t0
            transaction.set_rollback(True)
        return elapsed, page.ids

    def rum(q: str) -> tuple[float, list[int]]:
        chunks.append(0)
        t0 = time.perf_counter()
        page = RumBackend().search(
            parsed[q], SearchFilters(), None, notes=searchable_notes(viewer=None), limit=limit
        )
        return time.perf_counter() - t0, page.ids

    for q in queries:  # warm caches once
        gin(q), rum(q)
    chunks.clear()
    timings: dict[str, list[float]] = {"gin": [], "rum": []}
    by_words: dict[int, dict[str, list[float]]] = {}
    differ = set()
    for _ in range(rounds):
        for q in queries:
            (g, gin_ids), (r, rum_ids) = gin(q), rum(q)
            timings["gin"].append(g)
            timings["rum"].append(r)
            words = by_words.setdefault(len(parsed[q].terms), {"gin": [], "rum": []})
            words["gin"].append(g)
            words["rum"].append(r)
            if gin_ids != rum_ids:
                differ.add(q)
    RumBackend.ranked_chunk = original_chunk  # type: ignore[method-assign]

    def stats(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            "max_ms": ordered[-1] * 1000,
            "qps": len(ordered) / sum(ordered),
        }

    return {
        **{name: stats(values) for name, values in timings.items()},
        "by_words": {n: {e: stats(v) for e, v in d.items()} for n, d in sorted(by_words.items())},
        "differ": sorted(differ),
        "chunks_mean": statistics.mean(chunks) if chunks else 0,
        "chunks_max": max(chunks, default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument(
        "--steps", default="", help="comma-separated sizes to measure on the way (default 10000)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing scratch database")
    parser.add_argument("--write", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed (with --keep: for a later --reuse), no runs"
    )
    parser.add_argument(
        "--engines",
        action="store_true",
        help="GIN against RUM (top 10 through the service, interleaved) instead of the raw/service columns",
    )
    args = parser.parse_args()
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip()} | {args.notes})
    if not args.steps and args.notes > 10_000:
        steps = [10_000, args.notes]

    import psycopg

    if not args.reuse:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    os.environ.setdefault("MEADOW_DATA_DIR", str(ROOT / "var" / "bench-search"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    queries = query_set(random.Random(7))
    rows = []
    try:
        for size in steps:
            seconds = seed(size)
            if args.seed_only:
                print(f"{size:>9,} notes seeded in {seconds:.0f}s")
                continue
            if args.engines:
                e = measure_engines(queries, args.rounds)
                print(
                    f"{size:>9,} notes, top 10 through the service, {len(queries)} queries x {args.rounds} rounds: "
                    f"GIN p50 {e['gin']['p50_ms']:.1f} ms p99 {e['gin']['p99_ms']:.1f} ms max "
                    f"{e['gin']['max_ms']:.1f} ms {e['gin']['qps']:.3g} q/s | RUM p50 {e['rum']['p50_ms']:.1f} ms "
                    f"p99 {e['rum']['p99_ms']:.1f} ms max {e['rum']['max_ms']:.1f} ms {e['rum']['qps']:.3g} q/s "
                    f"({e['rum']['qps'] / e['gin']['qps']:.2f}x GIN's throughput) | RUM statements per search mean "
                    f"{e['chunks_mean']:.2f} max {e['chunks_max']} | answers differ for {len(e['differ'])} "
                    f"queries {e['differ'][:5]}"
                )
                for words, d in e["by_words"].items():
                    print(
                        f"    {words} word(s): GIN p50 {d['gin']['p50_ms']:.1f} / p99 {d['gin']['p99_ms']:.1f} ms, "
                        f"RUM p50 {d['rum']['p50_ms']:.1f} / p99 {d['rum']['p99_ms']:.1f} ms"
                    )
                continue
            result = measure(queries, args.rounds)
            rows.append((size, seconds, result))
            r = result
            print(
                f"{size:>9,} notes (seeded in {seconds:.0f}s): raw p50 {r['raw']['p50_ms']:.1f} ms "
                f"p99 {r['raw']['p99_ms']:.1f} ms {r['raw']['qps']:.3g} q/s | raw top-k p50 "
                f"{r['raw_topk']['p50_ms']:.1f} ms p99 {r['raw_topk']['p99_ms']:.1f} ms {r['raw_topk']['qps']:.3g} q/s "
                f"| service p50 {r['service']['p50_ms']:.1f} ms p99 {r['service']['p99_ms']:.1f} ms "
                f"{r['service']['qps']:.3g} q/s ({r['service']['qps'] / r['raw']['qps']:.0%} of raw, "
                f"{r['service']['qps'] / r['raw_topk']['qps']:.0%} of raw top-k) "
                f"| with notes loaded p50 {r['full']['p50_ms']:.1f} ms p99 {r['full']['p99_ms']:.1f} ms "
                f"| matches/query median {r['median_matches']:,} max {r['max_matches']:,} "
                f"| stopped early {r['early']:.0%}, ranked every match {r['everything']:.0%}, ranking statements "
                f"mean {r['statements']:.2f} max {r['max_statements']}"
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    if args.write:
        _write(rows, args, len(queries))


def _write(rows, args, n_queries: int) -> None:
    lines = [
        "",
        "## Search",
        "",
        f"`.venv/bin/python bench/search.py --notes {args.notes} --rounds {args.rounds} --write` — "
        f"{datetime.now(tz=UTC):%Y-%m-%d}, PostgreSQL, one process, {n_queries} mixed queries (zh/en/ms, 1–3 "
        f"terms, drawn from the popular half of a Zipf vocabulary) × {args.rounds} rounds, page of 20. *Raw* is "
        "`SELECT note_id … WHERE tsv @@ q ORDER BY ts_rank_cd(tsv, q) LIMIT 20` on the GIN index; *raw top-k* the "
        "service's ranking as raw SQL (the same static-rank slices, score and stopping rule, no safety filters); "
        "*service* is `SearchBackend.search`; *+ notes* adds loading the notes with their relations.",
        "",
        "| notes | raw p50 / p99 | raw top-k p50 / p99 | service p50 / p99 | service q/s vs raw, vs raw top-k "
        "| + notes p50 / p99 | stopped early | matches/query (median, max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, _seconds, r in rows:
        lines.append(
            f"| {size:,} | {r['raw']['p50_ms']:.1f} / {r['raw']['p99_ms']:.1f} ms | "
            f"{r['raw_topk']['p50_ms']:.1f} / {r['raw_topk']['p99_ms']:.1f} ms | "
            f"{r['service']['p50_ms']:.1f} / {r['service']['p99_ms']:.1f} ms | "
            f"{r['service']['qps']:.3g} vs {r['raw']['qps']:.3g} (**{r['service']['qps'] / r['raw']['qps']:.0%}**), "
            f"vs {r['raw_topk']['qps']:.3g} ({r['service']['qps'] / r['raw_topk']['qps']:.0%}) | "
            f"{r['full']['p50_ms']:.1f} / {r['full']['p99_ms']:.1f} ms | {r['early']:.0%} | "
            f"{r['median_matches']:,}, {r['max_matches']:,} |"
        )
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

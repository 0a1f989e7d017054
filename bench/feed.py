"""Feed benchmark: the personalised Discover endpoint against a trivial JSON endpoint (``GET /api/v1/me``: the
same bearer authentication, one small object) and the plain Following feed, served side by side by the same
uvicorn server (2 workers by default) in one run, under 16 concurrent clients; p50/p99 latency, requests/s and the ratios.

    .venv/bin/python bench/feed.py [--users 10000] [--notes 200000] [--clients 16] [--seconds 20]
                                   [--workers 2] [--db-pool 0] [--write]

The data is ``meadow demo --users 10000 --notes 200000`` in the PostgreSQL database ``meadow_bench_feed`` on
``MEADOW_BENCH_POSTGRES`` (default postgresql://postgres@127.0.0.1:5432; ``MEADOW_BENCH_FEED_DB`` names another
database, ``MEADOW_BENCH_PORT`` another port, so that two checkouts can bench side by side), kept between runs (seeding takes a few
minutes; ``--reseed`` starts over). On top of the demo data the script puts the notes of the last 7 days in
traffic pools (levels 1–4), gives each of the 16 readers an interest profile (3 picked categories and learned
hashtag weights) and 300 past impressions, and an API token. The cache is Redis (``MEADOW_BENCH_REDIS``, default
redis://127.0.0.1:6379/7), as at scale, so a Discover session's pages are shared by both workers.

The server runs with ``bench/feed_settings.py`` (the project's settings with ``CONN_MAX_AGE = 0``: under ASGI
each request's sync code runs in a new thread, so persistent connections would pile up until PostgreSQL refuses
clients). By default each request opens its own PostgreSQL connection, as in the earlier runs; ``--db-pool 10``
gives each worker process a connection pool of that size (``MEADOW_DB_POOL_MAX``), the production setup that
docs/operations.md recommends, and ``--workers`` sets the number of uvicorn workers.
A Discover client reads a session of three pages (the first ranks ~600 candidates from six sources, the next two
come from the session cache) and starts a new session; its first pages are also reported on their own.
``--write`` replaces the "## Feeds" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("MEADOW_BENCH_REDIS", "redis://127.0.0.1:6379/7")
PG_DB = os.environ.get("MEADOW_BENCH_FEED_DB", "meadow_bench_feed")
PORT = int(os.environ.get("MEADOW_BENCH_PORT", "8131"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_SERVER}/{PG_DB}",
        REDIS_URL=REDIS,
        MEADOW_CACHE_PREFIX=f"benchfeed-{PG_DB}",
        MEADOW_DEBUG="0",
        MEADOW_RATE_LIMITS="off",
        MEADOW_DATA_DIR=f"/tmp/{PG_DB}",
        MEADOW_MEDIA_ROOT=f"/tmp/{PG_DB}/media",
        DJANGO_SETTINGS_MODULE="meadow.settings",
    )
    return env


def _psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(
        ["psql", f"{PG_SERVER}/{db}", "-tAc", sql], capture_output=True, text=True, check=False
    )
    return out.stdout.strip()


def seed(users: int, notes: int, reseed: bool) -> None:
    meadow = str(ROOT / ".venv/bin/meadow")
    if reseed:
        _psql(f"DROP DATABASE IF EXISTS {PG_DB}")
    if _psql(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":
        _psql(f"CREATE DATABASE {PG_DB}")
    subprocess.run([meadow, "migrate", "-v0"], env=_env(), check=True)
    have = _psql("SELECT count(*) FROM notes_note", PG_DB)
    if int(have or 0) < notes:
        print(f"seeding {users} people and {notes} notes (a few minutes) …", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [
                meadow,
                "demo",
                "--users",
                str(users),
                "--notes",
                str(notes),
                "--no-progress",
                "--no-search-index",
            ],
            env=_env(),
            check=True,
        )
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


PREPARE = r"""
import json, random, sys
from datetime import timedelta
import django
django.setup()
from django.db import connection
from django.utils import timezone
from meadow.accounts.models import ApiToken, User
from meadow.accounts.services import _token_create
from meadow.distribution.models import InterestProfile, NotePool
from meadow.engagement.models import EngagementEvent
from meadow.notes.models import Hashtag, InterestCategory, Note

rng = random.Random(7)
clients = int(sys.argv[1])
now = timezone.now()
if not NotePool.objects.exists():
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO distribution_notepool (note_id, status, level, holds, impressions, due_impressions, "
            "base_impressions, base_reads, base_interactions, base_completions, base_score, entered_at, "
            "level_entered_at, next_evaluation_at) "
            "SELECT id, 'active', 1 + (id %% 4), 0, 0, 1000000, 0, 0, 0, 0, 0, published_at, published_at, "
            "%s FROM notes_note WHERE status = 'published' AND visibility = 'public' AND published_at > %s",
            [now + timedelta(days=3650), now - timedelta(days=7)],
        )
readers = list(User.objects.filter(handle__startswith="").order_by("-following_count")[:clients])
slugs = list(InterestCategory.objects.values_list("slug", flat=True))
tags = list(Hashtag.objects.order_by("-use_count").values_list("name", flat=True)[:40])
recent = list(Note.objects.order_by("-id").values_list("id", flat=True)[:20000])
out = []
for reader in readers:
    InterestProfile.objects.update_or_create(
        user=reader,
        defaults={"picked": rng.sample(slugs, 3), "weights": {"#" + t: rng.uniform(0.5, 4) for t in rng.sample(tags, 6)},
                  "updated_at": now, "onboarded_at": now},
    )
    if not EngagementEvent.objects.filter(user=reader, kind="impression").exists():
        EngagementEvent.objects.bulk_create(
            [EngagementEvent(user=reader, note_id=i, kind="impression", source="discover")
             for i in rng.sample(recent, 300)]
        )
    ApiToken.objects.filter(user=reader, name="bench-feed").delete()
    out.append(_token_create(user=reader, name="bench-feed"))
print(json.dumps({"tokens": out, "pools": NotePool.objects.count()}))
"""


def prepare(clients: int) -> list[str]:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", PREPARE, str(clients)],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{data['pools']} notes in traffic pools, {len(data['tokens'])} readers", flush=True)
    return data["tokens"]


def serve(workers: int = 2, db_pool: int = 0) -> subprocess.Popen:
    subprocess.run(["redis-cli", "-u", REDIS, "FLUSHDB"], capture_output=True, check=False)
    _psql("ANALYZE", PG_DB)  # fresh statistics after the bulk seed (else the planner misjudges the feeds)
    env = {**_env(), "DJANGO_SETTINGS_MODULE": "bench.feed_settings", "MEADOW_DB_POOL_MAX": str(db_pool)}
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "meadow.asgi:application", "--port", str(PORT), "--workers",
         str(workers), "--no-access-log", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    for _ in range(120):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/api/v1/feed/following")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not start")


class Client(threading.Thread):
    def __init__(self, token: str, kind: str, stop_at: float, warm_until: float) -> None:
        super().__init__(daemon=True)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.kind, self.stop_at, self.warm_until = kind, stop_at, warm_until
        self.latencies: list[float] = []
        self.first_pages: list[float] = []
        self.errors = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        cursor: str | None = None
        pages = 0
        while time.perf_counter() < self.stop_at:
            if self.kind == "trivial":
                path = "/api/v1/me"
            elif self.kind == "following":
                path = "/api/v1/feed/following?limit=20"
            else:
                path = "/api/v1/feed/discover?limit=20" + (f"&cursor={cursor}" if cursor else "")
            first = self.kind == "discover" and cursor is None
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=self.headers)
                response = conn.getresponse()
                body = response.read()
            except OSError:
                self.errors += 1
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                continue
            elapsed = time.perf_counter() - started
            if response.status != 200:
                self.errors += 1
            if self.kind == "discover":
                pages += 1
                cursor = json.loads(body).get("next_cursor") if pages % 3 else None
            if started >= self.warm_until:
                self.latencies.append(elapsed)
                if first:
                    self.first_pages.append(elapsed)


def load(tokens: list[str], kind: str, clients: int, seconds: float) -> dict:
    warm = 3.0
    now = time.perf_counter()
    threads = [
        Client(tokens[i % len(tokens)], kind, now + warm + seconds, now + warm) for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = sorted(x for t in threads for x in t.latencies)
    first = sorted(x for t in threads for x in t.first_pages)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")

    return {
        "kind": kind,
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "p50": pct(lat, 0.50),
        "p99": pct(lat, 0.99),
        "mean": statistics.fmean(lat) * 1000 if lat else float("nan"),
        "first_p50": pct(first, 0.50),
        "first_p99": pct(first, 0.99),
        "first_n": len(first),
        "errors": sum(t.errors for t in threads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--notes", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--db-pool", type=int, default=0, help="MEADOW_DB_POOL_MAX per worker (0: a connection per request)"
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    random.seed(1)
    seed(args.users, args.notes, args.reseed)
    tokens = prepare(args.clients)
    server = serve(args.workers, args.db_pool)
    try:
        results = {
            k: load(tokens, k, args.clients, args.seconds) for k in ("trivial", "following", "discover")
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    t, f, d = results["trivial"], results["following"], results["discover"]
    lines = [
        f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
        f"{'trivial GET /api/v1/me':<28} {t['rps']:>8.0f} {t['p50']:>8.1f} {t['p99']:>8.1f} {t['errors']:>7}",
        f"{'Following (20 cards)':<28} {f['rps']:>8.0f} {f['p50']:>8.1f} {f['p99']:>8.1f} {f['errors']:>7}",
        f"{'Discover (20 cards)':<28} {d['rps']:>8.0f} {d['p50']:>8.1f} {d['p99']:>8.1f} {d['errors']:>7}",
        f"{'  of which first pages':<28} {'':>8} {d['first_p50']:>8.1f} {d['first_p99']:>8.1f}"
        f"   ({d['first_n']} requests)",
        "",
        f"Following throughput / trivial: {f['rps'] / t['rps']:.0%}   (goal ≥ 60 %)",
        f"Following p99 / trivial p99: {f['p99'] / t['p99']:.2f}×   (goal ≤ 2×)",
        f"Discover throughput / trivial: {d['rps'] / t['rps']:.0%}   (goal ≥ 30 %)",
        f"Discover p99 / Following p99: {d['p99'] / f['p99']:.2f}×   (goal ≤ 3×)",
        f"Discover p99: {d['p99']:.0f} ms   (goal < 150 ms)",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        results_md = ROOT / "bench" / "RESULTS.md"
        text = results_md.read_text()
        section = (
            "## Feeds\n\n"
            f"`.venv/bin/python bench/feed.py --clients {args.clients} --seconds {args.seconds:g}"
            f" --workers {args.workers} --db-pool {args.db_pool}` — "
            f"`meadow demo --users {args.users} --notes {args.notes}` on PostgreSQL, uvicorn with {args.workers} "
            "workers, "
            + (
                f"a pool of {args.db_pool} connections per worker, "
                if args.db_pool
                else "a PostgreSQL connection per request, "
            )
            + f"Redis cache, {args.clients} concurrent clients, 2-CPU machine shared with the load generator "
            "(all three endpoints in the same run; a Discover session = 3 pages, the first ranked, the next two "
            "from the session cache).\n\n```\n" + report + "\n```\n"
        )
        if "## Feeds\n" in text:
            head, _, rest = text.partition("## Feeds\n")
            tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
            text = head + section + ("\n" + tail if tail else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        results_md.write_text(text)
        print("written to bench/RESULTS.md")


if __name__ == "__main__":
    sys.exit(main())

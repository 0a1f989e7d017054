"""Engagement benchmark: likes per second through the service layer (``note_like``: a Like row, the note's
counter, an EngagementEvent, the NoteStats score and the author's likes-and-saves counter, in one transaction)
with 8 concurrent workers on PostgreSQL, as a ratio to raw single-row ``UPDATE … SET n = n + 1`` statements on
the same server in the same run (8 workers too, autocommit).

    .venv/bin/python bench/engagement.py [--likes 4000] [--workers 8] [--write]

Runs on a scratch database ``meadow_bench_engagement`` created and dropped on the PostgreSQL server of
``MEADOW_BENCH_POSTGRES`` (default postgresql://postgres@127.0.0.1:5432). Each worker is a thread with its own
database connection. Notifications are queued for a worker (as at scale), not run inline. Likes spread over 20 notes of 20 authors (a hot feed); every like is a new (user, note)
pair. ``--write`` replaces the "## Engagement" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("MEADOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "meadow_bench_engagement"
NOTES = 20


def worker(likes: int, workers: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meadow.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from meadow.accounts.models import User
    from meadow.engagement.models import EngagementEvent, Like, NoteStats
    from meadow.engagement.services import note_like
    from meadow.notes.models import Note

    call_command("migrate", verbosity=0)
    authors = [User.objects.create_user(f"bench_author{i}") for i in range(NOTES)]
    notes = [
        Note.objects.create(
            author=a, title="bench", status=Note.Status.PUBLISHED, published_at=timezone.now()
        )
        for a in authors
    ]
    per_worker = likes // workers
    users = User.objects.bulk_create(
        [User(handle=f"bench_fan{i}", display_name="fan") for i in range(per_worker)]
    )
    connection.close()

    def run(fn) -> float:
        barrier = threading.Barrier(workers + 1)
        errors: list[BaseException] = []

        def body(w: int) -> None:
            from django.db import connection as conn

            try:
                barrier.wait()
                fn(w)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=body, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
        return elapsed

    def likes_of(w: int) -> None:
        # worker w likes note (w + i) % NOTES as fan i: distinct pairs, every note hot from every worker
        for i in range(per_worker):
            note_like(user=users[i], note=notes[(w * 3 + i) % NOTES], source="discover")

    def raw_updates(w: int) -> None:
        from django.db import connection as conn

        ids = [n.pk for n in notes]
        with conn.cursor() as cur:
            for i in range(per_worker):
                cur.execute(
                    "UPDATE notes_note SET share_count = share_count + 1 WHERE id = %s",
                    [ids[(w * 3 + i) % NOTES]],
                )

    # warm-up (connections, plans) on a throwaway note
    warm = Note.objects.create(author=authors[0], title="warm", status=Note.Status.PUBLISHED)
    for u in users[:20]:
        note_like(user=u, note=warm)
    connection.close()

    service_s = run(likes_of)
    raw_s = run(raw_updates)
    total = per_worker * workers
    counted = sum(Note.objects.filter(pk__in=[n.pk for n in notes]).values_list("like_count", flat=True))
    assert counted == Like.objects.exclude(note=warm).count() == total
    assert EngagementEvent.objects.filter(kind="like").exclude(note=warm).count() == total
    score = sum(NoteStats.objects.filter(note__in=notes).values_list("signal_score", flat=True))
    assert score == total
    return {
        "workers": workers,
        "likes": total,
        "likes_per_s": total / service_s,
        "raw_updates_per_s": total / raw_s,
        "ratio": raw_s / service_s,
        "server": connection.cursor().connection.info.server_version,
    }


def _spawn(likes: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="meadow-bench-") as tmp:
        env = {
            **os.environ,
            "MEADOW_ENV": "development",
            "MEADOW_DEBUG": "false",
            "MEADOW_DATA_DIR": tmp,
            "MEADOW_LOG_LEVEL": "WARNING",
            "MEADOW_TASKS_EAGER": "false",  # notifications queue for a worker, as at scale (memory broker)
            "CELERY_BROKER_URL": "memory://",  # the embedded default's broker is a SQLite file; keep the bench's
            "DATABASE_URL": f"{PG_SERVER}/{PG_DB}",
        }
        env.pop("REDIS_URL", None)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--likes", str(likes), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likes", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--write", action="store_true", help="write the ## Engagement section of bench/RESULTS.md"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.likes, args.workers)))
        return
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:
        sys.exit(f"PostgreSQL unavailable at {PG_SERVER} ({exc}).")
    try:
        result = _spawn(args.likes, args.workers)
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    report = "\n".join(
        [
            f"- `note_like` through the service layer, {result['workers']} threads: "
            f"**{result['likes_per_s']:.0f} likes/s** ({result['likes']} likes, counters checked exact afterwards)",
            f"- raw single-row `UPDATE notes_note SET share_count = share_count + 1 WHERE id = …`, same threads, "
            f"same server: **{result['raw_updates_per_s']:.0f} updates/s**",
            f"- ratio service / raw: **{result['ratio']:.2f}** (a like is ~9 statements in one transaction: "
            "savepoint, INSERT like, UPDATE note, INSERT event, UPDATE stats, UPDATE author, commit)",
        ]
    )
    print(report)
    if args.write:
        _write(report, args, result)


def _write(report: str, args, result: dict) -> None:
    import platform

    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    command = f".venv/bin/python bench/engagement.py --likes {args.likes} --workers {args.workers} --write"
    section = (
        "## Engagement\n\n"
        f"`{command}` — {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(shared with other jobs), PostgreSQL {result['server']} on the same machine, scratch database `{PG_DB}`. "
        "Both rates are measured side by side in one run; absolute numbers move ±30 % between runs.\n\n"
        + report
        + "\n"
    )
    start = text.find("## Engagement")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end == -1 else "\n" + text[end + 1 :])
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

"""What one message send costs the web process (issue #19): CPU milliseconds and queries per
``POST /api/v1/conversations/{id}/messages``, answered and delivered (after commit: the message to both people's
groups on the Redis channel layer, the recipient's badge), on the scale profile (PostgreSQL + Redis), in process
through Django's test client — no uvicorn, no sockets: the service cost alone, which bounds a web process's sends
per second (one sync thread per uvicorn worker runs every view).

    .venv/bin/python bench/message_send_cost.py --sends 200
    .venv/bin/python bench/message_send_cost.py --sends 200 --profile 25    # and the top functions

CPU time (``time.process_time``) is this process's own, so it is far less disturbed by other load on the machine
than wall time; both are printed. It uses its own PostgreSQL database (``--database``, re-created and migrated
unless ``--reuse``) and Redis db ``--redis`` (keys under its own prefix). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=200, help="timed sends (after 20 warm-up sends)")
    parser.add_argument("--profile", type=int, default=0, help="print this many top functions (cProfile)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="meadow_bench_send_cost")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--reuse", action="store_true", help="keep the database (skip re-creating it)")
    args = parser.parse_args()
    for url in (args.postgres, args.redis):
        if "127.0.0.1" not in url and "localhost" not in url:
            raise SystemExit("bench/message_send_cost.py only uses 127.0.0.1")
    if not args.database.replace("_", "").isalnum() or not 1 <= args.sends <= 100_000:
        raise SystemExit("--database: letters, digits and _; --sends 1..100000")

    data_dir = Path(tempfile.mkdtemp(prefix="meadow-bench-send-cost-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "meadow.settings",
        "MEADOW_DATA_DIR": str(data_dir),
        "MEADOW_ENV": "development",
        "MEADOW_DEBUG": "false",
        "MEADOW_LOG_LEVEL": "WARNING",
        "MEADOW_RATE_LIMITS": "off",
        "MEADOW_TASKS_EAGER": "true",
        "DATABASE_URL": f"{args.postgres}/{args.database}",
        "REDIS_URL": args.redis,
        "MEADOW_CACHE_PREFIX": f"meadow-bench-send-cost-{uuid.uuid4().hex[:6]}",
        "OPENBLAS_NUM_THREADS": "1",
    }
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)).fetchone()
        if exists and not args.reuse:
            db.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
        if not exists or not args.reuse:
            db.execute(f'CREATE DATABASE "{args.database}"')
            subprocess.run(
                [str(BIN / "meadow"), "migrate", "--no-input", "-v0"],
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                check=True,
            )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from meadow.accounts.models import Follow, User
    from meadow.accounts.services import _token_create
    from meadow.messaging import services
    from meadow.messaging.presence import presence_join

    run = uuid.uuid4().hex[:6]
    a = User.objects.create(handle=f"sc{run}a", display_name="Cost A", email=f"sc{run}a@example.com")
    b = User.objects.create(handle=f"sc{run}b", display_name="Cost B", email=f"sc{run}b@example.com")
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    conversation, _created = services.conversation_open(user=a, other=b)
    presence_join(user_id=b.pk)  # the recipient has a socket open, as in bench/messages.py
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_token_create(user=a)}", HTTP_HOST="127.0.0.1")
    path = f"/api/v1/conversations/{conversation.pk}/messages"
    text = "bench message, a little text like a real one 你好 #"

    def send(n: int) -> None:
        answer = client.post(
            path, {"text": f"{text}{n}", "client_id": f"c-{run}-{n}"}, content_type="application/json"
        )
        if answer.status_code != 201:
            raise SystemExit(f"send {n}: {answer.status_code} {answer.content[:300]!r}")

    for n in range(20):
        send(n)
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):  # every statement, the after-commit delivery's included
        send(20)
    wall, cpu = [], []
    profiler = cProfile.Profile() if args.profile else None
    for n in range(21, 21 + args.sends):
        w, c = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        send(n)
        if profiler:
            profiler.disable()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    load = os.getloadavg()
    print(f"load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"queries per send (answered and delivered): {len(statements)}")
    for sql in statements:
        print(f"  {sql[:140]}")
    cpu_ms = statistics.median(cpu)
    print(
        f"per send over {args.sends}: CPU median {cpu_ms:.1f} ms (mean {statistics.fmean(cpu):.1f}), "
        f"wall median {statistics.median(wall):.1f} ms"
    )
    print(f"one sync thread per web process: at most {1000 / cpu_ms:.0f} sends/s per fully available core")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()

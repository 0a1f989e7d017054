"""Mixed load on a running Meadow (Locust): a social app's mix, reads ≫ writes, at a fixed arrival rate.

    # a server with demo data (docs/operations.md "Load tests"), rate limits raised:
    MEADOW_RATE_LIMITS=off make run            # or the scale profile (Procfile.scale)
    # one fixed rate: 50 actions/s for 5 minutes against 127.0.0.1:8000, a per-endpoint table (CSVs kept)
    .venv/bin/python bench/load.py --host http://127.0.0.1:8000 --rate 50 --seconds 300 --csv var/load
    # or the ramp that finds the highest rate keeping p99 < 500 ms with < 0.1 % errors:
    .venv/bin/python bench/load.py --host http://127.0.0.1:8000 --start 10 --step 10 --seconds 60 --bisect 2

Each simulated reader logs in once (a demo account, password ``meadow-demo``; the readers share one token per
account, so the load is not a storm of password hashing) and then starts one action every ``WAIT`` seconds,
whatever the response times (Locust's ``constant_pacing``: an open, fixed arrival rate as long as a response
takes less than ``WAIT``), picked with these weights (per 1,000 actions): Discover 300, note page 220, Following
120, search 80, like 80, save 40, comment 30, cart + checkout 20 (two requests), publish a note with an image
10, ``GET /api/v1/me`` 60 (an authenticated request doing nothing), and ``GET /healthz`` 40 — the trivial
endpoint (the process answers, touching nothing), measured in the same run so ratios compare between machines.
The arrival rate is fixed by the number of users: ``rate = users / WAIT``.

Per endpoint Locust reports p50/p95/p99, requests/s and failures (``--csv`` writes them); the ramp mode runs
Locust headless per step (statistics reset once every reader has started), reads the CSV, and stops at the first
step whose p99 (all endpoints) is ≥ 500 ms or whose error rate is ≥ 0.1 %; ``--bisect N`` then halves the gap
between the last good and the first bad rate N times. Each step prints the machine's load average. Only
127.0.0.1/localhost targets are accepted, and every run is bounded in time.
"""

from __future__ import annotations

import io
import os
import random
from typing import Any
from urllib.parse import urlparse

from locust import HttpUser, constant_pacing, events, task

WAIT = float(os.environ.get("MEADOW_LOAD_WAIT", "2.0"))  # seconds between a user's actions
PASSWORD = os.environ.get("MEADOW_LOAD_PASSWORD", "meadow-demo")
WORDS = ["咖啡", "nasi lemak", "skincare", "旅行", "kopi", "outfit", "火锅", "hiking", "cafe", "makeup"]


@events.test_start.add_listener
def _only_loopback(environment, **_):
    host = urlparse(environment.host or "").hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"bench/load.py only loads 127.0.0.1/localhost, not {host!r}")


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 800), tuple(random.randint(0, 255) for _ in range(3))).save(
        out, "JPEG", quality=80
    )
    return out.getvalue()


# What the readers share (one Locust process): the accounts they act as, a token per account, the products' SKUs.
SHARED: dict[str, Any] = {"handles": None, "tokens": {}, "skus": None}


class Reader(HttpUser):
    wait_time = constant_pacing(WAIT)

    def on_start(self) -> None:
        self.notes: list[int] = []
        if SHARED["handles"] is None:
            SHARED["handles"] = self._handles()
        handle = random.choice(SHARED["handles"] or ["demo"])
        token = SHARED["tokens"].get(handle)
        if token is None:
            r = self.client.post(
                "/api/v1/auth/token", json={"login": handle, "password": PASSWORD}, name="POST /auth/token"
            )
            token = r.json().get("token") if r.status_code == 200 else None
            if token:
                SHARED["tokens"][handle] = token
        self.client.headers["Authorization"] = f"Bearer {token}" if token else ""
        if SHARED["skus"] is None:
            SHARED["skus"] = self._skus()
        self._refill()

    def _handles(self) -> list[str]:
        r = self.client.get("/api/v1/notes?limit=50", name="GET /notes (setup)")
        if r.status_code != 200:
            return []
        return sorted({item["author"]["handle"] for item in r.json().get("items", [])})

    def _skus(self) -> list[int]:
        skus: list[int] = []
        r = self.client.get("/api/v1/products?limit=5", name="GET /products (setup)")
        for product in r.json().get("items", []) if r.status_code == 200 else []:
            detail = self.client.get(f"/api/v1/products/{product['id']}", name="GET /products/{id} (setup)")
            if detail.status_code == 200:
                skus += [s["id"] for s in detail.json().get("skus", []) if s.get("stock", 1)]
        return skus

    def _refill(self) -> None:
        r = self.client.get("/api/v1/feed/discover", name="GET /feed/discover")
        if r.status_code == 200:
            self.notes = [item["id"] for item in r.json().get("items", []) if "id" in item] or self.notes

    def _note(self) -> int | None:
        return random.choice(self.notes) if self.notes else None

    @task(300)
    def discover(self) -> None:
        self._refill()

    @task(220)
    def note_page(self) -> None:
        if (note := self._note()) is not None:
            self.client.get(f"/api/v1/notes/{note}", name="GET /notes/{id}")

    @task(120)
    def following(self) -> None:
        self.client.get("/api/v1/feed/following", name="GET /feed/following")

    @task(80)
    def search(self) -> None:
        self.client.get("/api/v1/search", params={"q": random.choice(WORDS)}, name="GET /search")

    @task(60)
    def me(self) -> None:
        self.client.get("/api/v1/me", name="GET /me")

    @task(40)
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz (trivial)")

    @task(80)
    def like(self) -> None:
        if (note := self._note()) is not None:
            self.client.post(f"/api/v1/notes/{note}/like", name="POST /notes/{id}/like")

    @task(40)
    def save(self) -> None:
        if (note := self._note()) is not None:
            self.client.post(f"/api/v1/notes/{note}/save", name="POST /notes/{id}/save")

    @task(30)
    def comment(self) -> None:
        if (note := self._note()) is not None:
            self.client.post(
                f"/api/v1/notes/{note}/comments",
                json={"body": random.choice(["好看!", "Nice one", "Cantik!", "求链接"])},
                name="POST /notes/{id}/comments",
            )

    @task(20)
    def cart_and_checkout(self) -> None:
        if not SHARED["skus"]:
            return
        sku = random.choice(SHARED["skus"])
        self.client.post("/api/v1/cart/items", json={"sku": sku, "quantity": 1}, name="POST /cart/items")
        with self.client.post(
            "/api/v1/cart/checkout",
            json={
                "address": {
                    "recipient_name": "Load Test",
                    "phone": "+60123456789",
                    "line1": "1 Jalan Bench",
                    "postcode": "50000",
                    "city": "Kuala Lumpur",
                    "state": "KUL",
                }
            },
            headers={"Idempotency-Key": f"load-{random.getrandbits(64):x}"},
            name="POST /cart/checkout",
            catch_response=True,
        ) as r:
            if r.status_code == 409:  # sold out is an answer, not an error
                r.success()

    @task(10)
    def publish(self) -> None:
        self.client.post(
            "/api/v1/notes",
            data={"title": "Load test", "body": "A note from bench/load.py #loadtest"},
            files={"images": ("load.jpg", _jpeg(), "image/jpeg")},
            name="POST /notes (image)",
        )


# --- fixed rate and ramp: run Locust headless per step, summarise its CSV ---------------------------------------
def _step(host: str, rate: float, seconds: int, keep: str | None) -> dict:
    """One bounded Locust run at ``rate`` actions/s; the per-endpoint rows and the load average around it."""
    import csv
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    users = max(1, round(rate * WAIT))
    seconds = min(seconds, 600)
    load_before = os.getloadavg()
    started = time.strftime("%H:%M:%S", time.gmtime())
    with tempfile.TemporaryDirectory() as folder:
        prefix = keep or str(Path(folder) / "step")
        # every reader starts within ~10 s; statistics are reset once all have, and the run lasts `seconds` more
        spawn = max(1, users // 10)
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", __file__, "--headless", "--host", host, "-u", str(users),
             "-r", str(spawn), "-t", f"{seconds + users // spawn + 1}s", "--reset-stats", "--csv", prefix,
             "--only-summary", "--loglevel", "WARNING"],
            check=False, timeout=seconds + 180,
        )  # fmt: skip
        with open(prefix + "_stats.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    return {
        "rate": rate,
        "users": users,
        "rows": rows,
        "load": (load_before, os.getloadavg()),
        "started": started,
    }


def _summary(step: dict, *, p99_ms: float, max_errors: float) -> tuple[bool, str]:
    rows = step["rows"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    p99 = float(total["99%"] or 0)
    errors = failures / requests if requests else 1.0
    (b1, _b5, _b15), (a1, _a5, _a15) = step["load"]
    lines = [
        f"rate {step['rate']:g} actions/s ({step['users']} readers), {step['started']} UTC, load average "
        f"{b1:.1f} → {a1:.1f}: {float(total['Requests/s']):.1f} req/s, p99 {p99:.0f} ms, "
        f"errors {failures}/{requests} = {errors:.3%}",
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: -float(r["Requests/s"] or 0)):
        lines.append(
            f"| {row['Type']} {row['Name']} | {float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | "
            f"{row['99%']} | {row['Failure Count']} |"
        )
    return p99 < p99_ms and errors < max_errors, "\n".join(lines)


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, help="one run at this arrival rate (actions/s), no ramp")
    parser.add_argument("--start", type=float, default=10, help="first arrival rate of the ramp (actions/s)")
    parser.add_argument("--step", type=float, default=10, help="added per step")
    parser.add_argument("--max-rate", type=float, default=1000)
    parser.add_argument("--max-steps", type=int, default=12, help="the ramp stops after this many runs")
    parser.add_argument(
        "--bisect", type=int, default=0, help="halvings between the last good and first bad rate"
    )
    parser.add_argument("--seconds", type=int, default=60, help="measured length of each run (≤ 600)")
    parser.add_argument("--csv", help="with --rate: keep Locust's CSVs under this prefix")
    parser.add_argument("--p99-ms", type=float, default=500)
    parser.add_argument("--max-errors", type=float, default=0.001)
    args = parser.parse_args()
    if urlparse(args.host).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("only 127.0.0.1/localhost")
    limits = {"p99_ms": args.p99_ms, "max_errors": args.max_errors}
    if args.rate:
        _ok, text = _summary(_step(args.host, args.rate, args.seconds, args.csv), **limits)
        print(text, flush=True)
        return
    good, bad, rate, runs = None, None, args.start, 0
    while rate <= args.max_rate and runs < args.max_steps:
        ok, text = _summary(_step(args.host, rate, args.seconds, None), **limits)
        runs += 1
        print(text, "\n", flush=True)
        if not ok:
            bad = rate
            break
        good, rate = rate, rate + args.step
    for _ in range(args.bisect):
        if good is None or bad is None or runs >= args.max_steps:
            break
        rate = round((good + bad) / 2, 1)
        ok, text = _summary(_step(args.host, rate, args.seconds, None), **limits)
        runs += 1
        print(text, "\n", flush=True)
        good, bad = (rate, bad) if ok else (good, rate)
    print(
        f"highest rate with p99 < {args.p99_ms:g} ms and errors < {args.max_errors:.1%}: {good} actions/s "
        f"(first rate that missed: {bad}; {runs} runs of {args.seconds} s)"
    )


if __name__ == "__main__":
    _main()

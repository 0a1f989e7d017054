"""Mixed load on a running Meadow (Locust): a social app's mix, reads ≫ writes, at a fixed arrival rate.

    # a server with demo data (docs/operations.md "Load tests"), rate limits raised:
    MEADOW_RATE_LIMITS=off make run            # or the scale profile (Procfile.scale)
    # one step: 40 sessions/s arriving for 60 s against 127.0.0.1:8000
    .venv/bin/locust -f bench/load.py --headless --host http://127.0.0.1:8000 -u 400 -r 40 -t 60s --csv var/load
    # or the ramp that finds the highest rate keeping p99 < 500 ms with < 0.1 % errors:
    .venv/bin/python bench/load.py --host http://127.0.0.1:8000 --start 10 --step 10 --seconds 60

Each simulated reader logs in once (a demo account, password ``meadow-demo``) and then, with a constant think
time, picks one action with these weights (per 1,000 actions): Discover 300, note page 220, Following 120,
search 80, ``GET /api/v1/me`` 60 (the trivial endpoint, measured in the same run), like 80, save 40, comment 30,
cart + checkout 20 (two requests), publish a note with an image 10. Because every user waits ``WAIT`` seconds
between actions, the arrival rate is fixed by the number of users: ``rate ≈ users / WAIT``.

Per endpoint Locust reports p50/p95/p99, requests/s and failures (``--csv`` writes them); the ramp mode runs
Locust headless per step, reads the CSV, and stops at the first step whose p99 (all endpoints) is ≥ 500 ms or whose
error rate is ≥ 0.1 %. Only 127.0.0.1/localhost targets are accepted, and every run is bounded in time.
"""

from __future__ import annotations

import io
import os
import random
from urllib.parse import urlparse

from locust import HttpUser, constant, events, task

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


class Reader(HttpUser):
    wait_time = constant(WAIT)

    def on_start(self) -> None:
        self.notes: list[int] = []
        self.skus: list[int] = []
        self.looked_for_products = False
        handles = self._handles()
        handle = random.choice(handles) if handles else "demo"
        r = self.client.post(
            "/api/v1/auth/token", json={"login": handle, "password": PASSWORD}, name="POST /auth/token"
        )
        token = r.json().get("token") if r.status_code == 200 else None
        self.client.headers["Authorization"] = f"Bearer {token}" if token else ""
        self._refill()

    def _handles(self) -> list[str]:
        r = self.client.get("/api/v1/notes?limit=50", name="GET /notes (setup)")
        if r.status_code != 200:
            return []
        return sorted({item["author"]["handle"] for item in r.json().get("items", [])})

    def _refill(self) -> None:
        r = self.client.get("/api/v1/feed/discover", name="GET /feed/discover")
        if r.status_code == 200:
            self.notes = [item["id"] for item in r.json().get("items", []) if "id" in item] or self.notes
        if not self.skus and not self.looked_for_products:
            self.looked_for_products = True
            r = self.client.get("/api/v1/products?limit=5", name="GET /products (setup)")
            for product in r.json().get("items", []) if r.status_code == 200 else []:
                detail = self.client.get(
                    f"/api/v1/products/{product['id']}", name="GET /products/{id} (setup)"
                )
                if detail.status_code == 200:
                    self.skus += [s["id"] for s in detail.json().get("skus", []) if s.get("stock", 1)]

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
        if not self.skus:
            return
        sku = random.choice(self.skus)
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


# --- ramp: find the highest rate that keeps p99 < 500 ms with < 0.1 % errors ----------------------------------
def _ramp() -> None:
    import argparse
    import csv
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("--start", type=float, default=10, help="first arrival rate (actions/s)")
    parser.add_argument("--step", type=float, default=10, help="added per step")
    parser.add_argument("--max-rate", type=float, default=1000)
    parser.add_argument("--seconds", type=int, default=60, help="length of each step (≤ 600)")
    parser.add_argument("--p99-ms", type=float, default=500)
    parser.add_argument("--max-errors", type=float, default=0.001)
    args = parser.parse_args()
    if urlparse(args.host).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("only 127.0.0.1/localhost")
    best, rate = None, args.start
    while rate <= args.max_rate:
        users = max(1, round(rate * WAIT))
        with tempfile.TemporaryDirectory() as folder:
            prefix = str(Path(folder) / "step")
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", __file__, "--headless", "--host", args.host,
                 "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{min(args.seconds, 600)}s",
                 "--csv", prefix, "--only-summary"],
                check=False, timeout=min(args.seconds, 600) + 120,
            )  # fmt: skip
            rows = list(csv.DictReader(open(prefix + "_stats.csv", encoding="utf-8")))  # noqa: SIM115
        total = next(r for r in rows if r["Name"] == "Aggregated")
        requests, failures = int(total["Request Count"]), int(total["Failure Count"])
        p99 = float(total["99%"] or 0)
        errors = failures / requests if requests else 1.0
        print(
            f"rate {rate:g}/s: {float(total['Requests/s']):.1f} req/s, p99 {p99:.0f} ms, errors {errors:.3%}"
        )
        for row in rows:
            if row["Name"] != "Aggregated":
                print(f"  {row['Type']:6} {row['Name']:32} p50 {row['50%']:>6} p95 {row['95%']:>6} "
                      f"p99 {row['99%']:>6} ms  {float(row['Requests/s']):7.1f}/s  fail {row['Failure Count']}")  # fmt: skip
        if p99 >= args.p99_ms or errors >= args.max_errors:
            break
        best, rate = rate, rate + args.step
    print(f"highest rate with p99 < {args.p99_ms:g} ms and errors < {args.max_errors:.1%}: {best}")


if __name__ == "__main__":
    _ramp()

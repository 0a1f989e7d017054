"""Bounded traffic for the fault checks, to 127.0.0.1 only: a few threads, each repeating a mix of real
actions (reads, buy now + pay through the sandbox page, publish with an image) until told to stop. Every
answer is recorded with its time, so a check can measure the outage window and assert what came after it."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from tests.chaos.servers import request

ADDRESS = {
    "recipient_name": "Siti Aminah",
    "phone": "012-345 6789",
    "line1": "12, Jalan Telawi 3",
    "postcode": "59100",
    "city": "Kuala Lumpur",
    "state": "KUL",
}


def jpeg_bytes(size: int = 48, seed: int = 0) -> bytes:
    import random

    from PIL import Image

    rng = random.Random(seed)
    image = Image.new("RGB", (size, size))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size * size)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, filename, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(head.encode() + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Answer:
    at: float  # seconds since the load started
    action: str
    status: int
    seconds: float
    code: str = ""


@dataclass
class Load:
    port: int
    tokens: list[str]
    sku: int
    publish: bool = True
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, started: float, action: str, status: int, seconds: float, data: dict) -> None:
        code = (data.get("error") or {}).get("code", "") if isinstance(data, dict) else ""
        with self._lock:
            self.answers.append(Answer(started - self.t0, action, status, seconds, code))

    def _call(self, action: str, method: str, path: str, **kw) -> tuple[int, dict, dict]:
        started = time.monotonic()
        status, data, seconds, headers = request(self.port, method, path, **kw)
        self._record(started, action, status, seconds, data)
        return status, data, headers

    def _buy_and_pay(self, auth: dict) -> None:
        body = json.dumps({"items": [{"sku": self.sku, "quantity": 1}], "address": ADDRESS}).encode()
        key = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
        status, data, _ = self._call("order", "POST", "/api/v1/orders", body=body, headers={**auth, **key})
        if status != 201:
            return
        order = data["orders"][0]["id"]
        body = json.dumps({"orders": [order]}).encode()
        key = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
        status, data, _ = self._call(
            "payment", "POST", "/api/v1/payments", body=body, headers={**auth, **key}
        )
        if status != 201:
            return
        page = f"/pay/sandbox/{data['intent']}/"
        started = time.monotonic()
        status, _, seconds, headers = request(self.port, "GET", page)
        self._record(started, "pay-page", status, seconds, {})
        cookie = re.search(r"csrftoken=([^;]+)", headers.get("set-cookie", ""))
        if status != 200 or not cookie:
            return
        form = f"csrfmiddlewaretoken={cookie.group(1)}&outcome=pay".encode()
        headers = {
            "Cookie": f"csrftoken={cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self._call("pay", "POST", page, body=form, headers=headers)

    def _run(self, n: int) -> None:
        auth = {"Authorization": f"Bearer {self.tokens[n % len(self.tokens)]}"}
        image = jpeg_bytes(seed=n)
        i = 0
        while not self._stop.is_set():
            i += 1
            self._call("me", "GET", "/api/v1/me", headers=auth)
            self._call("discover", "GET", "/api/v1/feed/discover?limit=10", headers=auth)
            self._call("home", "GET", "/")
            if i % 2 == 0:
                self._buy_and_pay(auth)
            if self.publish and i % 4 == n % 4:
                body, kind = multipart(
                    {"title": f"chaos {n}-{i}", "body": "fault check"}, [("images", "p.jpg", image)]
                )
                self._call(
                    "publish", "POST", "/api/v1/notes", body=body, headers={**auth, "Content-Type": kind}
                )
            time.sleep(0.05)

    def start(self, threads: int = 3) -> None:
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]
        for t in self.threads:
            t.start()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(timeout=60)

    # --- what the checks assert on -----------------------------------------------------------------------------
    def failures(self, *, ok=lambda a: 200 <= a.status < 500) -> list[Answer]:
        return [a for a in self.answers if not ok(a)]

    def summary(self) -> dict:
        bad = self.failures()
        by_status: dict[int, int] = {}
        for a in self.answers:
            by_status[a.status] = by_status.get(a.status, 0) + 1
        return {
            "requests": len(self.answers),
            "by_status": by_status,
            "first_error_at": round(min(a.at for a in bad), 2) if bad else None,
            "last_error_at": round(max(a.at + a.seconds for a in bad), 2) if bad else None,
            "slowest_s": round(max(a.seconds for a in self.answers), 2),
            "slowest_by_action": {
                action: round(max(a.seconds for a in self.answers if a.action == action), 2)
                for action in sorted({a.action for a in self.answers})
            },
        }

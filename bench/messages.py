"""Messages end to end on the scale profile (issue #19): N connected WebSocket clients, messages sent through the
API and received on the recipient's socket, beside raw Redis pub/sub of the same payloads in the same run.

    .venv/bin/python bench/messages.py                     # 200 clients, uvicorn --workers 2, PostgreSQL + Redis
    .venv/bin/python bench/messages.py --clients 200 --burst 1000 --rate 50 --seconds 20 --workers 2

It creates (or, with --reuse, keeps) its own database (``--database``, ``meadow_bench_messages``) on 127.0.0.1:5432, migrates it,
makes ``clients`` accounts in pairs that follow each other with a conversation each, starts ``uvicorn
meadow.asgi:application --workers W`` on a free 127.0.0.1 port (Redis channel layer on db 13, rate limits off,
tasks inline) and connects every account's ``/ws/messages/`` socket (a realtime ticket each). Two phases, each
for Meadow and then for raw Redis pub/sub (one subscriber connection per client, ``PUBLISH`` of the same JSON
the socket delivered to the recipient's channel):

* **throughput**: ``burst`` messages sent with ``concurrency`` in flight (keep-alive HTTP connections); messages
  per second from the first send to the last receipt at the recipients;
* **steady**: ``rate`` messages a second for ``seconds``; delivery latency from the start of the send (the API
  call: store, moderation, commit) to the recipient's socket receiving it, p50 / p99.

Like for like: the raw side holds as many subscriber connections as Meadow holds sockets (``clients``), and both
sides are driven by the same loop in this process, with the same concurrency and rate. Meadow also sends each
message to its sender's socket and an ``unread`` badge to the recipient; the raw side publishes only the delivery
that is timed.

Only 127.0.0.1 is used; every phase is bounded in time (``--timeout``). The server's processes are stopped at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DB_NAME = "meadow_bench_messages"  # --database changes it (helpers sharing one PostgreSQL use their own)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- setup -----------------------------------------------------------------------------------------------------
def server_env(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEADOW_", "DATABASE_URL", "REDIS_URL"))}
    prom = data_dir / "prom"
    prom.mkdir(exist_ok=True)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "PYTHONPATH": str(ROOT),
            "MEADOW_DATA_DIR": str(data_dir),
            "MEADOW_ENV": "development",
            "MEADOW_DEBUG": "false",
            "MEADOW_LOG_LEVEL": "WARNING",
            "MEADOW_RATE_LIMITS": "off",
            "MEADOW_TASKS_EAGER": "true",
            "MEADOW_DB_POOL_MAX": "10",  # docs/operations.md's recommendation for a uvicorn process
            "DATABASE_URL": f"{args.postgres}/{args.database}",
            "REDIS_URL": args.redis,
            "MEADOW_CACHE_PREFIX": "meadow-bench-messages",
            "PROMETHEUS_MULTIPROC_DIR": str(prom),
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    return env


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)).fetchone()
        if exists and not args.reuse:
            db.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
        if not exists or not args.reuse:
            db.execute(f'CREATE DATABASE "{args.database}"')
    subprocess.run([str(BIN / "meadow"), "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)


def make_accounts(args: argparse.Namespace, env: dict[str, str]) -> list[dict]:
    """Pairs of accounts that follow each other, a conversation and an API token each (in this process)."""
    os.environ.update(env)
    import django

    django.setup()
    from meadow.accounts.models import Follow, User
    from meadow.accounts.services import _token_create
    from meadow.messaging import services

    run = uuid.uuid4().hex[:6]
    pairs = []
    for i in range(args.clients // 2):
        a = User.objects.create(
            handle=f"bm{run}a{i}", display_name=f"Bench A{i}", email=f"bm{run}a{i}@example.com"
        )
        b = User.objects.create(
            handle=f"bm{run}b{i}", display_name=f"Bench B{i}", email=f"bm{run}b{i}@example.com"
        )
        Follow.objects.create(follower=a, followee=b)
        Follow.objects.create(follower=b, followee=a)
        conversation, _ = services.conversation_open(user=a, other=b)
        pairs.append(
            {
                "conversation": conversation.pk,
                "a": _token_create(user=a),
                "b": _token_create(user=b),
                "b_id": b.pk,
            }
        )
    return pairs


def start_server(args: argparse.Namespace, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "meadow.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--workers",
                str(args.workers),
                "--no-access-log",
                # uvicorn's supervisor kills a worker that does not answer its ping in 5 s (and every socket
                # on it with it); a loaded host answers late, which is not what this bench measures
                "--timeout-worker-healthcheck",
                str(args.healthcheck),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"the server did not start:\n{log.read_text()[-3000:]}")


# --- a small keep-alive HTTP client (asyncio streams; the standard library has none) --------------------------
class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
        try:
            return await self._request(method, path, token, body)
        except (
            ConnectionError,
            IndexError,
            asyncio.IncompleteReadError,
        ):  # the server closed an idle connection
            self.reader = self.writer = None
            return await self._request(method, path, token, body)

    async def _request(self, method: str, path: str, token: str, body: dict | None) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        raw = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status, json.loads(raw) if raw else {}


# --- the two systems under the same load ---------------------------------------------------------------------
class Meadow:
    name = "Meadow (API → PostgreSQL → Redis layer → socket)"

    def __init__(self, port: int, pairs: list[dict], concurrency: int) -> None:
        self.port, self.pairs = port, pairs
        self.pool: asyncio.Queue[Http] = asyncio.Queue()
        for _ in range(concurrency):
            self.pool.put_nowait(Http(port))
        self.sockets: list = []
        self.listeners: list[asyncio.Task] = []
        self.errors = 0

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        async def one(token: str) -> None:
            http = await self.pool.get()
            try:
                status, body = await http.request("POST", "/api/v1/realtime/ticket", token)
            finally:
                self.pool.put_nowait(http)
            assert status == 201, body
            ws = await connect(
                f"ws://127.0.0.1:{self.port}/ws/messages/?ticket={body['ticket']}",
                origin=f"http://127.0.0.1:{self.port}",
                open_timeout=60,
                max_queue=None,
                ping_interval=None,  # an overloaded machine answers pings late; a closed socket is counted below
            )
            self.sockets.append(ws)
            self.listeners.append(asyncio.create_task(self._listen(ws, recipient=token)))

        tokens = [p[k] for p in self.pairs for k in ("a", "b")]
        for start in range(0, len(tokens), 20):  # 20 at a time: a storm of handshakes is not what is measured
            await asyncio.gather(*(one(t) for t in tokens[start : start + 20]))

    @property
    def _recipients(self) -> set[str]:
        return {p["b"] for p in self.pairs}

    async def send(self, n: int, text: str) -> None:
        pair = self.pairs[n % len(self.pairs)]
        http = await self.pool.get()
        try:
            status, _ = await http.request(
                "POST",
                f"/api/v1/conversations/{pair['conversation']}/messages",
                pair["a"],
                {"text": text, "client_id": f"b-{uuid.uuid4().hex[:8]}-{n}"[:64]},
            )
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status = 0
            http.reader = http.writer = None
        finally:
            self.pool.put_nowait(http)
        if status != 201:
            self.errors += 1

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()


async def run_phase(system, *, count: int, rate: float | None, concurrency: int, timeout: float) -> dict:
    """Send ``count`` messages (as fast as ``concurrency`` allows, or at ``rate`` a second) and wait for them."""
    sent_at: dict[str, float] = {}
    tags: list[str] = []
    run = uuid.uuid4().hex[:6]
    limit = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        tag = f"{run}:{n}"
        async with limit:
            sent_at[tag] = time.perf_counter()
            await system.send_tagged(n, tag)

    started = time.perf_counter()
    tasks = []
    for n in range(count):
        tags.append(f"{run}:{n}")
        if rate:
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and sum(1 for t in tags if t in system.got) < count:
        await asyncio.sleep(0.05)
    got = [t for t in tags if t in system.got]
    latencies = [(system.got[t] - sent_at[t]) * 1000 for t in got]
    last = max((system.got[t] for t in got), default=started)
    return {
        "sent": count,
        "delivered": len(got),
        "errors": getattr(system, "errors", 0),
        "per_second": len(got) / (last - started) if got else 0.0,
        "p50": pct(latencies, 0.50),
        "p99": pct(latencies, 0.99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }


class MeadowTagged(Meadow):
    """Meadow, with each message's tag carried in its text (the receipt is matched on it)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.got: dict[str, float] = {}
        self.closed = 0

    async def _listen(self, ws, *, recipient: str) -> None:
        is_recipient = recipient in self._recipients
        try:
            async for raw in ws:
                if not is_recipient:
                    continue
                event = json.loads(raw)
                if event["type"] == "message":
                    tag = event["message"]["text"].rsplit(" #", 1)[-1]
                    self.got.setdefault(tag, time.perf_counter())
        except Exception:
            pass
        self.closed += 1  # the server closed the socket (counted: its later messages are not received)

    async def send_tagged(self, n: int, tag: str) -> None:
        await self.send(n, f"bench message, a little text like a real one 你好 #{tag}")


class RawRedis:
    """Raw Redis pub/sub, like for like: one subscriber connection per connected client (``clients``, as many as
    Meadow's sockets, senders included), and each message ``PUBLISH``ed, as the JSON a socket delivered, to the
    channel of the client Meadow delivers it to (pair ``n``'s recipient). (It had one subscriber per recipient
    only: half the connections Meadow's side holds open.)"""

    name = "raw Redis pub/sub (same payloads)"

    def __init__(self, url: str, clients: int, concurrency: int) -> None:
        self.url, self.clients = url, clients
        self.got: dict[str, float] = {}
        self.subscribers: list = []
        self.listeners: list[asyncio.Task] = []
        self.publishers: asyncio.Queue = asyncio.Queue()
        self.concurrency = concurrency
        self.prefix = f"bench-messages:{uuid.uuid4().hex[:6]}"
        self.template: dict = {}

    async def open(self, template: dict) -> None:
        import redis.asyncio as redis

        self.template = template
        for i in range(self.clients):
            client = redis.from_url(self.url)
            pubsub = client.pubsub()
            await pubsub.subscribe(f"{self.prefix}:{i}")
            self.subscribers.append((client, pubsub))
            self.listeners.append(asyncio.create_task(self._listen(pubsub)))
        for _ in range(self.concurrency):
            self.publishers.put_nowait(redis.from_url(self.url))

    async def _listen(self, pubsub) -> None:
        try:
            async for item in pubsub.listen():
                if item["type"] != "message":
                    continue
                event = json.loads(item["data"])
                tag = event["message"]["text"].rsplit(" #", 1)[-1]
                self.got.setdefault(tag, time.perf_counter())
        except Exception:
            pass

    async def send_tagged(self, n: int, tag: str) -> None:
        payload = {**self.template, "message": {**self.template["message"], "seq": n}}
        payload["message"]["text"] = f"bench message, a little text like a real one 你好 #{tag}"
        client = await self.publishers.get()
        try:
            # clients 2k and 2k + 1 are pair k's sender and recipient, as on Meadow's side
            recipient = 2 * (n % (self.clients // 2)) + 1
            await client.publish(f"{self.prefix}:{recipient}", json.dumps(payload))
        finally:
            self.publishers.put_nowait(client)

    async def close(self) -> None:
        for client, pubsub in self.subscribers:
            await pubsub.aclose()
            await client.aclose()
        while not self.publishers.empty():
            await (self.publishers.get_nowait()).aclose()


async def measure(args: argparse.Namespace, port: int, pairs: list[dict]) -> dict:
    meadow = MeadowTagged(port, pairs, args.concurrency)
    await meadow.open()
    await asyncio.sleep(1.0)
    # one message first: the payload the raw side publishes is exactly what a socket received
    probe: dict = {}
    http = Http(port)
    await http.request(
        "POST",
        f"/api/v1/conversations/{pairs[0]['conversation']}/messages",
        pairs[0]["a"],
        {"text": "warm-up", "client_id": f"w-{uuid.uuid4().hex[:8]}"},
    )
    _status, page = await http.request(
        "GET", f"/api/v1/conversations/{pairs[0]['conversation']}/messages", pairs[0]["b"]
    )
    probe = {"type": "message", "message": page["items"][-1]}
    raw = RawRedis(args.redis, 2 * len(pairs), args.concurrency)
    await raw.open(probe)
    results: dict = {}
    for phase, count, rate in (
        ("throughput", args.burst, None),
        ("steady", int(args.rate * args.seconds), args.rate),
    ):
        for label, system in (("meadow", meadow), ("redis", raw)):
            await asyncio.sleep(1.0)
            results[(phase, label)] = await run_phase(
                system, count=count, rate=rate, concurrency=args.concurrency, timeout=args.timeout
            )
            print(f"  {phase:10} {label:6} {results[(phase, label)]}", flush=True)
    results["closed"] = meadow.closed
    await meadow.close()
    await raw.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clients", type=int, default=200, help="connected WebSocket clients (pairs: half send)"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--burst", type=int, default=1000, help="messages in the throughput phase")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="messages in flight in the throughput phase"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second in the steady phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady phase")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="longest wait for deliveries after a phase"
    )
    parser.add_argument("--healthcheck", type=int, default=30, help="uvicorn --timeout-worker-healthcheck")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--database", default=DB_NAME, help="the bench's own PostgreSQL database (re-created)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the bench database (skip re-creating it)")
    args = parser.parse_args()
    for url in (args.postgres, args.redis):
        if "127.0.0.1" not in url and "localhost" not in url:
            raise SystemExit("bench/messages.py only uses 127.0.0.1")
    if not args.database.replace("_", "").isalnum():
        raise SystemExit("--database: letters, digits and _")
    if args.clients < 2 or args.clients > 1000 or args.workers < 1 or args.workers > 8:
        raise SystemExit("--clients 2..1000, --workers 1..8")

    data_dir = Path(tempfile.mkdtemp(prefix="meadow-bench-messages-"))
    env = server_env(args, data_dir)
    print(
        f"database {args.database}, Redis {args.redis}, {args.clients} clients, uvicorn --workers {args.workers}"
    )
    prepare_database(args, env)
    pairs = make_accounts(args, env)
    port = free_port()
    server = start_server(args, env, port, data_dir / "web.log")
    try:
        load = os.getloadavg()
        results = asyncio.run(measure(args, port, pairs))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    print()
    print(f"load average before: {load[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':28}{'Meadow':>14}{'raw Redis':>14}{'ratio':>9}")
    t_m, t_r = results[("throughput", "meadow")], results[("throughput", "redis")]
    print(
        f"{'throughput (msg/s)':28}{t_m['per_second']:14.1f}{t_r['per_second']:14.1f}"
        f"{t_m['per_second'] / t_r['per_second'] if t_r['per_second'] else 0:9.1%}"
    )
    for phase in ("throughput", "steady"):
        m, r = results[(phase, "meadow")], results[(phase, "redis")]
        name = phase if phase == "throughput" else f"steady {args.rate:g}/s"
        print(
            f"{name + ' p50 (ms)':28}{m['p50']:14.1f}{r['p50']:14.1f}{m['p50'] / r['p50'] if r['p50'] else 0:9.1f}x"
        )
        print(
            f"{name + ' p99 (ms)':28}{m['p99']:14.1f}{r['p99']:14.1f}{m['p99'] / r['p99'] if r['p99'] else 0:9.1f}x"
        )
        print(f"{name + ' delivered':28}{m['delivered']:>9}/{m['sent']:<4}{r['delivered']:>9}/{r['sent']:<4}")
    print(f"send errors (Meadow, both phases): {results[('steady', 'meadow')]['errors']}")
    print(f"sockets the server closed during the run: {results['closed']}")
    if results["closed"] or results[("steady", "meadow")]["errors"]:
        print(f"server log kept: {data_dir / 'web.log'}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Fault checks (issue #16): each starts what it breaks on private servers, drives bounded traffic to
127.0.0.1, breaks one thing, and asserts the pass criterion. Measured windows are printed (run with -s) and
recorded in docs/operations.md, "Faults"."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import uuid

import pytest

from tests.chaos import servers
from tests.chaos.load import ADDRESS, Load, jpeg_bytes, multipart
from tests.chaos.servers import request

DOWN_SECONDS = 4  # how long each private server stays down


def report(name: str, data: dict) -> None:
    print(f"\nCHAOS {name}: {json.dumps(data)}")


@pytest.fixture(scope="module")
def scale():
    """The scale profile on private servers: PostgreSQL, Redis, a uvicorn web process (connection pool on, as
    Procfile.scale) and a prefork Celery worker (which delivers the sandbox's payment webhooks)."""
    folder = servers.temp_folder("scale")
    pg, redis = servers.PrivatePostgres(folder), servers.PrivateRedis(folder)
    pg.init()
    redis.start()
    port = servers.free_port()
    env = servers.meadow_env(
        folder / "data",
        DATABASE_URL=pg.url,
        REDIS_URL=redis.url,
        MEADOW_DB_POOL_MAX="4",
        MEADOW_DB_POOL_TIMEOUT="3",
        MEADOW_BROKER_VISIBILITY_TIMEOUT="8",
        MEADOW_BEAT_INTERVALS='{"core-spool-resend": 2}',
    )
    servers.run_meadow(env, "-m", "meadow", "migrate", "--no-input", "-v0")
    world = json.loads(servers.run_meadow(env, "-m", "tests.chaos.world", "seed"))
    web = servers.web(env, port, folder)
    worker = servers.worker(env, folder, "-I", "tests.chaos.probe")
    beat = servers.beat(env, folder)  # sends core-spool-resend (every 2 s here)
    web.start()
    worker.start()
    beat.start()
    try:
        servers.wait_port(port, timeout=60)
        yield {"pg": pg, "redis": redis, "port": port, "env": env, "world": world, "folder": folder,
               "web": web, "worker": worker}  # fmt: skip
    finally:
        web.stop()
        beat.stop()
        worker.stop()
        redis.stop()
        pg.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def payment_ready_to_pay(port: int, token: str, sku: int):
    """Buy now and open the sandbox's pay page; returns the payment id and a function that submits "pay"."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"items": [{"sku": sku, "quantity": 1}], "address": ADDRESS}).encode()
    status, data, _, _ = request(port, "POST", "/api/v1/orders", body=body,
                                 headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert status == 201, data
    body = json.dumps({"orders": [data["orders"][0]["id"]]}).encode()
    status, data, _, _ = request(port, "POST", "/api/v1/payments", body=body,
                                 headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert status == 201, data
    page = f"/pay/sandbox/{data['intent']}/"
    status, _, _, headers = request(port, "GET", page)
    cookie = re.search(r"csrftoken=([^;]+)", headers.get("set-cookie", ""))
    assert status == 200 and cookie, status

    def pay() -> int:
        form = f"csrfmiddlewaretoken={cookie.group(1)}&outcome=pay".encode()
        headers = {
            "Cookie": f"csrftoken={cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return request(port, "POST", page, body=form, headers=headers)[0]

    return data["id"], pay


def payment_status(port: int, token: str, payment: int) -> str:
    status, data, _, _ = request(port, "GET", f"/api/v1/payments/{payment}",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return data.get("status", "") if status == 200 else f"http {status}"


def invariants(stack) -> dict:
    return json.loads(
        servers.run_meadow(stack["env"], "-m", "tests.chaos.world", "check", str(stack["world"]["initial"]))
    )


def wait_ready(port: int, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if request(port, "GET", "/readyz", timeout=5)[0] == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError("/readyz did not come back")


def test_postgres_restart_fails_fast_with_503_and_recovers(scale):
    port = scale["port"]
    wait_ready(port)
    load = Load(port=port, tokens=scale["world"]["tokens"], sku=scale["world"]["sku"])
    load.start()
    time.sleep(4)
    down_at = load.now()
    scale["pg"].stop()
    time.sleep(DOWN_SECONDS)
    scale["pg"].start()
    up_at = load.now()
    time.sleep(10)
    load.stop()
    during = [a for a in load.answers if down_at <= a.at <= up_at]
    after = [a for a in load.answers if a.at >= up_at + 3]
    summary = {**load.summary(), "down_at": round(down_at, 2), "up_at": round(up_at, 2),
               "answers_during": len(during), "503_during": sum(a.status == 503 for a in during)}  # fmt: skip
    report("postgres-restart", summary)
    # the outage was seen, and answered 503 — never a 500, never a dropped connection, never a hang
    assert summary["503_during"] > 0, summary
    assert not [a for a in load.answers if (a.status >= 500 and a.status != 503) or a.status == 0], summary
    assert max(a.seconds for a in during) < 10, (
        summary
    )  # the pool's timeout (3 s) + the connect timeout (3 s)
    # recovered by itself: everything after the restart (+3 s) succeeds (the pay form answers a 302)
    assert after and all(200 <= a.status < 400 for a in after), [a for a in after if a.status >= 400][:5]
    assert sum(a.action == "order" and a.status == 201 for a in after) > 0
    # no half-written order, payment or note
    time.sleep(3)  # the worker delivers the webhooks of the last payments
    state = invariants(scale)
    report("postgres-restart-invariants", state)
    assert state["ok"], state["problems"]
    assert state["paid"] > 0 and state["notes"] > 0


def test_redis_restart_keeps_the_web_serving(scale):
    port = scale["port"]
    wait_ready(port)
    load = Load(port=port, tokens=scale["world"]["tokens"], sku=scale["world"]["sku"], publish=False)
    token = scale["world"]["tokens"][0]
    payment, pay = payment_ready_to_pay(port, token, scale["world"]["sku"])
    load.start()
    time.sleep(3)
    down_at = load.now()
    scale["redis"].stop()
    time.sleep(1)
    paying: list[int] = []  # the buyer pays while Redis is down: its webhook tasks cannot be queued → spooled
    payer = threading.Thread(target=lambda: paying.append(pay()), daemon=True)
    payer.start()
    time.sleep(DOWN_SECONDS - 1)
    scale["redis"].start()
    up_at = load.now()
    recovered = time.monotonic()
    captured_after = None
    while time.monotonic() - recovered < 30:
        if payment_status(port, token, payment) == "succeeded":
            captured_after = time.monotonic() - recovered
            break
        time.sleep(0.2)
    time.sleep(max(0.0, 8 - (time.monotonic() - recovered)))
    load.stop()
    payer.join(timeout=30)
    paid_status = paying[0] if paying else None
    ready_after = wait_ready(port)
    summary = {**load.summary(), "down_at": round(down_at, 2), "up_at": round(up_at, 2),
               "ready_after_s": round(ready_after, 2), "pay_during_outage": paid_status,
               "captured_after_recovery_s": None if captured_after is None else round(captured_after, 2)}  # fmt: skip
    report("redis-restart", summary)
    # the payment made during the outage was recorded after it: its webhook was spooled, then re-sent
    assert paid_status == 302, summary
    logs = {"web": scale["web"].output()[-1500:], "worker": scale["worker"].output()[-1500:],
            "beat": (scale["folder"] / "beat.log").read_text(errors="replace")[-1500:]}  # fmt: skip
    assert captured_after is not None, (summary, logs)
    during = [a for a in load.answers if down_at <= a.at <= up_at]
    # the web kept answering while Redis was down (the first publish to fail holds the web's one sync thread
    # for Celery's publish retries, ~4 s, so fewer answers complete inside a 4 s outage than before) ...
    assert len(during) >= 5, summary
    assert all(200 <= a.status < 500 for a in load.answers), summary  # ... and never with a 5xx
    # bounded waits: a cache call ≤ MEADOW_REDIS_TIMEOUT; queuing a task (the pay form) ≤ Celery's publish retries
    assert max(a.seconds for a in load.answers) < 8, summary
    state = invariants(scale)
    assert state["ok"], state["problems"]


def kill_a_worker_mid_task(broker_url: str, worker: servers.Process, folder, **transport_options) -> dict:
    """Queue six probe tasks, SIGKILL the worker while it runs the first (3 s), start it again; every task must
    complete exactly once and the killed one run twice."""
    from celery import Celery

    from meadow.core.broker import register

    register()  # the embedded default's "sqlack+" URL
    folder.mkdir()
    os.chmod(folder, 0o777)
    client = Celery("chaos-client", broker=broker_url, set_as_current=False)
    client.conf.broker_transport_options = transport_options
    tokens = [f"t{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    for i, token in enumerate(tokens):  # the first takes 3 s: it is the one in hand when the worker dies
        client.send_task("tests.chaos.probe.probe", kwargs={"token": token, "seconds": 3 if i == 0 else 0.2,
                         "folder": str(folder)})  # fmt: skip
    deadline = time.monotonic() + 60
    while not (folder / f"{tokens[0]}.runs").exists():
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.05)
    time.sleep(0.5)
    worker.kill()  # SIGKILL, main process and children, in the middle of the task
    killed_at = time.monotonic()
    assert not (folder / f"{tokens[0]}.done").exists()
    worker.start()
    deadline = time.monotonic() + 60
    while not all((folder / f"{t}.done").exists() for t in tokens):
        assert time.monotonic() < deadline, (sorted(p.name for p in folder.iterdir()), worker.output())
        time.sleep(0.2)
    done_after = time.monotonic() - killed_at
    time.sleep(3)  # room for a wrong second delivery to show
    runs = {t: len((folder / f"{t}.runs").read_text().split()) for t in tokens}
    assert not list(folder.glob("*.dup")), runs  # completed exactly once
    assert runs[tokens[0]] == 2, runs  # the killed run, then the redelivered one
    return {"runs": runs, "all_done_after_s": round(done_after, 2)}


def test_a_worker_killed_mid_task_completes_it_once_after_restart(scale):
    result = kill_a_worker_mid_task(scale["redis"].url, scale["worker"], scale["folder"] / "probe")
    report("worker-kill", result)


def test_a_worker_killed_mid_task_on_the_embedded_default_completes_it_once_after_restart():
    """The embedded default: SQLite database, the ack-based SQLite broker (meadow.core.broker), the threads
    worker of the Procfile."""
    folder = servers.temp_folder("embedded")
    env = servers.meadow_env(folder / "data", MEADOW_BROKER_VISIBILITY_TIMEOUT="4")
    servers.run_meadow(env, "-m", "meadow", "migrate", "--no-input", "-v0")
    url = f"sqlack+sqlite:///{folder / 'data' / 'broker.sqlite3'}"
    worker = servers.worker(env, folder, "-I", "tests.chaos.probe", pool="threads", concurrency=2)
    worker.start()
    try:
        result = kill_a_worker_mid_task(url, worker, folder / "probe", connect_args={"timeout": 30})
        report("worker-kill-embedded", result)
    finally:
        worker.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


@pytest.fixture
def full_disk():
    """The embedded default (SQLite, tasks inline) with its media folder on a 3 MiB tmpfs."""
    folder = servers.temp_folder("disk")
    media = folder / "media"
    media.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(media)], capture_output=True
    )
    if mounted.returncode:
        pytest.fail(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}): run as root (CI does)")
    port = servers.free_port()
    env = servers.meadow_env(folder / "data", MEADOW_MEDIA_ROOT=str(media), MEADOW_TASKS_EAGER="true")
    servers.run_meadow(env, "-m", "meadow", "migrate", "--no-input", "-v0")
    world = json.loads(servers.run_meadow(env, "-m", "tests.chaos.world", "seed"))
    web = servers.web(env, port, folder)
    web.start()
    try:
        servers.wait_port(port, timeout=60)
        yield {"port": port, "env": env, "world": world, "media": media, "web": web}
    finally:
        web.stop()
        subprocess.run(["umount", str(media)], check=False)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_a_full_disk_while_uploading_is_a_clear_error_with_no_orphans(full_disk):
    port, token = full_disk["port"], full_disk["world"]["tokens"][0]
    image = jpeg_bytes(size=400)  # noise: its renditions are large, so the 3 MiB fill quickly
    answers = []
    for i in range(80):
        body, kind = multipart({"title": f"full {i}", "body": "disk"}, [("images", "p.jpg", image)] * 3)
        status, data, _, _ = request(port, "POST", "/api/v1/notes", body=body,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": kind})  # fmt: skip
        answers.append((status, data.get("error", {}).get("code")))
        if status == 503:
            break
    report("disk-full", {"published": sum(s == 201 for s, _ in answers), "last": answers[-1]})
    assert answers[-1][0] == 503 and answers[-1][1] == "storage_full", answers[-3:]
    assert {s for s, _ in answers[:-1]} == {201}, answers
    message = data["error"]["message"]
    assert "try again later" in message, message
    state = json.loads(servers.run_meadow(full_disk["env"], "-m", "tests.chaos.world", "check",
                                          str(full_disk["world"]["initial"])))  # fmt: skip
    assert state["ok"], state["problems"]  # every note has its rows and files, no stray file
    assert state["notes"] == len(answers) - 1
    # the web keeps serving reads on a full disk
    assert request(port, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})[0] == 200

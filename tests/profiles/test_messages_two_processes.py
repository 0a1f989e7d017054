"""Messages across two real web processes on the scale profile (issue #19): two uvicorn processes on the
suite's PostgreSQL database and the Redis channel layer; user A's socket on process 1, user B's on process 2. A
message sent through the API of one process reaches the socket on the other (and back); a ticket issued by one
process is redeemed once by the other; and a socket dropped while a stream of messages is being sent reconnects
to the *other* process naming its last seq and receives every message once, in seq order.

Runs in CI's PostgreSQL + Redis pass (.ci/run sets MEADOW_TEST_POSTGRES and MEADOW_TEST_REDIS); skipped on the
embedded default, where the in-memory channel layer is one process's by design."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from meadow.accounts.models import Follow
from meadow.accounts.services import _token_create
from meadow.messaging import services
from tests.chaos.servers import Process, free_port, meadow_env, wait_port, web
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.processes,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not (os.environ.get("MEADOW_TEST_POSTGRES") and os.environ.get("MEADOW_TEST_REDIS")),
        reason="scale profile only: set MEADOW_TEST_POSTGRES and MEADOW_TEST_REDIS (.ci/run does)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _database_url() -> str:
    """The suite's own test database (this worker's), which the servers share with the test."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def two_servers(tmp_path: Path):
    from django.conf import settings

    prefix = f"meadow-2p-{uuid.uuid4().hex[:8]}"
    servers: list[tuple[Process, int]] = []
    for n in (1, 2):
        folder = tmp_path / f"web{n}"
        folder.mkdir()
        env = meadow_env(
            folder,
            MEADOW_ENV="test",
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            MEADOW_CACHE_PREFIX=prefix,  # the two processes share cache and channel layer, apart from the suite
            MEADOW_TASKS_EAGER="true",
            MEADOW_DB_POOL_MAX="4",
        )
        port = free_port()
        process = web(env, port, folder)
        process.start()
        servers.append((process, port))
    try:
        for process, port in servers:
            try:
                wait_port(port, timeout=60)
            except TimeoutError:
                raise AssertionError(f"a web process did not start:\n{process.output()}") from None
        yield [port for _process, port in servers]
    finally:
        for process, _port in servers:
            process.stop()


def api(port: int, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def socket(port: int, token: str, *, after: str = "") -> ClientConnection:
    status, body = api(port, token, "POST", "/realtime/ticket")
    assert status == 201, body
    query = f"ticket={body['ticket']}" + (f"&after={after}" if after else "")
    return open_socket(port, query)


def open_socket(port: int, query: str) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{port}/ws/messages/?{query}", origin=f"http://127.0.0.1:{port}", open_timeout=20
    )


def next_message(ws: ClientConnection, timeout: float = 20) -> dict:
    while True:
        event = json.loads(ws.recv(timeout=timeout))
        if event["type"] == "message":
            return event["message"]


def test_a_message_sent_on_one_process_reaches_a_socket_on_the_other(two_servers):
    p1, p2 = two_servers
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    ta, tb = _token_create(user=a), _token_create(user=b)
    status, conversation = api(p1, ta, "POST", "/conversations", {"with": b.handle})
    assert status == 201, conversation
    cid = conversation["id"]

    with socket(p1, ta) as wa, socket(p2, tb) as wb:
        status, sent = api(
            p1, ta, "POST", f"/conversations/{cid}/messages", {"text": "你好 B", "client_id": "1"}
        )
        assert status == 201, sent
        got_b = next_message(wb)  # process 2's socket, sent through process 1
        assert got_b["text"] == "你好 B" and got_b["seq"] == 1 and got_b["sender"]["handle"] == a.handle
        assert next_message(wa)["seq"] == 1  # the sender's own socket too
        status, back = api(
            p2, tb, "POST", f"/conversations/{cid}/messages", {"text": "hi A", "client_id": "2"}
        )
        assert status == 201, back
        got_a = next_message(wa)  # and back: sent on process 2, received on process 1
        assert (got_a["text"], got_a["seq"], got_a["sender"]["handle"]) == ("hi A", 2, b.handle)
        assert next_message(wb)["seq"] == 2


def test_a_ticket_from_one_process_is_redeemed_once_by_the_other_and_not_for_someone_else(two_servers):
    p1, p2 = two_servers
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=b, followee=c)
    Follow.objects.create(follower=c, followee=b)
    conversation, _ = services.conversation_open(user=b, other=c)
    status, body = api(p1, _token_create(user=a), "POST", "/realtime/ticket")
    assert status == 201
    with open_socket(p2, f"ticket={body['ticket']}") as wa:
        assert json.loads(wa.recv(timeout=20))["type"] == "unread"
        # A's socket asks for B and C's conversation and is told it does not exist; B's message never reaches it
        wa.send(json.dumps({"type": "resume", "after": {str(conversation.pk): 0}}))
        assert json.loads(wa.recv(timeout=20))["code"] == "not_found"
        assert json.loads(wa.recv(timeout=20)) == {"type": "resumed"}
        services.message_send(sender=b, conversation=conversation, text="for C only", client_id="x")
        with pytest.raises(TimeoutError):
            wa.recv(timeout=1.0)
    with pytest.raises(InvalidStatus) as refused:
        open_socket(p1, f"ticket={body['ticket']}")  # used once already, on the other process
    assert refused.value.response.status_code == 403


def test_a_socket_dropped_mid_stream_resumes_on_the_other_process_once_and_in_order(two_servers):
    p1, p2 = two_servers
    a, b = UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)
    ta, tb = _token_create(user=a), _token_create(user=b)
    cid = api(p1, ta, "POST", "/conversations", {"with": b.handle})[1]["id"]
    total = 80
    failures: list[tuple[int, dict]] = []

    def stream() -> None:  # A sends through process 1, one after another, as fast as the server answers
        for i in range(1, total + 1):
            status, body = api(
                p1, ta, "POST", f"/conversations/{cid}/messages", {"text": f"m{i}", "client_id": str(i)}
            )
            if status != 201:
                failures.append((status, body))

    sender = threading.Thread(target=stream)
    with socket(p2, tb) as wb:
        sender.start()
        before = [next_message(wb) for _ in range(15)]
    # dropped (closed) in the middle of the stream
    seen = before[-1]["seq"]
    with socket(p1, tb, after=f"{cid}:{seen}") as again:  # back on the other process
        after = []
        while not after or after[-1]["seq"] < total:
            after.append(next_message(again))
        sender.join(timeout=60)
        with pytest.raises(TimeoutError):
            next_message(again, timeout=1.0)  # nothing doubled after the last one either
    assert failures == []
    assert [m["seq"] for m in before] == list(range(1, 16))
    assert [m["seq"] for m in after] == list(range(16, total + 1))  # nothing lost, nothing doubled, in order
    assert all(m["text"] == f"m{m['seq']}" for m in before + after)

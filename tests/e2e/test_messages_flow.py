"""Messages in two browsers at once, over a real WebSocket: a stranger's redirect is refused with its finding, a
request is accepted, messages, "typing…" and "Seen" arrive live without a reload, and a request is blocked — in
English, Chinese and Malay, at phone and desktop widths. Screenshots go to var/shots/.

The live test server speaks WSGI only, so this test serves the ASGI application (HTTP and WebSockets, what
uvicorn serves in every real profile) with uvicorn in a thread beside it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from meadow.messaging.models import Conversation, Message
from tests.e2e.conftest import DESKTOP, PHONE, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots"


@pytest.fixture
def sqlite_waits_for_locks(monkeypatch):
    """The test database on SQLite is in memory with a shared cache: a connection that meets another's table lock
    fails at once ("database table is locked") instead of waiting as a file database with a busy timeout does.
    Uvicorn runs each request and each socket's database work in threads of their own, so here a statement that
    meets a lock is retried for up to 10 s — the wait a real database does. PostgreSQL is left alone."""
    import sqlite3

    from django.db import connection
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    if connection.vendor != "sqlite":
        return

    def waiting(method):
        def run(self, *args, **kwargs):
            deadline = time.monotonic() + 10
            while True:
                try:
                    return method(self, *args, **kwargs)
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)

        return run

    monkeypatch.setattr(SQLiteCursorWrapper, "execute", waiting(SQLiteCursorWrapper.execute))
    monkeypatch.setattr(SQLiteCursorWrapper, "executemany", waiting(SQLiteCursorWrapper.executemany))


@pytest.fixture
def asgi_server(live_server, sqlite_waits_for_locks):
    import uvicorn

    from meadow.asgi import application

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="auto"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


def person(browser, server, viewport, handle: str, language: str):
    context = browser.new_context(viewport=viewport, locale="en-US", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, server, handle)  # the login page in English, then the person's language
    context.add_cookies([{"name": "meadow_language", "value": language, "url": server.url}])
    return context, page


def test_two_people_message_live(browser, asgi_server, page):
    viewport_name = page.viewport_name
    viewport = PHONE if viewport_name == "phone" else DESKTOP
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = lambda p, name: p.screenshot(path=str(SHOTS / f"{name}-{viewport_name}.png"), full_page=False)  # noqa: E731
    alice = UserFactory(handle=f"alice_{viewport_name}", display_name="Alice Tan")
    bob = UserFactory(handle=f"bob_{viewport_name}", display_name="Bob Lee")
    carol = UserFactory(handle=f"carol_{viewport_name}", display_name="Carol Lim")
    url = asgi_server.url
    ctx_a, a = person(browser, asgi_server, viewport, alice.handle, "en")
    ctx_b, b = person(browser, asgi_server, viewport, bob.handle, "zh-hans")
    try:
        # Alice, a stranger to Bob, opens a conversation from his profile: it is a request.
        a.goto(f"{url}/@{bob.handle}/")
        a.get_by_test_id("message-button").click()
        expect(a.get_by_test_id("dm-request-sent")).to_be_visible()
        assert Conversation.objects.get().state == "request"
        # A redirect to someone who has not accepted is refused, with its finding; nothing is delivered.
        a.get_by_test_id("dm-input").fill("add my wechat abc12345")
        a.get_by_test_id("dm-send").click()
        expect(a.get_by_test_id("dm-error")).to_be_visible()
        expect(a.get_by_test_id("dm-error").locator("mark")).not_to_have_count(0)
        shot(a, "dm-refused-en")
        assert not Message.objects.exists()
        a.get_by_test_id("dm-input").fill("Hi Bob, I love your cendol notes!")
        a.get_by_test_id("dm-send").click()
        expect(a.get_by_test_id("dm-message")).to_have_count(1)
        expect(a.get_by_test_id("dm-error")).to_be_hidden()

        # Bob's badge moves live on the page he has open; the message waits under Requests.
        b.goto(f"{url}/messages/")
        badge = b.locator("[data-messages-badge]:visible").first
        expect(badge).to_have_text("1")
        b.get_by_test_id("dm-tab-requests").click()
        expect(b.get_by_test_id("dm-row")).to_have_count(1)
        shot(b, "dm-requests-zh")
        b.get_by_test_id("dm-row").click()
        expect(b.get_by_test_id("dm-message")).to_have_text(["Hi Bob, I love your cendol notes!"])
        b.get_by_test_id("dm-accept").click()
        expect(b.get_by_test_id("dm-input")).to_be_visible()
        assert Conversation.objects.get().state == "active"

        # Alice's page learns of the acceptance and shows what follows live, without a reload.
        # (a generous wait: under a loaded CI machine the socket's event has taken longer than the default 5 s)
        expect(a.get_by_test_id("dm-request-sent")).to_have_count(0, timeout=20_000)
        b.get_by_test_id("dm-input").press_sequentially("谢谢", delay=50)
        expect(a.get_by_test_id("dm-typing")).to_be_visible()
        b.get_by_test_id("dm-send").click()
        expect(a.get_by_test_id("dm-message").last).to_have_text("谢谢")
        a.get_by_test_id("dm-input").fill("See you at the pasar malam")
        a.get_by_test_id("dm-send").click()
        expect(b.get_by_test_id("dm-message").last).to_have_text("See you at the pasar malam")
        # Bob's open window read it: Alice sees "Seen".
        expect(a.get_by_test_id("dm-seen")).to_be_visible()
        # Unsend within two minutes: both windows show "message withdrawn" in their own language.
        a.get_by_test_id("dm-input").fill("oops, wrong chat")
        a.get_by_test_id("dm-send").click()
        expect(b.get_by_test_id("dm-message").last).to_have_text("oops, wrong chat")
        a.get_by_test_id("dm-message").last.get_by_test_id("dm-unsend").click()
        expect(a.get_by_test_id("dm-message").last).to_contain_text("Message withdrawn")
        expect(b.get_by_test_id("dm-message").last).to_contain_text("消息已撤回")
        shot(a, "dm-thread-en")
        shot(b, "dm-thread-zh")
        assert list(Message.objects.order_by("seq").values_list("seq", "text")) == [
            (1, "Hi Bob, I love your cendol notes!"),
            (2, "谢谢"),
            (3, "See you at the pasar malam"),
            (4, ""),
        ]
    finally:
        ctx_a.close()
        ctx_b.close()

    # Carol (in Malay) sends Bob a request; Bob blocks her from it and it is gone for both.
    ctx_c, c = person(browser, asgi_server, viewport, carol.handle, "ms")
    ctx_b, b = person(browser, asgi_server, viewport, bob.handle, "zh-hans")
    try:
        c.goto(f"{url}/@{bob.handle}/")
        c.get_by_test_id("message-button").click()
        c.get_by_test_id("dm-input").fill("Selamat pagi!")
        c.get_by_test_id("dm-send").click()
        expect(c.get_by_test_id("dm-message")).to_have_count(1)
        shot(c, "dm-thread-ms")
        b.goto(f"{url}/messages/?box=requests")
        b.get_by_test_id("dm-row").click()
        b.get_by_test_id("dm-block").click()
        expect(b.get_by_test_id("dm-row")).to_have_count(1)  # only Alice's conversation is left
        c.goto(f"{url}/messages/")
        expect(c.get_by_test_id("dm-row")).to_have_count(0)
        shot(c, "dm-inbox-ms")
        c.goto(f"{url}/@{bob.handle}/")
        assert c.get_by_test_id("message-button").count() == 0
    finally:
        ctx_c.close()
        ctx_b.close()

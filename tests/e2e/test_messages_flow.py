"""Messages in two browsers at once, over a real WebSocket: a stranger's redirect is refused with its finding and
rewrite hint, a request is accepted, messages, "typing…" and "Seen" arrive live without a reload, and a request is
blocked — each run wholly in one language (English, Chinese, Malay) at phone and desktop widths, asserting the words
a person sees in it. Screenshots (the ``shot`` fixture) go to test-results/screens/.

Nothing waits on the clock: each step waits for what the person would see, and before a step that needs live
events the test waits until that page's socket is open (``body[data-messages-socket=open]``); what a socket
opened late missed (the acceptance, "Seen") the page fetches when it opens.

The live test server speaks WSGI only, so this test serves the ASGI application (HTTP and WebSockets, what
uvicorn serves in every real profile) with uvicorn in a thread beside it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from meadow.messaging.models import Conversation, Message
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


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
    from meadow.messaging.consumers import WS_MAX_SIZE

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="auto",
        ws_max_size=WS_MAX_SIZE,  # as the Procfiles set it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    # The moderation engine is built on its first check (seconds on a loaded machine): build it now, in this
    # process (uvicorn's thread shares it), so the first refused message does not wait for it.
    from meadow.moderation.services import moderation_check

    moderation_check(text="warm", field="dm")
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    # wait for the sockets' last database work (presence on disconnect) before the database is flushed
    thread.join(timeout=60)
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(autouse=True)
def patient():
    """Two browsers, a WebSocket and a server in one process on a loaded machine: actions and assertions wait up
    to 30 s for what should appear (never a fixed sleep), then the suite's 15 s again."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=30_000)


# What a person sees, in each language (the .po files' translations, written out: an untranslated label fails).
WORDS = {
    "en": {
        "send": "Send",
        "placeholder": "Message…",
        "refused": "This message was not sent: rewrite “wechat”.",
        "finding": "Redirect off the platform",
        "hint": "contact details and links to other platforms are not allowed",
        "waiting": "Your message request is waiting. You can send 2 messages until it is accepted.",
        "requests": "Requests",
        "banner": "Alice Tan wants to send you a message. They won't know you've seen it until you accept.",
        "accept": "Accept",
        "block": "Block",
        "typing": "Bob Lee is typing…",
        "seen": "Seen",
        "unsend": "Unsend",
        "withdrawn": "Message withdrawn",
        "blocked": "@{handle} is blocked.",
        "empty": "No messages yet.",
    },
    "zh-hans": {
        "send": "发送",
        "placeholder": "发私信…",
        "refused": "消息未发送：请修改 “wechat”。",
        "finding": "导流到站外",
        "hint": "不允许留联系方式或其他平台的链接",
        "waiting": "你的私信请求等待对方接受，接受前你最多可发送 2 条消息。",
        "requests": "请求",
        "banner": "Alice Tan 想给你发私信。在你接受之前，对方不会知道你已看过。",
        "accept": "同意",
        "block": "拉黑",
        "typing": "Bob Lee 正在输入…",
        "seen": "已读",
        "unsend": "撤回",
        "withdrawn": "消息已撤回",
        "blocked": "已拉黑 @{handle}。",
        "empty": "暂无消息。",
    },
    "ms": {
        "send": "Hantar",
        "placeholder": "Mesej…",
        "refused": "Mesej ini tidak dihantar: tulis semula “wechat”.",
        "finding": "Mengalih ke luar platform",
        "hint": "butiran hubungan dan pautan ke platform lain tidak dibenarkan",
        "waiting": "Permintaan mesej anda sedang menunggu. Anda boleh menghantar 2 mesej sehingga ia diterima.",
        "requests": "Permintaan",
        "banner": (
            "Alice Tan ingin menghantar mesej kepada anda. "
            "Mereka tidak akan tahu anda telah melihatnya sehingga anda menerima."
        ),
        "accept": "Terima",
        "block": "Sekat",
        "typing": "Bob Lee sedang menaip…",
        "seen": "Dilihat",
        "unsend": "Tarik balik",
        "withdrawn": "Mesej ditarik balik",
        "blocked": "@{handle} telah disekat.",
        "empty": "Belum ada mesej.",
    },
}


def person(browser, server, viewport, handle: str, language: str):
    context = browser.new_context(viewport=viewport, locale="en-US", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, server, handle, language)
    return context, page


def sign_in(page, server, handle: str, language: str) -> None:
    login(page, server, handle)  # the login page in English, then the person's language
    page.context.add_cookies([{"name": "meadow_language", "value": language, "url": server.url}])


def live(page) -> None:
    """Wait until the page's messages socket is open: live events reach it from now on."""
    expect(page.locator("body")).to_have_attribute("data-messages-socket", "open")


@pytest.mark.parametrize("language", ["en", "zh-hans", "ms"])
def test_two_people_message_live(browser, asgi_server, page, shot, language):
    words = WORDS[language]
    tag = f"{page.viewport_name}-{language}"
    viewport = page.viewport_size
    alice = UserFactory(handle=f"alice_{tag.replace('-', '_')}", display_name="Alice Tan")
    bob = UserFactory(handle=f"bob_{tag.replace('-', '_')}", display_name="Bob Lee")
    carol = UserFactory(handle=f"carol_{tag.replace('-', '_')}", display_name="Carol Lim")
    url = asgi_server.url
    a = page  # Alice is the test's own page; Bob and Carol get browser contexts of their own
    a.set_default_timeout(30_000)
    sign_in(a, asgi_server, alice.handle, language)
    ctx_b, b = person(browser, asgi_server, viewport, bob.handle, language)
    try:
        # Alice, a stranger to Bob, opens a conversation from his profile: it is a request.
        a.goto(f"{url}/@{bob.handle}/")
        a.get_by_test_id("message-button").click()
        expect(a.get_by_test_id("dm-request-sent")).to_have_text(words["waiting"])
        expect(a.get_by_test_id("dm-send")).to_have_text(words["send"])
        expect(a.get_by_test_id("dm-input")).to_have_attribute("placeholder", words["placeholder"])
        assert Conversation.objects.get().state == "request"
        # A redirect to someone who has not accepted is refused, with its finding and how to rewrite it; nothing
        # is delivered and the text stays in the box.
        a.get_by_test_id("dm-input").fill("add my wechat abc12345")
        a.get_by_test_id("dm-send").click()
        error = a.get_by_test_id("dm-error")
        expect(error).to_be_visible()
        expect(error.locator("p")).to_have_text(words["refused"])
        expect(error.locator("mark")).to_have_text(["wechat"])
        expect(error.locator("li")).to_contain_text(words["finding"])
        expect(error.locator("li")).to_contain_text(words["hint"])
        expect(a.get_by_test_id("dm-input")).to_have_value("add my wechat abc12345")
        shot(f"dm-refused-{language}")
        assert not Message.objects.exists()
        a.get_by_test_id("dm-input").fill("Hi Bob, I love your cendol notes!")
        a.get_by_test_id("dm-send").click()
        expect(a.get_by_test_id("dm-message")).to_have_count(1)
        expect(error).to_be_hidden()
        live(a)

        # Bob's badge moves live on the page he has open; the message waits under Requests.
        b.goto(f"{url}/messages/")
        expect(b.locator("[data-messages-badge]:visible").first).to_have_text("1")
        expect(b.get_by_test_id("dm-tab-requests")).to_contain_text(words["requests"])
        b.get_by_test_id("dm-tab-requests").click()
        expect(b.get_by_test_id("dm-row")).to_have_count(1)
        # the tab's count sits beside its label, and nothing widens the page past the screen
        tab, count = (
            b.get_by_test_id("dm-tab-requests"),
            b.get_by_test_id("dm-tab-requests").locator(".dot-count"),
        )
        expect(count).to_have_text("1")
        inside, right = tab.bounding_box(), count.bounding_box()
        assert inside["x"] <= right["x"] and right["x"] + right["width"] <= inside["x"] + inside["width"] + 1
        assert b.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shot(f"dm-requests-{language}", of=b)
        b.get_by_test_id("dm-row").click()
        expect(b.get_by_test_id("dm-message")).to_have_text(["Hi Bob, I love your cendol notes!"])
        expect(b.get_by_test_id("dm-request").locator("p")).to_have_text(words["banner"])
        expect(b.get_by_test_id("dm-accept")).to_have_text(words["accept"])
        expect(b.get_by_test_id("dm-block")).to_have_text(words["block"])
        shot(f"dm-request-{language}", of=b)

        # Alice starts writing; Bob accepts. Her page learns of it live — without a reload, her draft stays.
        a.get_by_test_id("dm-input").fill("See you at the pasar malam")
        b.get_by_test_id("dm-accept").click()
        expect(b.get_by_test_id("dm-input")).to_be_visible()
        assert Conversation.objects.get().state == "active"
        expect(a.get_by_test_id("dm-request-sent")).to_have_count(0)
        expect(a.get_by_test_id("dm-input")).to_have_value("See you at the pasar malam")

        live(a)
        live(b)
        b.get_by_test_id("dm-input").press_sequentially("谢谢", delay=50)
        expect(a.get_by_test_id("dm-typing")).to_have_text(words["typing"])
        b.get_by_test_id("dm-send").click()
        expect(a.get_by_test_id("dm-message").last).to_have_text("谢谢")
        # Alice sends her draft with Enter, twice in a row (an impatient key): it is sent once.
        a.get_by_test_id("dm-input").press("Enter")
        a.get_by_test_id("dm-input").press("Enter")
        expect(b.get_by_test_id("dm-message").last).to_have_text("See you at the pasar malam")
        expect(a.get_by_test_id("dm-input")).to_have_value("")
        # Bob's open window read it: Alice sees "Seen" in her language.
        expect(a.get_by_test_id("dm-seen")).to_have_text(words["seen"])
        expect(a.get_by_test_id("dm-seen")).to_be_visible()
        # Unsend within two minutes: both windows show "message withdrawn".
        a.get_by_test_id("dm-input").fill("oops, wrong chat")
        a.get_by_test_id("dm-send").click()
        expect(b.get_by_test_id("dm-message").last).to_have_text("oops, wrong chat")
        unsend = a.get_by_test_id("dm-message").last.get_by_test_id("dm-unsend")
        expect(unsend).to_have_text(words["unsend"])
        shot(f"dm-thread-before-unsend-{language}")
        unsend.click()
        expect(a.get_by_test_id("dm-message").last).to_contain_text(words["withdrawn"])
        expect(b.get_by_test_id("dm-message").last).to_contain_text(words["withdrawn"])
        shot(f"dm-thread-{language}")
        shot(f"dm-thread-other-{language}", of=b)
        assert list(Message.objects.order_by("seq").values_list("seq", "text")) == [
            (1, "Hi Bob, I love your cendol notes!"),
            (2, "谢谢"),
            (3, "See you at the pasar malam"),
            (4, ""),
        ]
    finally:
        ctx_b.close()

    # Carol sends Bob a request; Bob blocks her from it and it is gone for both.
    ctx_c, c = person(browser, asgi_server, viewport, carol.handle, language)
    ctx_b, b = person(browser, asgi_server, viewport, bob.handle, language)
    try:
        c.goto(f"{url}/@{bob.handle}/")
        c.get_by_test_id("message-button").click()
        c.get_by_test_id("dm-input").fill("Selamat pagi! 早上好 👋 مرحبا")
        c.get_by_test_id("dm-send").click()
        expect(c.get_by_test_id("dm-message").locator(".dm-bubble")).to_have_text(
            ["Selamat pagi! 早上好 👋 مرحبا"]
        )
        b.goto(f"{url}/messages/?box=requests")
        b.get_by_test_id("dm-row").click()
        b.get_by_test_id("dm-block").click()
        expect(b.locator(".flash")).to_contain_text(words["blocked"].format(handle=carol.handle))
        expect(b.get_by_test_id("dm-row")).to_have_count(1)  # only Alice's conversation is left
        shot(f"dm-blocked-{language}", of=b)
        c.goto(f"{url}/messages/")
        expect(c.get_by_test_id("dm-row")).to_have_count(0)
        expect(c.locator(".empty-feed h2")).to_have_text(words["empty"])
        shot(f"dm-inbox-empty-{language}", of=c)
        c.goto(f"{url}/@{bob.handle}/")
        expect(c.get_by_test_id("message-button")).to_have_count(0)
    finally:
        ctx_c.close()
        ctx_b.close()


def test_a_long_paste_is_refused_with_its_reason_and_kept(asgi_server, page, shot):
    """A pasted text is never cut by the browser: 2,500 characters stay in the box and the server's reason shows
    (in Malay here); 1,500 emoji — 1,500 characters as a person counts them, 3,000 UTF-16 units — are sent whole.
    (The box's maxlength cut them silently to 2,000 characters and to 500 emoji.)"""
    from meadow.accounts.models import Follow
    from meadow.messaging import services

    aminah = UserFactory(display_name="Aminah")
    badrul = UserFactory(display_name="Badrul")
    Follow.objects.create(follower=aminah, followee=badrul)
    Follow.objects.create(follower=badrul, followee=aminah)
    conversation, _ = services.conversation_open(user=aminah, other=badrul)
    page.set_default_timeout(30_000)
    sign_in(page, asgi_server, aminah.handle, "ms")
    page.goto(f"{asgi_server.url}/messages/{conversation.pk}/")
    box = page.get_by_test_id("dm-input")
    box.fill("x" * 2500)
    expect(box).to_have_value("x" * 2500)
    page.get_by_test_id("dm-send").click()
    expect(page.get_by_test_id("dm-error")).to_have_text("Mesej mempunyai paling banyak 2000 aksara.")
    expect(box).to_have_value("x" * 2500)
    shot("dm-too-long-ms")
    assert not Message.objects.exists()
    emoji = "😀" * 1500
    box.fill(emoji)
    page.get_by_test_id("dm-send").click()
    expect(page.get_by_test_id("dm-message")).to_have_count(1)
    expect(box).to_have_value("")
    assert Message.objects.get().text == emoji


def test_offline_a_send_fails_keeps_its_text_and_a_retry_stores_it_once(asgi_server, page, shot):
    """Offline, a send says it was not sent (in Chinese here) and keeps the text; back online, sending it again
    stores it once. Leaving for the inbox and coming back with the browser's Back button shows it."""
    from meadow.accounts.models import Follow
    from meadow.messaging import services

    mei = UserFactory(display_name="Mei")
    tan = UserFactory(display_name="Tan")
    Follow.objects.create(follower=mei, followee=tan)
    Follow.objects.create(follower=tan, followee=mei)
    conversation, _ = services.conversation_open(user=mei, other=tan)
    page.set_default_timeout(30_000)
    sign_in(page, asgi_server, mei.handle, "zh-hans")
    page.goto(f"{asgi_server.url}/messages/{conversation.pk}/")
    live(page)
    box = page.get_by_test_id("dm-input")
    box.fill("明天见 👋")
    page.context.set_offline(True)
    page.get_by_test_id("dm-send").click()
    expect(page.get_by_test_id("dm-error")).to_have_text("发送失败，请重试。")
    expect(box).to_have_value("明天见 👋")
    shot("dm-offline-zh")
    page.context.set_offline(False)
    page.get_by_test_id("dm-send").click()
    expect(page.get_by_test_id("dm-message")).to_have_count(1)
    expect(page.get_by_test_id("dm-error")).to_be_hidden()
    assert list(Message.objects.values_list("text", flat=True)) == ["明天见 👋"]
    page.goto(f"{asgi_server.url}/messages/")
    expect(page.get_by_test_id("dm-row")).to_have_count(1)
    page.go_back()
    expect(page.get_by_test_id("dm-message").locator(".dm-bubble")).to_have_text(["明天见 👋"])


def test_an_admin_renames_a_group_and_a_member_sees_it_live_in_their_language(browser, asgi_server, page):
    from meadow.accounts.models import Follow as FollowModel
    from meadow.messaging import services

    admin = UserFactory(display_name="Alice Tan")
    b, c = UserFactory(display_name="Bob Lee"), UserFactory()
    for p in (b, c):
        FollowModel.objects.create(follower=p, followee=admin)
    group = services.group_create(user=admin, members=[b, c], name="Hiking club")
    context_b, page_b = person(browser, asgi_server, page.viewport_size, b.handle, "ms")
    page_b.goto(f"{asgi_server.url}/messages/{group.pk}/")
    live(page_b)
    expect(page_b.get_by_test_id("dm-group-rename")).to_have_count(0)  # not an admin
    sign_in(page, asgi_server, admin.handle, "en")
    page.goto(f"{asgi_server.url}/messages/{group.pk}/")
    page.get_by_test_id("dm-members").locator("summary").click()
    page.get_by_test_id("dm-group-rename-input").fill("Trail team")
    # the form's own answer and the page's reload on the live "renamed" event may both navigate (the second aborts
    # the first): wait for what the admin sees, not for one navigation
    page.get_by_test_id("dm-group-rename").click()
    expect(page.get_by_test_id("dm-group-name")).to_contain_text("Trail team")
    expect(page.get_by_test_id("dm-system")).to_have_text("Alice Tan renamed the group to “Trail team”")
    # the member's open page follows at once, in Malay
    expect(page_b.get_by_test_id("dm-group-name")).to_contain_text("Trail team")
    expect(page_b.get_by_test_id("dm-system")).to_have_text(
        "Alice Tan menukar nama kumpulan kepada “Trail team”"
    )
    context_b.close()

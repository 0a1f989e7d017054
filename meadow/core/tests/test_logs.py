"""Structured logs: one JSON line per request with a request id (the caller's when valid), returned in the
response and carried into the tasks the request queues."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest
import structlog
from django.test import Client

from meadow.core.logs import formatter

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """Every line the ``meadow`` loggers write, through the production JSON formatter, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("meadow")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _requests(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["event"] == "request"]


@pytest.mark.django_db
def test_one_json_line_per_request_with_the_callers_request_id_and_user(log_lines, api_for, user):
    response = api_for(user).get("/api/v1/me", HTTP_X_REQUEST_ID="edge-7f3a.01:b")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-7f3a.01:b"
    [line] = _requests(log_lines())
    assert line["request_id"] == "edge-7f3a.01:b"
    assert line["method"] == "GET" and line["path"] == "/api/v1/me" and line["status"] == 200
    assert line["user_id"] == user.pk
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_anonymous_request_without_an_id_gets_a_new_one_each_time(log_lines):
    client = Client()
    first = client.get("/api/v1/me?token=secret-in-query")
    second = client.get("/api/v1/me")
    assert first.status_code == second.status_code == 401
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(HEX_ID.fullmatch(i) for i in ids) and ids[0] != ids[1]
    lines = _requests(log_lines())
    assert [line["request_id"] for line in lines] == ids
    assert [line["user_id"] for line in lines] == [None, None]
    assert lines[0]["path"] == "/api/v1/me"  # the query string (tokens, search terms) is never logged
    assert "secret-in-query" not in json.dumps(lines)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    ["has space", "line\nbreak", "x" * 129, "-leading-dash", '{"json": 1}', "ünïcode"],
)
def test_an_invalid_request_id_is_replaced_not_echoed(log_lines, bad):
    response = Client().get("/api/v1/me", HTTP_X_REQUEST_ID=bad)
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    [line] = _requests(log_lines())
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_session_page_request_logs_the_user_and_keeps_the_id_on_errors(log_lines, user):
    client = Client()
    client.force_login(user)
    page = client.get("/", HTTP_X_REQUEST_ID="page-1")
    missing = client.get("/api/v1/notes/999999999", HTTP_X_REQUEST_ID="missing-1")
    assert page["X-Request-ID"] == "page-1" and missing["X-Request-ID"] == "missing-1"
    by_id = {line["request_id"]: line for line in _requests(log_lines())}
    assert by_id["page-1"]["user_id"] == user.pk and by_id["page-1"]["status"] == page.status_code
    assert by_id["missing-1"]["status"] == missing.status_code >= 400


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_task_published_during_a_request_carries_its_id_in_a_header():
    from meadow.celery import app

    queue = f"meadow-test-logs-{uuid.uuid4().hex[:8]}"
    structlog.contextvars.bind_contextvars(request_id="req-from-web")
    try:
        with app.connection_for_write() as conn:
            app.send_task("meadow.core.tasks.ping", kwargs={"token": "t"}, queue=queue, connection=conn)
            with conn.SimpleQueue(queue) as simple:
                message = simple.get(timeout=5)
                message.ack()
    finally:
        structlog.contextvars.clear_contextvars()
    assert message.headers["meadow_request_id"] == "req-from-web"


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_task_outside_a_request_gets_no_request_id_header():
    from meadow.celery import app

    queue = f"meadow-test-logs-{uuid.uuid4().hex[:8]}"
    structlog.contextvars.clear_contextvars()
    with app.connection_for_write() as conn:
        app.send_task("meadow.core.tasks.ping", kwargs={"token": "t"}, queue=queue, connection=conn)
        with conn.SimpleQueue(queue) as simple:
            message = simple.get(timeout=5)
            message.ack()
    assert "meadow_request_id" not in message.headers


def test_task_log_lines_carry_the_request_id_from_the_header(log_lines):
    from meadow.core.tasks import ping

    structlog.contextvars.clear_contextvars()
    ping.apply(kwargs={"token": "t"}, headers={"meadow_request_id": "req-42"})
    task_lines = [line for line in log_lines() if line["logger"] == "meadow.task"]
    assert [line["event"] for line in task_lines] == ["task started", "task finished"]
    assert {line["request_id"] for line in task_lines} == {"req-42"}
    assert {line["task"] for line in task_lines} == {"meadow.core.tasks.ping"}
    assert task_lines[1]["state"] == "SUCCESS"
    assert structlog.contextvars.get_contextvars() == {}  # the task's context is gone after it ran


def test_an_inline_task_leaves_the_requests_context_as_it_was(log_lines):
    from meadow.core.tasks import ping

    structlog.contextvars.bind_contextvars(request_id="outer")
    try:
        ping.apply(kwargs={"token": "t"})
        assert structlog.contextvars.get_contextvars() == {"request_id": "outer"}
    finally:
        structlog.contextvars.clear_contextvars()
    assert {line["request_id"] for line in log_lines() if line["logger"] == "meadow.task"} == {"outer"}


def test_console_format_is_readable_and_carries_the_id():
    record = logging.LogRecord("meadow.request", logging.INFO, __file__, 1, "request", None, None)
    record.status = 200
    structlog.contextvars.bind_contextvars(request_id="abc")
    try:
        text = formatter("console").format(record)
    finally:
        structlog.contextvars.clear_contextvars()
    assert "request" in text and "request_id=abc" in text and "status=200" in text
    assert not text.startswith("{")


def test_log_format_setting_is_validated(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django, os; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "meadow.settings",
            "MEADOW_LOG_FORMAT": "xml",
            "MEADOW_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "MEADOW_LOG_FORMAT must be json or console" in result.stderr

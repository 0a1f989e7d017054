"""Structured logs: one line per request with a request id, carried into the Celery tasks the request queues.

* ``RequestLogMiddleware`` (first in ``MIDDLEWARE``) takes the id from ``X-Request-ID`` when it is a sane token,
  else makes one, binds it to the context (structlog's contextvars, so every log line of the request carries it),
  returns it in the ``X-Request-ID`` response header and logs one ``request`` line: method, path (no query
  string), status, duration in milliseconds, user id.
* A task published while an id is bound gets it in the message header ``meadow_request_id``; the worker binds it
  again (with the task's name and id) for the task's run, so its log lines carry it too.
* Format: ``MEADOW_LOG_FORMAT=json`` (one JSON object per line, production's default) or ``console``
  (development's). Every standard ``logging`` logger goes through the same formatter.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "meadow_request_id"
# Letters, digits and . _ : - only (no spaces or control characters to forge log lines with), 1–128 long.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
FORMATS = ("json", "console")

request_logger = logging.getLogger("meadow.request")
task_logger = logging.getLogger("meadow.task")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is valid, else a new random one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter(log_format: str = "json") -> logging.Formatter:
    """The logging formatter for ``LOGGING`` (``{"()": "meadow.core.logs.formatter", "log_format": …}``)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_SHARED_PROCESSORS, processors=final)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            user = getattr(request, "user", None)
            request_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            structlog.contextvars.clear_contextvars()


# --- Celery: the request id travels in a message header ------------------------------------------------------
def on_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _header(task: Any, name: str) -> Any:
    request = task.request
    value = getattr(request, name, None)  # a worker merges message headers into the request
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(name)  # an eager call keeps them under ``headers``
    return value


def on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None:
        return
    context: dict[str, Any] = {"task": task.name, "task_id": task_id}
    request_id = _header(task, TASK_HEADER) or current_request_id()
    if request_id:
        context["request_id"] = request_id_from(str(request_id))
    task.request.meadow_log_tokens = structlog.contextvars.bind_contextvars(**context)
    task.request.meadow_started = time.perf_counter()
    task_logger.info("task started")


def on_task_postrun(task: Any = None, state: str | None = None, **_: Any) -> None:
    if task is None:
        return
    started = getattr(task.request, "meadow_started", None)
    task_logger.info(
        "task finished",
        extra={
            "state": state,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        },
    )
    tokens = getattr(task.request, "meadow_log_tokens", None)
    if tokens:
        structlog.contextvars.reset_contextvars(
            **tokens
        )  # an eager task leaves its request's context as it was

"""Meadow's own Prometheus metrics (beside django-prometheus's HTTP, cache and migration metrics), and the
``/metrics`` endpoint, which is never public.

Access: a client address in ``MEADOW_METRICS_ALLOW`` (comma-separated addresses or networks, default loopback
only), or ``Authorization: Bearer <MEADOW_METRICS_TOKEN>`` when that is set. Several processes (uvicorn
``--workers``, Celery workers): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the processes of a
host, and ``/metrics`` then adds up all of them (prometheus_client's multiprocess mode).

Counters move after the transaction that did the work commits (``count_on_commit``), so a rolled-back order is
never counted.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from prometheus_client import Counter, Histogram

NOTES_PUBLISHED = Counter("meadow_notes_published_total", "Notes published (drafts not counted).")
MODERATION_VERDICTS = Counter(
    "meadow_moderation_verdicts_total",
    "Text moderation verdicts, by verdict and by the category of each hit ('none' for a clean pass).",
    ["verdict", "category"],
)
FEED_SECONDS = Histogram(
    "meadow_feed_seconds",
    "Time to build one page of a feed.",
    ["feed"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TASK_LAG_SECONDS = Histogram(
    "meadow_task_lag_seconds",
    "Time from queueing a task to a worker starting it.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)
POOL_EVALUATIONS = Counter(
    "meadow_pool_evaluations_total", "Traffic-pool evaluations, by outcome.", ["outcome"]
)
ORDERS_PLACED = Counter("meadow_orders_placed_total", "Orders placed (one per shop in a checkout).")
PAYMENTS = Counter("meadow_payments_total", "Payment webhooks applied, by outcome.", ["outcome"])


def count_on_commit(counter: Any, amount: float = 1, **labels: str) -> None:
    """Increment after the current transaction commits (at once outside one)."""
    target = counter.labels(**labels) if labels else counter
    if not amount:
        return
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: target.inc(amount))
    else:  # the write is already committed (or there is no transaction to wait for): count now
        target.inc(amount)


@contextmanager
def timed(histogram: Any, **labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(**labels).observe(time.perf_counter() - started)


def moderation_verdict_count(*, verdict: str, categories: set[str]) -> None:
    for category in sorted(categories) or ["none"]:
        MODERATION_VERDICTS.labels(verdict=verdict, category=category).inc()


# --- access to /metrics -------------------------------------------------------------------------------------------
def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def metrics_allowed(*, client_ip: str, authorization: str, allow: str, token: str) -> bool:
    if (
        token
        and authorization.startswith("Bearer ")
        and hmac.compare_digest(authorization[7:].strip().encode(), token.encode())
    ):
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(allow))


# --- Celery: task lag ---------------------------------------------------------------------------------------------
PUBLISHED_AT_HEADER = "meadow_published_at"


def on_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:
        headers.setdefault(PUBLISHED_AT_HEADER, time.time())


def on_task_prerun(task: Any = None, **_: Any) -> None:
    """Observe queue → start time on a worker (an inline task has no queue)."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    published = getattr(task.request, PUBLISHED_AT_HEADER, None)
    if published is None and isinstance(getattr(task.request, "headers", None), dict):
        published = task.request.headers.get(PUBLISHED_AT_HEADER)
    try:
        lag = max(0.0, time.time() - float(published))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    TASK_LAG_SECONDS.labels(task=task.name).observe(lag)

"""Health and readiness probes for load balancers and orchestrators: unauthenticated, cheap, never rate-limited
and kept out of the access log when they succeed.

``/healthz`` — the process is up (touches nothing else). ``/readyz`` — the database, the cache and the broker
answer; otherwise 503 naming the one that failed (``{"error": {"code", "message", "field"}}`` plus ``checks``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_PATHS = ("/healthz", "/readyz")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("unexpected answer")


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, 1, 5)
    found = cache.get(key)
    cache.delete(key)
    if found != 1:
        raise RuntimeError("the cache did not keep a value")


def _broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run inline: no broker to reach
    from meadow.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        conn.default_channel  # noqa: B018  (opens the channel: the SQLite transport creates its tables here)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache, "broker": _broker}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logging.getLogger(__name__).warning("readyz: %s unavailable: %s", name, exc)
            checks[name] = "unavailable"
    failed = [name for name, state in checks.items() if state != "ok"]
    if not failed:
        return JsonResponse({"status": "ok", "checks": checks})
    body = {
        "error": {
            "code": "not_ready",
            "message": _("Not ready: %(names)s unavailable.") % {"names": ", ".join(failed)},
            "field": failed[0],
        },
        "checks": checks,
    }
    return JsonResponse(body, status=503)


class ProbeAccessFilter(logging.Filter):
    """Drops the access-log lines of successful probes (uvicorn logs every request; a probe hits every few
    seconds). Failed probes are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 5:
            path, status = str(args[2]).split("?", 1)[0], args[4]
            if path in PROBE_PATHS and isinstance(status, int) and status < 400:
                return False
        return True

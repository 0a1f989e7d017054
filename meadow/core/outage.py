"""Answers while a backing service is down: the database unreachable (PostgreSQL restarting, the connection pool
exhausted) becomes a quick 503 with ``Retry-After`` — the API's JSON error shape, or a plain page — instead of a
500 traceback page; the next request after the database is back simply works (Django opens a new connection).

Three places catch it, because a database error can surface in three layers: the API's exception handler
(meadow.api), ``OutageMiddleware.process_exception`` for page views, and ``handler500`` for what a middleware
raised (the session saved after the view, for example). The page never touches the database or the session."""

from __future__ import annotations

import logging
import sys
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

from meadow.core.errors import StorageFull

log = logging.getLogger("meadow.outage")
RETRY_AFTER_SECONDS = 5
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
_last_logged = 0.0


def is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _log_outage(exc: BaseException) -> None:
    """One warning line per process every 10 s at most: an outage fails every request, the log stays readable."""
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= 10:
        _last_logged = now
        log.warning(
            "database unavailable, answering 503: %s", str(exc).strip().splitlines()[0] if str(exc) else exc
        )


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    _log_outage(exc)
    message = _("The service is briefly unavailable. Please try again in a few seconds.")
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(
            {"error": {"code": "service_unavailable", "message": message, "field": None}}, status=503
        )
    else:
        response = HttpResponse(render_to_string("core/unavailable.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def storage_full_response(request: HttpRequest, exc: StorageFull) -> HttpResponse:
    """An upload the media storage could not take (disk full), on a page that does not show it in its form."""
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(exc.as_dict(), status=exc.status)
    else:
        response = HttpResponse(
            render_to_string("core/unavailable.html", {"message": str(exc.message)}), status=exc.status
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS * 12)
    return response


class OutageMiddleware:
    """Turns a database outage (or a full media disk) raised by a page view into the 503 answer, whatever DEBUG
    says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return database_unavailable_response(request, exception)
        if isinstance(exception, StorageFull):
            return storage_full_response(request, exception)
        return None


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: the database outage a middleware raised is a 503 too; anything else is Django's 500."""
    exc = sys.exc_info()[1]
    if is_database_outage(exc):
        assert exc is not None
        return database_unavailable_response(request, exc)
    try:
        return defaults.server_error(request, template_name=template_name)
    except Exception:  # the 500 template itself needs something that is down
        return HttpResponseServerError("<h1>Server Error (500)</h1>", content_type="text/html")

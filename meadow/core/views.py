"""Operational endpoints of the core app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from meadow.core.metrics import metrics_allowed

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the allow-listed addresses or the bearer token only (docs/operations.md)."""
    from django_prometheus.exports import ExportToDjangoView

    # The address rule holds only when this process faces its clients directly. Behind a proxy the direct peer
    # is the proxy for every client (a same-host proxy that adds no X-Forwarded-For looks like loopback), and a
    # resolved client address is only as good as the proxy's headers: only the token counts.
    proxy_configured = bool(settings.MEADOW_TRUSTED_PROXY_HEADER) or settings.MEADOW_BEHIND_PROXY
    proxied = any(h in request.META for h in _PROXY_HEADERS)
    allowed = metrics_allowed(
        client_ip="" if proxy_configured or proxied else request.META.get("REMOTE_ADDR", ""),
        authorization=request.headers.get("Authorization", ""),
        allow=settings.MEADOW_METRICS_ALLOW,
        token=settings.MEADOW_METRICS_TOKEN,
    )
    if not allowed:
        return JsonResponse(
            {
                "error": {
                    "code": "forbidden",
                    "message": _("Metrics are only available to the monitoring system."),
                    "field": None,
                }
            },
            status=403,
        )
    return ExportToDjangoView(request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: a path under ``/api/`` that names no operation answers the API's JSON error shape (a client
    parses every answer alike); any other path gets the site's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": _("Not found."), "field": None}}, status=404
        )
    from django.views import defaults

    return defaults.page_not_found(request, exception)

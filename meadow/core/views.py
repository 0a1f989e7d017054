"""Operational endpoints of the core app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from meadow.core.metrics import metrics_allowed
from meadow.core.ratelimit import client_ip

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the allow-listed addresses or the bearer token only (docs/operations.md)."""
    from django_prometheus.exports import ExportToDjangoView

    proxied_unknown = not getattr(settings, "MEADOW_TRUSTED_PROXY_HEADER", "") and any(
        h in request.META for h in _PROXY_HEADERS
    )
    allowed = metrics_allowed(
        # Through a proxy that is not declared trusted, the peer address is the proxy's: only the token counts.
        client_ip="" if proxied_unknown else client_ip(request),
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

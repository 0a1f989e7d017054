"""The Content-Security-Policy: django-csp's middleware with two additions, and the endpoint browsers report
violations to.

The policy itself is ``CONTENT_SECURITY_POLICY`` in settings (one for every profile); docs/architecture.md says
how to extend it. The middleware adds, per response,

* this host's WebSocket origin (``ws://host`` or ``wss://host``) to ``connect-src``: CSP Level 3 lets ``'self'``
  cover it, but not every browser in use does, and naming the one origin is narrower than ``ws: wss:``;
* on an OAuth provider's login page, that provider's authorisation origin to ``form-action``
  (``MEADOW_CSP_OAUTH_FORM_ACTION``): its form posts to us and we redirect there;
* the ``Reporting-Endpoints`` header that the policy's ``report-to csp`` names (``report-uri`` covers browsers
  without the Reporting API).
"""

from __future__ import annotations

import contextlib
import json
import logging

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from meadow.core.ratelimit import RateLimited, client_ip, rate_limit_hit

logger = logging.getLogger("meadow.csp")

REPORT_PATH = "/csp-report/"
REPORT_MAX_BYTES = 16 * 1024  # one report is well under 2 KB; the Reporting API batches a few
REPORT_FIELDS = (  # what an operator needs to find the cause; nothing else from the report is logged
    "document-uri",
    "documentURL",
    "violated-directive",
    "effective-directive",
    "effectiveDirective",
    "blocked-uri",
    "blockedURL",
    "source-file",
    "sourceFile",
    "line-number",
    "lineNumber",
    "column-number",
    "columnNumber",
    "script-sample",
    "sample",
    "disposition",
)


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        try:
            host = request.get_host()
        except DisallowedHost:  # the 400 for a host not in ALLOWED_HOSTS still gets the policy, without it
            return parts
        update = dict(parts.update or {})
        update["connect-src"] = [
            *update.get("connect-src", ()),
            f"{'wss' if request.is_secure() else 'ws'}://{host}",
        ]
        match = getattr(request, "resolver_match", None)
        name = (match.url_name or "") if match else ""
        if name.endswith("_login") and not report_only:  # allauth's provider login pages: <provider>_login
            origins = getattr(settings, "MEADOW_CSP_OAUTH_FORM_ACTION", {}).get(
                name.removesuffix("_login"), ()
            )
            if origins:
                update["form-action"] = [*update.get("form-action", ()), *origins]
        parts.update = update
        return parts

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        if HEADER in response and "Reporting-Endpoints" not in response:
            with contextlib.suppress(DisallowedHost):
                response["Reporting-Endpoints"] = f'csp="{request.build_absolute_uri(REPORT_PATH)}"'
        return response


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": None}}, status=status)


def _reports(payload: object) -> list[dict]:
    """The violations in a body: ``{"csp-report": {...}}`` (report-uri) or ``[{"type": "csp-violation",
    "body": {...}}, ...]`` (the Reporting API). Anything else is not a report."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [payload["csp-report"]]
    if isinstance(payload, list) and payload:
        bodies = [r.get("body") for r in payload if isinstance(r, dict) and r.get("type") == "csp-violation"]
        if len(bodies) == len(payload) and all(isinstance(b, dict) for b in bodies):
            return bodies  # type: ignore[return-value]
    raise ValueError("not a CSP report")


@csrf_exempt  # browsers send reports without cookies or tokens; the endpoint only writes to the log
@require_POST
def report(request: HttpRequest) -> HttpResponse:
    """Log the violations a browser reports (logger ``meadow.csp``, WARNING), rate-limited per address."""
    try:
        rate_limit_hit(scope="csp_report:ip", key=client_ip(request))
    except RateLimited as exc:
        response = JsonResponse(exc.as_dict(), status=exc.status)
        response["Retry-After"] = str(exc.retry_after)
        return response
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > REPORT_MAX_BYTES:
        return _error(413, "too_large", _("The report is too large."))
    try:
        violations = _reports(json.loads(request.body or b"null"))
    except ValueError:
        return _error(400, "invalid_report", _("This is not a Content-Security-Policy report."))
    for violation in violations[:20]:
        fields = {k: str(violation[k])[:300] for k in REPORT_FIELDS if violation.get(k) not in (None, "")}
        logger.warning("CSP violation: %s", json.dumps(fields, sort_keys=True))
    return HttpResponse(status=204)

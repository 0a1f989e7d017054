"""The REST API at /api/v1/ (Django Ninja; OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Auth: a bearer token (``POST /api/v1/auth/token``) or the web session (with CSRF). Errors always have the shape
``{"error": {"code", "message", "field"}}``: 400 bad input, 401 not signed in, 403 not allowed, 404 not found or
not visible, 409 conflict, 429 rate limited.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from meadow.core.errors import DomainError
from meadow.core.ratelimit import RateLimited


class ErrorBody(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorBody


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}


def responses(ok: dict) -> dict:
    """A response map: the success shapes plus the shared error shape for every 4xx we answer."""
    return {**ERRORS, **ok}


class BearerAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        from meadow.accounts.services import token_authenticate

        found = token_authenticate(raw=token)
        if found is None:
            return None
        request.user, request.auth_token = found
        return request.user


class SessionAuthActive(SessionAuth):
    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user and user.is_active else None


token_or_session = [BearerAuth(), SessionAuthActive()]


class OptionalAuth(BearerAuth):
    """Authenticates when a valid token or session is present; anonymous otherwise (never refuses)."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            user = self.authenticate(request, header[7:].strip())
            if user is None:
                raise AuthenticationError()
            return user
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            return request.user
        return True


optional_auth = [OptionalAuth()]

api = NinjaAPI(
    title="Meadow API",
    version="1",
    description="Notes, discovery, engagement, moderation and commerce. Errors: {error: {code, message, field}}.",
    urls_namespace="api",
    docs_url="/docs",
)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None):
    return api.create_response(request, {"error": {"code": code, "message": message, "field": field}}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = _error(request, exc.status, exc.code, str(exc.message), exc.field)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", []) if part not in ("body", "query", "path", "form", "file")]
    field = ".".join(loc[-1:]) or None
    message = first.get("msg") or _("This input is not valid.")
    return _error(request, 400, "invalid", _("%(field)s: %(message)s") % {"field": field or "input", "message": message}, field)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "unauthenticated", _("Sign in first (a bearer token or a session)."))


@api.exception_handler(Http404)
def on_404(request, exc):
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "error", str(exc))


from meadow.accounts.api import auth_router, me_router, users_router  # noqa: E402

api.add_router("/auth", auth_router)
api.add_router("/me", me_router)
api.add_router("/users", users_router)

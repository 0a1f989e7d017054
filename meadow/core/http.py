"""The HTTP plumbing every app's API shares (Django Ninja): the auth classes (``token_or_session``,
``optional_auth``), the one error shape (``ErrorOut``, ``responses``), the moderation answer's schemas, the JSON
parser, and ``MeadowAPI`` with its error handlers. It imports no app: apps' ``api.py`` modules import it, and
``meadow/api.py`` (the top of the HTTP layer) builds the API with ``api_build`` and adds their routers.

Auth: a bearer token (``POST /api/v1/auth/token``) or the web session (with CSRF). Errors always have the shape
``{"error": {"code", "message", "field"}}``: 400 bad input, 401 not signed in, 403 not allowed, 404 not found or
not visible, 409 conflict, 429 rate limited.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import BadRequest, ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf
from pydantic import Field

from meadow.core.errors import DomainError, ValidationFailed
from meadow.core.outage import database_unavailable_response
from meadow.core.ratelimit import RateLimited
from meadow.core.schema import NO_NUL_PATTERN
from meadow.core.validation_messages import validation_message

# ``token_authenticate(raw=…)`` → ``(user, token)`` or ``None``: the accounts app's, given by ``api_build``.
_TOKEN_AUTHENTICATOR: list[Callable[..., Any]] = []


def _token_authenticator() -> Callable[..., Any]:
    if not _TOKEN_AUTHENTICATOR:
        raise ImproperlyConfigured(
            "meadow.core.http: no token authenticator (meadow.api builds the API with one)"
        )
    return _TOKEN_AUTHENTICATOR[0]


# ``moderation_for_reader(moderation)`` → the findings with their labels in the reader's language: the moderation
# app's, given by ``api_build``; endpoints that answer findings (the publish answer) use ``moderation_labelled``.
_MODERATION_FOR_READER: list[Callable[[Any], Any]] = []


def moderation_labelled(moderation: Any) -> Any:
    """``moderation`` (``{verdict, hits}``) as the reader sees it: each hit's category labelled in the request's
    language, by the moderation app's function that ``meadow/api.py`` hands to ``api_build``."""
    if not _MODERATION_FOR_READER:
        raise ImproperlyConfigured(
            "meadow.core.http: no moderation labels (meadow.api builds the API with them)"
        )
    return _MODERATION_FOR_READER[0](moderation)


class ErrorBody(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorBody


class ModerationHitOut(Schema):
    category: str
    label: str = Field(description="The category in the request's language (category is the stable code).")
    start: int
    end: int
    match: str
    rule: str
    severity: str
    suggestion: str | None


class ModerationOut(Schema):
    verdict: str
    hits: list[ModerationHitOut]


class ModerationErrorOut(ErrorOut):
    """The error shape; with code ``moderation_blocked`` it also carries the findings."""

    moderation: ModerationOut | None = None


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}


def responses(ok: dict) -> dict:
    """A response map: the success shapes plus the shared error shape for every 4xx we answer."""
    return {**ERRORS, **ok}


class BearerAuth(HttpBearer):
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest):
        """Ninja's own version logs a header of another scheme whole under DEBUG ("Unexpected auth - 'Basic …'"),
        which writes passwords and tokens into the logs: another scheme is simply not ours."""
        scheme, _, token = (request.headers.get(self.header) or "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str):
        found = _token_authenticator()(raw=token)
        if found is None:
            return None
        request.user, request.auth_token = found  # type: ignore[attr-defined]
        return request.user


class SessionAuthActive(SessionAuth):
    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user and user.is_active else None


token_or_session = [BearerAuth(), SessionAuthActive()]


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _session_user_signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


def _csrf_refused(request: HttpRequest) -> bool:
    """True when a write carried by a signed-in session lacks a valid CSRF token (Django's own check)."""
    return (
        request.method in UNSAFE_METHODS
        and _session_user_signed_in(request)
        and check_csrf(request) is not None
    )


class OptionalAuth(BearerAuth):
    """Authenticates when a valid token or session is present; anonymous otherwise (never refuses).

    A session is a cookie the browser sends on its own, so — exactly as for ``SessionAuth`` — a write that a
    session signs must carry the CSRF token; otherwise any site could make a signed-in reader's browser post
    impressions, reads or tag clicks in their name."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            user = self.authenticate(request, header[7:].strip())
            if user is None:
                raise AuthenticationError()
            return user
        if _session_user_signed_in(request):
            if _csrf_refused(request):
                raise HttpError(403, "CSRF check Failed")
            return request.user
        return True


optional_auth = [OptionalAuth()]


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class JSONObjectParser(Parser):
    """JSON request bodies must be objects. Ninja's default parser let a body such as ``[]``, ``5`` or ``null``
    through as an empty payload, so ``PATCH /me`` with garbage answered 200 instead of 400.

    Text must not contain NUL characters: PostgreSQL refuses them, so a ``"\u0000"`` in a JSON string or a
    ``%00`` in a query string reached the database and answered 500 on the scale profile."""

    def parse_body(self, request: HttpRequest):
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("The request body must be a JSON object.")
        if _has_nul(data):
            raise ValueError("Text must not contain NUL characters.")
        return data

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            if _has_nul(key) or _has_nul(value):
                raise ValidationFailed(
                    _("Text cannot contain NUL characters."), field=str(key), code="invalid"
                )
        return result


class MeadowAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """Ninja documents every auth callback as a requirement, so endpoints open to anonymous readers
        (``optional_auth``) appeared to *require* a bearer token. Document them as OpenAPI does optional auth:
        no credentials (``{}``), or a bearer token, or a session."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        optional = OptionalAuth.__name__
        used = False
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                security = operation.get("security") if isinstance(operation, dict) else None
                if security and any(optional in requirement for requirement in security):
                    operation["security"] = [{}, {BearerAuth.__name__: []}, {SessionAuthActive.__name__: []}]
                    used = True
        schemes = schema.get("components", {}).get("securitySchemes")
        if used and schemes is not None:
            schemes.pop(optional, None)
            schemes.setdefault(BearerAuth.__name__, BearerAuth().openapi_security_schema)
            schemes.setdefault(SessionAuthActive.__name__, SessionAuthActive().openapi_security_schema)
        _document_extra_properties(schema)
        return schema


UNNAMED = "UnnamedValue"


def _nul_free_extra() -> dict:
    """What JSONObjectParser lets through in a property the schema does not name: any JSON value without a NUL
    character at any depth (the parser checks every level) — a recursive schema, ``components/schemas``."""
    return {"$ref": f"#/components/schemas/{UNNAMED}"}


def _unnamed_value_schema() -> dict:
    ref = _nul_free_extra()
    return {
        "description": "A property the schema does not name: ignored, but text in it must not contain NUL.",
        "anyOf": [
            {"type": "string", "pattern": NO_NUL_PATTERN},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": ref},
            {"type": "object", "propertyNames": {"pattern": NO_NUL_PATTERN}, "additionalProperties": ref},
        ],
    }


def _document_extra_properties(schema: dict) -> None:
    """JSONObjectParser refuses a NUL character anywhere in a request (400): say so in the schema, generated from
    here for every endpoint, new ones included. Every free-text string in a body or query gets the NUL-free
    pattern (``meadow.core.schema.Text`` states it where a schema is written by hand); a JSON object may carry
    properties its schema does not name (they are ignored), but not with a NUL in a name or a value."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[UNNAMED] = _unnamed_value_schema()
    seen: set[str] = {UNNAMED}

    def visit(node, objects: bool = True) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, objects)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name], objects)
            return
        if objects and node.get("type") == "object" and "additionalProperties" not in node:
            node["propertyNames"] = {"pattern": NO_NUL_PATTERN}
            node["additionalProperties"] = _nul_free_extra()
        if _is_free_text(node):
            node["pattern"] = NO_NUL_PATTERN
        for value in node.values():
            visit(value, objects)

    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                content = operation.get("requestBody", {}).get("content", {})
                for media_type, media in content.items():
                    body = media.get("schema")
                    visit(body, media_type == "application/json")
                    if (
                        media_type != "application/json"
                        and isinstance(body, dict)
                        and "additionalProperties" not in body
                    ):
                        # A form's fields reach the same NUL check (``parse_querydict``): an unnamed field is
                        # ignored, but not with a NUL in its name or its value.
                        body["propertyNames"] = {"pattern": NO_NUL_PATTERN}
                        body["additionalProperties"] = _nul_free_extra()
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "query":
                        visit(parameter.get("schema"), False)


def _is_free_text(node: dict) -> bool:
    """A string the schema does not otherwise pin down (no pattern, choices or binary/date format)."""
    return (
        node.get("type") == "string"
        and "pattern" not in node
        and "enum" not in node
        and node.get("format") not in ("binary", "date", "date-time")
    )


def json_response(request: HttpRequest, data: Any, *, status: int = 200) -> HttpResponse:
    """``data`` as the API renders it (Ninja's JSON renderer, the API's content type), without a response schema
    validating it — for answers that are their schema's shape by construction (Discover's page)."""
    renderer = JSONRenderer()
    content = renderer.render(request, data, response_status=status)
    return HttpResponse(
        content, status=status, content_type=f"{renderer.media_type}; charset={renderer.charset}"
    )


def api_build(
    *,
    token_authenticator: Callable[..., Any],
    moderation_for_reader: Callable[[Any], Any],
    **options: Any,
) -> MeadowAPI:
    """The API with Meadow's parser, CSRF guard and error handlers. ``token_authenticator`` checks a bearer
    token (the accounts app's ``token_authenticate``); ``moderation_for_reader`` shows a ``moderation_blocked``
    error's findings in the reader's language (the moderation app's)."""
    _TOKEN_AUTHENTICATOR[:] = [token_authenticator]
    _MODERATION_FOR_READER[:] = [moderation_for_reader]
    api = MeadowAPI(parser=JSONObjectParser(), **options)

    def session_writes_need_csrf(run):
        """Every operation, whatever its auth: a write sent with a signed-in session cookie must carry the CSRF
        token, or it is refused (403 ``csrf_failed``) before authentication, validation or the endpoint run. The auth
        classes check this too; this guard makes it hold for operations that declare no auth (sign-up, tokens,
        codes), and for any auth class added later, so no endpoint can accept a bare session cookie."""

        if inspect.iscoroutinefunction(
            run
        ):  # an async operation (none yet): the same check, off the event loop

            @functools.wraps(run)
            async def guarded_async(request: HttpRequest, *args, **kwargs):
                if await sync_to_async(_csrf_refused)(request):
                    return on_http_error(request, HttpError(403, "CSRF check Failed"))
                return await run(request, *args, **kwargs)

            return guarded_async

        @functools.wraps(run)
        def guarded(request: HttpRequest, *args, **kwargs):
            if _csrf_refused(request):
                return on_http_error(request, HttpError(403, "CSRF check Failed"))
            return run(request, *args, **kwargs)

        return guarded

    api.add_decorator(session_writes_need_csrf, mode="view")

    def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None):
        return api.create_response(
            request, {"error": {"code": code, "message": message, "field": field}}, status=status
        )

    @api.exception_handler(DomainError)
    def on_domain_error(request, exc: DomainError):
        moderation = getattr(exc, "moderation", None)  # code moderation_blocked: the findings, spans and all
        if moderation is not None:
            moderation = moderation_for_reader(moderation)
            body = {"error": {"code": exc.code, "message": str(exc.message), "field": exc.field}}
            return api.create_response(request, {**body, "moderation": moderation}, status=exc.status)
        response = _error(request, exc.status, exc.code, str(exc.message), exc.field)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def on_validation_error(request, exc: NinjaValidationError):
        first = exc.errors[0] if exc.errors else {}
        loc = [str(part) for part in first.get("loc", [])]
        if loc and loc[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
            loc = loc[1:]  # drop the source but keep the name: a field may itself be called "file"
        field = loc[-1] if loc else None
        message = validation_message(first)  # pydantic's own messages are English only
        return _error(
            request,
            400,
            "invalid",
            _("%(field)s: %(message)s") % {"field": field or "input", "message": message},
            field,
        )

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request, exc):
        return _error(request, 401, "unauthenticated", _("Sign in first (a bearer token or a session)."))

    @api.exception_handler(Http404)
    def on_404(request, exc):
        return _error(request, 404, "not_found", _("Not found."))

    @api.exception_handler(SuspiciousOperation)
    @api.exception_handler(BadRequest)
    @api.exception_handler(MultiPartParserError)
    def on_bad_request(request, exc: Exception):
        """A request Django cannot read (broken multipart, too many files or fields, a body over the limit) is a 400
        in the shared JSON shape, not Django's HTML error page."""
        if isinstance(exc, RequestDataTooBig):
            return _error(request, 400, "too_large", _("The request is too large."))
        return _error(request, 400, "bad_request", _("The request could not be read."))

    @api.exception_handler(DjangoOperationalError)
    @api.exception_handler(DjangoInterfaceError)
    def on_database_outage(request, exc: Exception):
        """The database is unreachable (restarting, pool exhausted): 503 ``service_unavailable`` with
        Retry-After, at once, instead of a 500; nothing was written (the transaction did not commit)."""
        return database_unavailable_response(request, exc)

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        if exc.status_code == 400:  # Ninja raises it for a body it cannot parse (not JSON, or not an object)
            return _error(
                request, 400, "bad_json", _("The request body must be a JSON object of valid text.")
            )
        if exc.status_code == 403 and "csrf" in str(exc).lower():  # a session caller without the CSRF token
            return _error(
                request, 403, "csrf_failed", _("The CSRF check failed. Reload the page and try again.")
            )
        return _error(request, exc.status_code, "error", str(exc))

    return api

"""Domain errors: raised by services, shaped by the API as ``{"error": {"code", "message", "field"}}`` and by
pages as form errors. Messages are translated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": str(self.message), "field": self.field}}


class ValidationFailed(DomainError):
    status = 400
    code = "invalid"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class StorageFull(DomainError):
    """The media storage refused a file because its disk is full (ENOSPC) or a quota is reached (EDQUOT):
    nothing of the upload was kept; the caller may try again later."""

    status = 503
    code = "storage_full"


class FieldErrors(ValidationFailed):
    """Several fields are wrong at once (a form reports every error together, each by its field). ``errors``
    holds each field's error; this error's own message, field, code and status are the first one's, so the API
    answers as before."""

    def __init__(self, errors: list[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.status = first.status
        self.errors = list(errors)


class ErrorCollector:
    """Run every check of a form and raise all the errors together: ``with collector.check(): …`` per field,
    then ``collector.raise_any()`` (one error raises as itself, several as ``FieldErrors``)."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except FieldErrors as exc:
            self.errors.extend(exc.errors)
        except DomainError as exc:
            self.errors.append(exc)

    def failed(self, field: str) -> bool:
        return any(e.field == field for e in self.errors)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise FieldErrors(self.errors)


def errors_of(exc: DomainError) -> list[DomainError]:
    """Each field's error of ``exc`` (``FieldErrors``) or ``exc`` alone."""
    return list(exc.errors) if isinstance(exc, FieldErrors) else [exc]

"""Domain errors: raised by services, shaped by the API as ``{"error": {"code", "message", "field"}}`` and by
pages as form errors. Messages are translated."""

from __future__ import annotations


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

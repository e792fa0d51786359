"""Domain errors: a stable code plus data; views turn them into problem JSON, the UI words them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on. `code` is stable API; `detail` is a default English text."""

    status = 400
    title = "Request refused"

    def __init__(self, code: str, detail: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Not allowed"


class Unauthorized(DomainError):
    status = 401
    title = "Not signed in"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Invalid(DomainError):
    status = 422
    title = "Invalid request"


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many attempts"

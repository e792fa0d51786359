"""Typed errors raised by PortalClient: callers branch on `code`, never on message text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One validation problem, `field` being a dotted path into the request body or query."""

    field: str
    code: str
    message: str


class PortalError(Exception):
    """Base class for everything PortalClient raises on purpose."""


# eq=False keeps exceptions hashable (tracebacks, sets of seen errors).
@dataclass(eq=False)
class ApiError(PortalError):
    """The service answered with problem JSON (RFC 9457); `code` is the stable contract."""

    code: str
    status: int
    detail: str = ""
    retry_after: int | None = None
    field_errors: list[FieldError] = field(default_factory=list)
    title: str = ""

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.detail}")

    @classmethod
    def from_problem(cls, status: int, body: Any) -> ApiError:
        """Build from a problem JSON body; tolerate non-problem bodies from proxies."""
        if not isinstance(body, dict):
            return cls(code=f"http.{status}", status=status, detail=str(body or "")[:300])
        retry = body.get("retry_after")
        errors = [
            FieldError(
                field=str(e.get("field", "")),
                code=str(e.get("code", "")),
                message=str(e.get("message", "")),
            )
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        return cls(
            code=str(body.get("code") or f"http.{status}"),
            status=int(body.get("status") or status),
            detail=str(body.get("detail") or ""),
            retry_after=int(retry) if isinstance(retry, int | float) else None,
            field_errors=errors,
            title=str(body.get("title") or ""),
        )

    @property
    def ends_session(self) -> bool:
        """True when the stored refresh token is dead and the user has to sign in again."""
        return self.code in {"auth.refresh_invalid", "auth.refresh_reused"}


class ServiceUnreachable(PortalError):
    """No HTTP answer at all: connection refused, DNS failure, timeout, TLS failure."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"Cannot reach the Portal service at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason


class NotSignedIn(PortalError):
    """A call needing a session was made before sign-in (or after sign-out)."""

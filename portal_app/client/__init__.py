"""Async client for the Portal service API (docs/API.md): the only way the UI reaches it."""

from portal_app.client.client import LiveState, PortalClient
from portal_app.client.errors import (
    ApiError,
    FieldError,
    NotSignedIn,
    PortalError,
    ServiceUnreachable,
)
from portal_app.client.models import (
    AccountOverview,
    AccountRef,
    Alert,
    AuditEvent,
    BranchVerification,
    CaseSummary,
    ClaimSummary,
    EventsPage,
    Health,
    Holder,
    Me,
    NextDue,
    PolicySummary,
    TokenPair,
)

__all__ = [
    "AccountOverview",
    "AccountRef",
    "Alert",
    "ApiError",
    "AuditEvent",
    "BranchVerification",
    "CaseSummary",
    "ClaimSummary",
    "EventsPage",
    "FieldError",
    "Health",
    "Holder",
    "LiveState",
    "Me",
    "NextDue",
    "NotSignedIn",
    "PolicySummary",
    "PortalClient",
    "PortalError",
    "ServiceUnreachable",
    "TokenPair",
]

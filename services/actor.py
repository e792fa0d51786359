"""Who is acting, for whom, from where: passed to every service function that changes state."""

from __future__ import annotations

from dataclasses import dataclass, replace

CHANNELS = ("portal", "agent", "branch", "system", "stripe")

CHANNEL_BY_ROLE = {
    "policyholder": "portal",
    "agent": "agent",
    "supervisor": "agent",
    "admin": "agent",
    "branch_staff": "branch",
}


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    role: str
    name: str = ""
    channel: str = "portal"
    on_behalf_of: str | None = None  # account holder id when staff act for a customer
    branch_id: str | None = None
    request_id: str | None = None
    client_address: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in {"agent", "branch_staff", "supervisor", "admin"}

    def for_customer(self, holder_id: str | None) -> Actor:
        """The same staff member, now recorded as acting on behalf of this customer."""
        return replace(self, on_behalf_of=holder_id) if self.is_staff else self

    @classmethod
    def system(cls, name: str = "Portal", request_id: str | None = None) -> Actor:
        return cls(user_id=None, role="system", name=name, channel="system", request_id=request_id)

    @classmethod
    def stripe(cls, request_id: str | None = None) -> Actor:
        return cls(user_id=None, role="system", name="Stripe", channel="stripe", request_id=request_id)

"""Account API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from services.schemas_common import Flag, IsoDate, RequestModel, ResponseModel


class HolderOut(ResponseModel):
    id: str
    full_name: str
    email: str | None
    phone: str | None
    postcode: str | None
    address: str | None
    is_primary: bool
    paperless: bool = False


class NextDue(ResponseModel):
    installment_id: str
    due_date: date
    amount_minor: int
    currency: str
    method: str


class PolicySummary(ResponseModel):
    id: str
    number: str
    product_line: str
    status: str
    effective_date: date
    expiry_date: date
    time_zone: str
    premium_minor: int
    currency: str
    pay_plan: str
    autopay: bool
    payment_day: int
    balance_minor: int
    past_due_minor: int
    next_due: NextDue | None


class ClaimSummary(ResponseModel):
    id: str
    number: str
    policy_id: str
    status: str
    loss_type: str
    loss_date: date
    submitted_at: datetime


class CaseSummary(ResponseModel):
    id: str
    number: str
    kind: str
    status: str
    subject: str
    due_at: datetime | None


class Alert(ResponseModel):
    code: str
    severity: str
    policy_id: str | None = None
    data: dict[str, Any] = {}


class AccountOverview(ResponseModel):
    id: str
    name: str
    holders: list[HolderOut]
    policies: list[PolicySummary]
    open_claims: list[ClaimSummary]
    open_cases: list[CaseSummary]
    alerts: list[Alert]


class ContactUpdate(RequestModel):
    phone: str | None = Field(default=None, min_length=7, max_length=40, pattern=r"^\+?[0-9 ()\-]{7,40}$")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(default=None, min_length=3, max_length=400)
    postcode: str | None = Field(default=None, min_length=3, max_length=20, pattern=r"^[A-Za-z0-9 \-]{3,20}$")
    # Absent: unchanged. Null is refused (the service says "paperless must be true or false").
    paperless: Flag = None  # type: ignore[assignment]


class BranchVerifyRequest(RequestModel):
    policy_number: str = Field(min_length=3, max_length=40)
    date_of_birth: IsoDate
    postcode: str = Field(min_length=3, max_length=20)


class BranchVerification(ResponseModel):
    verification_id: str
    account_id: str
    customer_name: str
    expires_at: datetime


class AuditEventOut(ResponseModel):
    seq: int
    account_id: str | None
    occurred_at: str
    actor_id: str | None
    actor_role: str
    actor_name: str
    on_behalf_of: str | None
    channel: str
    branch_id: str | None
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: str
    request_id: str | None
    client_address: str | None
    prev_hash: str
    hash: str


class EventPage(ResponseModel):
    events: list[AuditEventOut]
    next_since: int
    has_more: bool

"""Claim API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from services.schemas_common import Flag, IdStr, IsoDateTime, MinorUnits, RequestModel, ResponseModel

LossType = Literal["collision", "theft", "glass", "weather", "water", "fire", "liability", "other"]
Action = Literal[
    "acknowledge", "start_review", "request_info", "respond", "approve", "deny", "mark_paid", "close"
]


class ClaimCreate(RequestModel):
    account_id: IdStr
    policy_id: IdStr
    loss_type: LossType
    loss_at: IsoDateTime
    location: str = Field(min_length=3, max_length=400)
    description: str = Field(min_length=10, max_length=5000)
    vehicle: str = Field(default="", max_length=200)
    other_parties: str = Field(default="", max_length=2000)
    police_report: str = Field(default="", max_length=60)
    injuries: Flag = False
    injury_details: str = Field(default="", max_length=2000)


class TransitionRequest(RequestModel):
    action: Action
    note: str = Field(default="", max_length=4000)
    amount_minor: MinorUnits | None = None


class TimelineEntry(ResponseModel):
    kind: str
    status: str
    occurred_at: datetime
    actor_name: str
    actor_role: str
    channel: str
    note: str
    amount_minor: int | None


class SlaStep(ResponseModel):
    step: str
    due_date: date
    due_at: datetime
    done_at: datetime | None
    overdue: bool
    late: bool


class NextStep(ResponseModel):
    code: str
    by: str
    due_date: date | None


class ClaimOut(ResponseModel):
    id: str
    number: str
    account_id: str
    policy_id: str
    policy_number: str
    product_line: str
    time_zone: str
    status: str
    loss_type: str
    loss_at: datetime
    location: str
    description: str
    vehicle: str
    other_parties: str
    police_report: str
    injuries: bool
    injury_details: str
    outside_term: bool
    policy_effective_date: date
    policy_expiry_date: date
    submitted_at: datetime
    currency: str
    approved_minor: int | None
    decision_reason: str
    info_request: str
    photo_count: int
    sla: list[SlaStep]
    overdue: bool
    next_step: NextStep
    can_adjust: bool
    allowed_actions: list[str]
    timeline: list[TimelineEntry]


class ClaimList(ResponseModel):
    claims: list[ClaimOut]


class PhotoOut(ResponseModel):
    id: str
    claim_id: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    captured_at: str | None
    uploaded_at: datetime


class PhotoList(ResponseModel):
    photos: list[PhotoOut]

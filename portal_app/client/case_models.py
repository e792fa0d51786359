"""DTOs for cases, the service dashboard and the evidence tools (docs/API.md, "Cases" and
"Evidence"). Kept in their own module so the cases work does not collide with the other DTOs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal_app.client.models import _dt, _opt_str


@dataclass(frozen=True)
class CaseDeadline:
    name: str  # acknowledge | target_resolution | summary_resolution | final_response
    due_at: datetime | None
    met_at: datetime | None
    overdue: bool
    late: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseDeadline:
        return cls(
            name=str(d.get("name") or ""),
            due_at=_dt(d.get("due_at")),
            met_at=_dt(d.get("met_at")),
            overdue=bool(d.get("overdue")),
            late=bool(d.get("late")),
        )


@dataclass(frozen=True)
class CaseEntry:
    id: str
    kind: str  # raised | acknowledged | response | note | customer_message | escalated | resolution | ...
    at: datetime | None
    author_name: str
    author_role: str
    channel: str
    body: str
    internal: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseEntry:
        return cls(
            id=str(d["id"]),
            kind=str(d.get("kind") or ""),
            at=_dt(d.get("at")),
            author_name=str(d.get("author_name") or ""),
            author_role=str(d.get("author_role") or ""),
            channel=str(d.get("channel") or ""),
            body=str(d.get("body") or ""),
            internal=bool(d.get("internal")),
        )


@dataclass(frozen=True)
class CaseAttachmentInfo:
    id: str
    filename: str
    media_type: str
    size: int
    sha256: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseAttachmentInfo:
        return cls(
            id=str(d["id"]),
            filename=str(d.get("filename") or ""),
            media_type=str(d.get("media_type") or ""),
            size=int(d.get("size") or 0),
            sha256=str(d.get("sha256") or ""),
        )


@dataclass(frozen=True)
class CaseLimits:
    """What the service accepts on a new case's attachments (GET /accounts/{id}/cases)."""

    max_attachments: int
    max_attachment_bytes: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseLimits:
        return cls(int(d["max_attachments"]), int(d["max_attachment_bytes"]))


@dataclass(frozen=True)
class Case:
    id: str
    number: str
    account_id: str
    kind: str
    category: str
    category_label: str
    status: str
    subject: str
    description: str
    policy_id: str | None
    channel: str
    opened_at: datetime | None
    time_zone: str
    next_due_at: datetime | None
    escalated: bool
    team: str
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    resolution: str
    remedy: dict[str, Any] | None
    deadlines: list[CaseDeadline] = field(default_factory=list)
    entries: list[CaseEntry] = field(default_factory=list)
    attachments: list[CaseAttachmentInfo] = field(default_factory=list)
    # Staff only (absent for customers):
    escalation_reasons: list[str] = field(default_factory=list)
    contact_count: int = 0
    assigned_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in ("resolved", "closed")

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Case:
        return cls(
            id=str(d["id"]),
            number=str(d.get("number") or ""),
            account_id=str(d.get("account_id") or ""),
            kind=str(d.get("kind") or ""),
            category=str(d.get("category") or ""),
            category_label=str(d.get("category_label") or ""),
            status=str(d.get("status") or ""),
            subject=str(d.get("subject") or ""),
            description=str(d.get("description") or ""),
            policy_id=_opt_str(d.get("policy_id")),
            channel=str(d.get("channel") or ""),
            opened_at=_dt(d.get("opened_at")),
            time_zone=str(d.get("time_zone") or "UTC"),
            next_due_at=_dt(d.get("next_due_at")),
            escalated=bool(d.get("escalated")),
            team=str(d.get("team") or ""),
            resolved_at=_dt(d.get("resolved_at")),
            closed_at=_dt(d.get("closed_at")),
            outcome=_opt_str(d.get("outcome")),
            resolution=str(d.get("resolution") or ""),
            remedy=d.get("remedy") or None,
            deadlines=[CaseDeadline.from_json(x) for x in d.get("deadlines") or []],
            entries=[CaseEntry.from_json(x) for x in d.get("entries") or []],
            attachments=[CaseAttachmentInfo.from_json(x) for x in d.get("attachments") or []],
            escalation_reasons=[str(r) for r in d.get("escalation_reasons") or []],
            contact_count=int(d.get("contact_count") or 0),
            assigned_name=_opt_str(d.get("assigned_name")),
        )


@dataclass(frozen=True)
class ServiceDashboard:
    """The supervisor's figures; the series are per UTC day, oldest first."""

    days: list[str]
    cases_opened: list[int]
    cases_resolved: list[int]
    median_resolution_hours: list[float | None]
    target_hours: int
    resolved_within_target: int
    resolved_total: int
    escalations: list[int]
    open_cases: int
    open_escalated: int
    open_overdue: int
    claims: dict[str, int]
    autopay: dict[str, Any]
    payments_outside_hours: dict[str, int]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ServiceDashboard:
        return cls(
            days=[str(x) for x in d.get("days") or []],
            cases_opened=[int(x) for x in d.get("cases_opened") or []],
            cases_resolved=[int(x) for x in d.get("cases_resolved") or []],
            median_resolution_hours=[
                None if x is None else float(x) for x in d.get("median_resolution_hours") or []
            ],
            target_hours=int(d.get("target_hours") or 24),
            resolved_within_target=int(d.get("resolved_within_target") or 0),
            resolved_total=int(d.get("resolved_total") or 0),
            escalations=[int(x) for x in d.get("escalations") or []],
            open_cases=int(d.get("open_cases") or 0),
            open_escalated=int(d.get("open_escalated") or 0),
            open_overdue=int(d.get("open_overdue") or 0),
            claims={str(k): int(v) for k, v in (d.get("claims") or {}).items()},
            autopay=dict(d.get("autopay") or {}),
            payments_outside_hours={
                str(k): int(v) for k, v in (d.get("payments_outside_hours") or {}).items()
            },
        )

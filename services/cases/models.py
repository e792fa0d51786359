"""Cases: complaints and disputes with their deadlines, their conversation and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

CASE_KINDS = ("complaint", "dispute")
# open -> in_progress (acknowledged) -> resolved (summary resolution) -> closed (final response);
# escalated is in_progress with a supervisor or legal owner; awaiting_customer waits on them.
CASE_STATUSES = ("open", "in_progress", "escalated", "awaiting_customer", "resolved", "closed")
OPEN_CASE_STATUSES = ("open", "in_progress", "escalated", "awaiting_customer")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The next promised instant (the earliest deadline not yet met); None once closed.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    category: Mapped[str] = mapped_column(String(40), default="other")
    policy_id: Mapped[str | None] = mapped_column(String(40), default=None)
    payment_id: Mapped[str | None] = mapped_column(String(40), default=None)
    claim_id: Mapped[str | None] = mapped_column(String(40), default=None)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    opened_by_user_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # Who owns it now: the front line, a supervisor, or legal; assigned_to is a staff user.
    team: Mapped[str] = mapped_column(String(20), default="front_line")
    assigned_to: Mapped[str | None] = mapped_column(String(40), default=None)
    escalation_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    contact_count: Mapped[int] = mapped_column(Integer, default=1)
    # Commitments, fixed when the case opens (business days in the policy's time zone).
    acknowledge_by: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    target_resolution_by: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    summary_resolution_by: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    final_response_by: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(30), default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
    remedy_kind: Mapped[str | None] = mapped_column(String(20), default=None)
    remedy_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    remedy_reference: Mapped[str | None] = mapped_column(String(80), default=None)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CaseEntry(Base):
    """One message, response, logged contact or internal note on a case, oldest first."""

    __tablename__ = "case_entries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author_id: Mapped[str | None] = mapped_column(String(40), default=None)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class CaseAttachment(Base):
    """A file the customer (or an agent for them) attached; SHA-256 goes on the audit trail."""

    __tablename__ = "case_attachments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # The bytes live in the blob store ("case-attachments", keyed by sha256); rows written before
    # the blob store (or without one) keep them here. Deferred: listing a case never loads them.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

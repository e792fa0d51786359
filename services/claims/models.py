"""Claims: first notice of loss, its photos, its timeline, and who may adjust it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

LOSS_TYPES = ("collision", "theft", "glass", "weather", "water", "fire", "liability", "other")
CLAIM_STATUSES = (
    "submitted",
    "acknowledged",
    "in_review",
    "info_requested",
    "approved",
    "denied",
    "paid",
    "closed",
)
OPEN_CLAIM_STATUSES = ("submitted", "acknowledged", "in_review", "info_requested", "approved")

# The one permission this domain knows. Staff hold it through StaffPermission rows; a
# policyholder never does (grant_permission refuses them).
ADJUSTER = "claims.adjust"


class Claim(Base):
    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    loss_type: Mapped[str] = mapped_column(String(20))
    loss_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(400), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # --- added by 0004_claims ---
    vehicle: Mapped[str] = mapped_column(String(200), default="", server_default="")
    other_parties: Mapped[str] = mapped_column(Text, default="", server_default="")
    police_report: Mapped[str] = mapped_column(String(60), default="", server_default="")
    injuries: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    injury_details: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Loss date outside the policy term: filed anyway, flagged for the adjuster and the customer.
    outside_term: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    filed_by_user_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # Service commitments, as business dates in the policy's time zone, fixed at filing.
    acknowledge_by: Mapped[date | None] = mapped_column(Date, default=None)
    review_by: Mapped[date | None] = mapped_column(Date, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    approved_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    info_request: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ClaimStep(Base):
    """One entry on a claim's timeline: a status reached, or the customer's answer."""

    __tablename__ = "claim_steps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # status | response
    status: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    note: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ClaimPhoto(Base):
    """A photo attached to a claim. The bytes live in the content-addressed photo store."""

    __tablename__ = "claim_photos"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # EXIF DateTimeOriginal as the camera wrote it (a local wall time, zone often unknown),
    # plus its offset when the camera recorded one.
    captured_at: Mapped[str | None] = mapped_column(String(40), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str | None] = mapped_column(String(40), default=None)


class StaffPermission(Base):
    """A named permission held by a staff user (e.g. the claims adjuster permission)."""

    __tablename__ = "staff_permissions"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Claims: first notice of loss and its life cycle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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

"""Policies: the contract, its term and how it is paid."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

PRODUCT_LINES = ("auto", "home", "renters")
POLICY_STATUSES = (
    "active",
    "pending_cancellation",
    "cancelled",
    "lapsed",
    "reinstated",
    "expired",
)
PAY_PLANS = ("full", "two_pay", "quarterly", "monthly")


class Policy(Base):
    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    product_line: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    effective_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64))
    premium_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    pay_plan: Mapped[str] = mapped_column(String(20))
    payment_day: Mapped[int] = mapped_column(Integer)
    autopay_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Billing: the installments a policy's pay plan produces."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

INSTALLMENT_STATUSES = ("scheduled", "paid", "partially_paid", "past_due", "waived")


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("policy_id", "number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def outstanding_minor(self) -> int:
        return max(self.amount_minor - self.paid_minor, 0)

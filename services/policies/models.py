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


PARTY_ROLES = ("named_insured", "driver")


class PolicyParty(Base):
    """A person on the policy: a named insured, a listed driver, or both (two rows)."""

    __tablename__ = "policy_parties"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(200))
    relationship: Mapped[str] = mapped_column(String(40), default="self")
    position: Mapped[int] = mapped_column(Integer, default=0)


class InsuredVehicle(Base):
    """A vehicle on an auto policy. Removal is a date, never a delete: old ID cards must read as revoked."""

    __tablename__ = "policy_vehicles"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17), index=True)
    year: Mapped[int] = mapped_column(Integer)
    make: Mapped[str] = mapped_column(String(60))
    model: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def description(self) -> str:
        return f"{self.year} {self.make} {self.model}"


class InsuredProperty(Base):
    """The dwelling or rented home a home/renters policy covers."""

    __tablename__ = "policy_properties"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    address: Mapped[str] = mapped_column(String(400))
    postcode: Mapped[str] = mapped_column(String(20))
    dwelling: Mapped[str] = mapped_column(String(60))
    year_built: Mapped[int | None] = mapped_column(Integer, default=None)


class Coverage(Base):
    """One coverage line: limits and deductible in minor units (None = not applicable)."""

    __tablename__ = "policy_coverages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    vehicle_id: Mapped[str | None] = mapped_column(ForeignKey("policy_vehicles.id"), default=None)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    limit_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)  # per person / per item
    limit_per_accident_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    deductible_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    premium_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer, default=0)

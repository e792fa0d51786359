"""Billing and payments: installments, saved cards, charges, scheduled payments, autopay,
refunds, delinquency and processed Stripe events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

INSTALLMENT_STATUSES = ("scheduled", "paid", "partially_paid", "past_due", "waived")

# A charge moves pending -> processing -> succeeded | failed | requires_action | canceled.
# "pending": recorded, no PaymentIntent yet (no money can have moved).
# "processing": the PaymentIntent exists (its id is stored) and confirmation may be in flight;
#               after a crash or a network failure it is reconciled with Stripe, never re-created.
PAYMENT_STATUSES = ("pending", "processing", "succeeded", "failed", "requires_action", "canceled")
IN_FLIGHT = ("pending", "processing")


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


class StripeCustomer(Base):
    """The Stripe customer that holds an account's saved cards."""

    __tablename__ = "stripe_customers"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentMethod(Base):
    """A saved card: only Stripe's id, brand, last four and expiry (never the number)."""

    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(64), unique=True)
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Payment(Base):
    """One charge attempt, written before money can move. `idempotency_key` says what is paid."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # pay_now | autopay | scheduled
    # installment id (autopay), scheduled payment id, or the client's request key (pay now)
    source_id: Mapped[str] = mapped_column(String(80), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method_id: Mapped[str] = mapped_column(ForeignKey("payment_methods.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    failure_code: Mapped[str | None] = mapped_column(String(60), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(300), default=None)
    decline_kind: Mapped[str | None] = mapped_column(String(10), default=None)  # soft | hard
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    receipt_number: Mapped[str | None] = mapped_column(String(30), unique=True, default=None)
    channel: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PaymentAllocation(Base):
    """How much of a succeeded payment went to which installment."""

    __tablename__ = "payment_allocations"
    __table_args__ = (UniqueConstraint("payment_id", "installment_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    installment_id: Mapped[str] = mapped_column(ForeignKey("installments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class ScheduledPayment(Base):
    """A one-off payment the customer set for a future date; editable until it runs."""

    __tablename__ = "scheduled_payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    run_on: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method_id: Mapped[str] = mapped_column(ForeignKey("payment_methods.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)  # scheduled|running|paid|failed|canceled
    payment_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AutopayEnrollment(Base):
    """Autopay for one policy: the card, and the authorisation the customer agreed to."""

    __tablename__ = "autopay_enrollments"

    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    payment_method_id: Mapped[str] = mapped_column(ForeignKey("payment_methods.id"))
    status: Mapped[str] = mapped_column(String(20))  # active | off | suspended
    authorization_text: Mapped[str] = mapped_column(Text)
    authorized_at: Mapped[datetime] = mapped_column(UTCDateTime)
    authorized_by: Mapped[str | None] = mapped_column(String(40), default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    stripe_refund_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delinquency(Base):
    """One episode of non-payment on a policy, with the timestamp of every step."""

    __tablename__ = "delinquencies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    installment_id: Mapped[str] = mapped_column(ForeignKey("installments.id"))
    # grace -> pending_cancellation -> cancelled -> reinstated | cured (paid in grace/pending)
    status: Mapped[str] = mapped_column(String(30), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    grace_ends_on: Mapped[date] = mapped_column(Date)
    cancel_on: Mapped[date] = mapped_column(Date)
    reinstate_until: Mapped[date | None] = mapped_column(Date, default=None)
    grace_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pending_cancellation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reinstated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StripeEvent(Base):
    """A webhook event already processed: duplicates are acknowledged and ignored."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)

"""Payments: billing schedules, saved cards, pay now, scheduled payments, autopay, payment day,
refunds and the payments view of an account.

Functions that only touch the database take `(session, actor, clock, *, ...)` like every other
domain. Anything that moves money goes through `services.payments.charging`, which splits the
work into several short transactions around the gateway calls (record first, then charge).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.models import AccountHolder
from services.accounts.service import authorize_account, policy_today
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.payments.gateway import CardInfo, GatewayError, PaymentGateway
from services.payments.models import (
    IN_FLIGHT,
    AutopayEnrollment,
    Delinquency,
    Installment,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Refund,
    ScheduledPayment,
    StripeCustomer,
)
from services.payments.runtime import Timeline
from services.policies.models import Policy

INSTALLMENTS_PER_PLAN = {"full": 1, "two_pay": 2, "quarterly": 4, "monthly": 12}
EXPIRY_WARNING_DAYS = 60
MAX_SCHEDULE_AHEAD_DAYS = 365
# The payment day stays within every month (no 29th-31st); clients read this via payment_limits().
PAYMENT_DAY_MIN, PAYMENT_DAY_MAX = 1, 28
CLOSED_POLICY_STATUSES = ("cancelled", "lapsed", "expired")

AUTOPAY_TERMS = (
    "I authorise {insurer} to charge my {brand} card ending {last4} for each installment of "
    "policy {policy} on its due date, in the amount shown on my billing schedule, until I switch "
    "autopay off. I will get a reminder {reminder_days} days before each charge. I can switch "
    "autopay off at any time in the portal or by calling us; a charge already in progress "
    "cannot be stopped."
)
INSURER_NAME = "Portal Mutual Insurance Company"


# --- schedules --------------------------------------------------------------------------------


def add_months(d: date, months: int, day: int | None = None) -> date:
    """The same day `months` later (the day clamped to the month's length)."""
    month = d.month - 1 + months
    year, month = d.year + month // 12, month % 12 + 1
    wanted = day if day is not None else d.day
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def payment_limits() -> dict[str, int]:
    """The limits a client shows before sending: payment day range and how far ahead to schedule."""
    return {
        "payment_day_min": PAYMENT_DAY_MIN,
        "payment_day_max": PAYMENT_DAY_MAX,
        "schedule_ahead_days": MAX_SCHEDULE_AHEAD_DAYS,
    }


def build_schedule(
    premium_minor: int, pay_plan: str, effective: date, payment_day: int
) -> list[tuple[int, date, int]]:
    """(number, due date, amount) for a pay plan; the rounding remainder goes on the first."""
    if pay_plan not in INSTALLMENTS_PER_PLAN:
        raise Invalid("payment.unknown_pay_plan", f"Unknown pay plan {pay_plan!r}.")
    if not PAYMENT_DAY_MIN <= payment_day <= PAYMENT_DAY_MAX:
        raise Invalid(
            "payment.day_out_of_range",
            f"The payment day must be between {PAYMENT_DAY_MIN} and {PAYMENT_DAY_MAX}.",
        )
    count = INSTALLMENTS_PER_PLAN[pay_plan]
    base, remainder = divmod(premium_minor, count)
    step = 12 // count
    first = effective.replace(day=payment_day)
    if first < effective:
        first = add_months(first, 1, payment_day)
    return [
        (n + 1, add_months(first, n * step, payment_day), base + (remainder if n == 0 else 0))
        for n in range(count)
    ]


def create_billing_schedule(
    session: Session, actor: Actor, clock: Clock, *, policy: Policy
) -> list[Installment]:
    """Create a policy's installments from its pay plan (once; later calls return them)."""
    existing = list(
        session.scalars(
            select(Installment).where(Installment.policy_id == policy.id).order_by(Installment.number)
        )
    )
    if existing:
        return existing
    rows = []
    for number, due, amount in build_schedule(
        policy.premium_minor, policy.pay_plan, policy.effective_date, policy.payment_day
    ):
        inst = Installment(
            id=new_id("ins"),
            policy_id=policy.id,
            number=number,
            due_date=due,
            amount_minor=amount,
            paid_minor=0,
            currency=policy.currency,
            status="scheduled",
        )
        session.add(inst)
        rows.append(inst)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="billing.schedule_created",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        after={
            "installments": [
                {"number": n, "due_date": d, "amount_minor": a}
                for n, d, a in [(i.number, i.due_date, i.amount_minor) for i in rows]
            ]
        },
    )
    return rows


# --- helpers ----------------------------------------------------------------------------------


def policy_for(
    session: Session, actor: Actor, clock: Clock, policy_id: str, *, lock: bool = False
) -> tuple[Policy, Actor]:
    """The policy and the actor as recorded, after the account access check."""
    policy = session.get(Policy, policy_id, with_for_update=lock) if lock else session.get(Policy, policy_id)
    if policy is None:
        raise NotFound("policy.not_found", "We could not find that policy.")
    try:
        _, acting = authorize_account(session, actor, clock, policy.account_id)
    except NotFound:
        raise NotFound("policy.not_found", "We could not find that policy.") from None
    return policy, acting


def open_installments(session: Session, policy_id: str, *, lock: bool = False) -> list[Installment]:
    """The policy's unpaid installments, oldest first; `lock` holds their rows to commit.

    Allocating a payment must lock: two charges succeeding at once on PostgreSQL would otherwise
    both add to the same `paid_minor` they read, and one payment would vanish from the balance."""
    query = (
        select(Installment)
        .where(Installment.policy_id == policy_id)
        .order_by(Installment.due_date, Installment.number)
    )
    rows = session.scalars(query.with_for_update() if lock else query)
    return [i for i in rows if i.status != "waived" and i.outstanding_minor > 0]


def in_flight_minor(session: Session, policy_id: str) -> int:
    """Money already on its way for this policy (charges recorded but not finished)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.policy_id == policy_id, Payment.status.in_(IN_FLIGHT)
            )
        )
        or 0
    )


def balance_minor(session: Session, policy_id: str) -> int:
    return sum(i.outstanding_minor for i in open_installments(session, policy_id))


def payable_minor(session: Session, policy_id: str) -> int:
    """What may still be charged: the balance less charges already in flight."""
    return max(balance_minor(session, policy_id) - in_flight_minor(session, policy_id), 0)


def active_method(session: Session, account_id: str, method_id: str) -> PaymentMethod:
    method = session.get(PaymentMethod, method_id)
    if method is None or method.account_id != account_id or method.status != "active":
        raise NotFound("payment.method_not_found", "That card is not saved on this account.")
    return method


def card_expired(method: PaymentMethod, today: date) -> bool:
    return (method.exp_year, method.exp_month) < (today.year, today.month)


def method_dict(m: PaymentMethod, today: date, autopay_policies: list[str]) -> dict[str, Any]:
    last_day = date(m.exp_year, m.exp_month, calendar.monthrange(m.exp_year, m.exp_month)[1])
    expired = last_day < today
    return {
        "id": m.id,
        "brand": m.brand,
        "last4": m.last4,
        "exp_month": m.exp_month,
        "exp_year": m.exp_year,
        "is_default": m.is_default,
        "expired": expired,
        "expires_soon": not expired and last_day <= today + timedelta(days=EXPIRY_WARNING_DAYS),
        "autopay_policy_ids": autopay_policies,
        "created_at": m.created_at,
    }


def payment_dict(p: Payment, policy_number: str = "") -> dict[str, Any]:
    return {
        "id": p.id,
        "policy_id": p.policy_id,
        "policy_number": policy_number,
        "kind": p.kind,
        "amount_minor": p.amount_minor,
        "currency": p.currency,
        "status": p.status,
        "payment_method_id": p.payment_method_id,
        "failure_code": p.failure_code,
        "failure_message": p.failure_message,
        "refunded_minor": p.refunded_minor,
        "receipt_number": p.receipt_number,
        "channel": p.channel,
        "created_at": p.created_at,
        "completed_at": p.completed_at,
    }


def scheduled_dict(s: ScheduledPayment) -> dict[str, Any]:
    return {
        "id": s.id,
        "policy_id": s.policy_id,
        "run_on": s.run_on,
        "amount_minor": s.amount_minor,
        "currency": s.currency,
        "payment_method_id": s.payment_method_id,
        "status": s.status,
        "payment_id": s.payment_id,
        "created_at": s.created_at,
    }


def autopay_terms(policy: Policy, method: PaymentMethod, timeline: Timeline) -> str:
    """The exact authorisation text a customer agrees to when enrolling this card."""
    return AUTOPAY_TERMS.format(
        insurer=INSURER_NAME,
        brand=method.brand.capitalize(),
        last4=method.last4,
        policy=policy.number,
        reminder_days=timeline.reminder_days,
    )


# --- the payments view ------------------------------------------------------------------------


def payments_view(
    session: Session, actor: Actor, clock: Clock, *, account_id: str, timeline: Timeline
) -> dict[str, Any]:
    """Everything the Payments page shows: schedules, cards, autopay, scheduled payments, history."""
    authorize_account(session, actor, clock, account_id)
    policies = list(
        session.scalars(select(Policy).where(Policy.account_id == account_id).order_by(Policy.number))
    )
    numbers = {p.id: p.number for p in policies}
    enrollments = {
        e.policy_id: e
        for e in session.scalars(select(AutopayEnrollment).where(AutopayEnrollment.account_id == account_id))
    }
    methods = list(
        session.scalars(
            select(PaymentMethod)
            .where(PaymentMethod.account_id == account_id, PaymentMethod.status == "active")
            .order_by(PaymentMethod.is_default.desc(), PaymentMethod.created_at)
        )
    )
    today_any = policy_today(policies[0], clock) if policies else clock.now().date()
    by_method: dict[str, list[str]] = {}
    for e in enrollments.values():
        if e.status == "active":
            by_method.setdefault(e.payment_method_id, []).append(e.policy_id)
    policy_rows = []
    for p in policies:
        today = policy_today(p, clock)
        installments = list(
            session.scalars(
                select(Installment).where(Installment.policy_id == p.id).order_by(Installment.number)
            )
        )
        open_items = [i for i in installments if i.status != "waived" and i.outstanding_minor > 0]
        enrollment = enrollments.get(p.id)
        delinquency = session.scalar(
            select(Delinquency)
            .where(Delinquency.policy_id == p.id)
            .order_by(Delinquency.grace_started_at.desc())
            .limit(1)
        )
        policy_rows.append(
            {
                "policy_id": p.id,
                "number": p.number,
                "product_line": p.product_line,
                "status": p.status,
                "time_zone": p.time_zone,
                "currency": p.currency,
                "pay_plan": p.pay_plan,
                "payment_day": p.payment_day,
                "today": today,
                "balance_minor": sum(i.outstanding_minor for i in open_items),
                "past_due_minor": sum(i.outstanding_minor for i in open_items if i.due_date < today),
                "payable_minor": payable_minor(session, p.id),
                "in_flight_minor": in_flight_minor(session, p.id),
                "installments": [
                    {
                        "id": i.id,
                        "number": i.number,
                        "due_date": i.due_date,
                        "amount_minor": i.amount_minor,
                        "paid_minor": i.paid_minor,
                        "currency": i.currency,
                        "status": "past_due"
                        if i.outstanding_minor > 0 and i.due_date < today and i.status != "waived"
                        else i.status,
                        "paid_at": i.paid_at,
                    }
                    for i in installments
                ],
                "autopay": None
                if enrollment is None
                else {
                    "status": enrollment.status,
                    "payment_method_id": enrollment.payment_method_id,
                    "authorized_at": enrollment.authorized_at,
                    "authorization_text": enrollment.authorization_text,
                    "consecutive_failures": enrollment.consecutive_failures,
                    "suspended_at": enrollment.suspended_at,
                },
                "autopay_enabled": p.autopay_enabled,
                "delinquency": None
                if delinquency is None
                else {
                    "status": delinquency.status,
                    "due_date": delinquency.due_date,
                    "grace_ends_on": delinquency.grace_ends_on,
                    "cancel_on": delinquency.cancel_on,
                    "reinstate_until": delinquency.reinstate_until,
                    "grace_started_at": delinquency.grace_started_at,
                    "pending_cancellation_at": delinquency.pending_cancellation_at,
                    "cancelled_at": delinquency.cancelled_at,
                    "reinstated_at": delinquency.reinstated_at,
                    "cured_at": delinquency.cured_at,
                },
                "autopay_terms": {m.id: autopay_terms(p, m, timeline) for m in methods},
            }
        )
    scheduled = list(
        session.scalars(
            select(ScheduledPayment)
            .where(ScheduledPayment.account_id == account_id)
            .order_by(ScheduledPayment.run_on.desc(), ScheduledPayment.created_at.desc())
            .limit(100)
        )
    )
    history = list(
        session.scalars(
            select(Payment)
            .where(Payment.account_id == account_id)
            .order_by(Payment.created_at.desc())
            .limit(200)
        )
    )
    rows = [payment_dict(h, numbers.get(h.policy_id, "")) for h in history]
    rows += _paid_outside_portal(session, numbers)
    rows.sort(key=lambda r: r["created_at"], reverse=True)  # newest first, as before
    return {
        "account_id": account_id,
        "policies": policy_rows,
        "methods": [method_dict(m, today_any, by_method.get(m.id, [])) for m in methods],
        "scheduled": [scheduled_dict(s) for s in scheduled],
        "history": rows,
    }


def paid_outside_portal(
    session: Session,
    policy_ids: list[str],
    *,
    paid_from: datetime | None = None,
    paid_before: datetime | None = None,
) -> list[tuple[Installment, int]]:
    """Installments paid for more than the Portal payments that went to them, with that amount.

    Billing history brought over from before Portal (the demo's earlier installments) is paid
    with no Payment row behind it; the payment history and the dispute answers both list it, so
    neither disagrees with an installment shown as Paid.
    """
    if not policy_ids:
        return []
    charged = (
        select(func.coalesce(func.sum(PaymentAllocation.amount_minor), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.installment_id == Installment.id, Payment.status == "succeeded")
        .scalar_subquery()
    )
    query = select(Installment, charged).where(
        Installment.policy_id.in_(policy_ids),
        Installment.paid_minor > 0,
        Installment.paid_at.is_not(None),
        Installment.paid_minor > charged,
    )
    if paid_from is not None:
        query = query.where(Installment.paid_at >= paid_from)
    if paid_before is not None:
        query = query.where(Installment.paid_at < paid_before)
    rows = session.execute(query.order_by(Installment.paid_at)).all()
    return [(inst, inst.paid_minor - int(done or 0)) for inst, done in rows]


def _paid_outside_portal(session: Session, numbers: dict[str, str]) -> list[dict[str, Any]]:
    """History rows for installments paid with no Portal payment behind them: without them the
    history omitted payments the schedule shows as Paid."""
    return [
        {
            "id": inst.id,
            "policy_id": inst.policy_id,
            "policy_number": numbers.get(inst.policy_id, ""),
            "kind": "installment",
            "amount_minor": amount,
            "currency": inst.currency,
            "status": "succeeded",
            "payment_method_id": None,
            "failure_code": None,
            "failure_message": None,
            "refunded_minor": 0,
            "receipt_number": None,
            "channel": "system",
            "created_at": inst.paid_at,
            "completed_at": inst.paid_at,
        }
        for inst, amount in paid_outside_portal(session, list(numbers))
    ]


# --- saved cards ------------------------------------------------------------------------------


def ensure_customer(session: Session, gateway: PaymentGateway, clock: Clock, account_id: str) -> str:
    """The account's Stripe customer, created on first use."""
    row = session.get(StripeCustomer, account_id)
    if row is not None:
        return row.stripe_customer_id
    holder = session.scalar(
        select(AccountHolder)
        .where(AccountHolder.account_id == account_id)
        .order_by(AccountHolder.is_primary.desc(), AccountHolder.id)
        .limit(1)
    )
    customer_id = gateway.create_customer(
        account_id=account_id,
        name=holder.full_name if holder else account_id,
        email=holder.email if holder else None,
        idempotency_key=f"portal:customer:{account_id}",
    )
    session.add(StripeCustomer(account_id=account_id, stripe_customer_id=customer_id, created_at=clock.now()))
    session.flush()
    return customer_id


def add_payment_method(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    gateway: PaymentGateway,
    account_id: str,
    stripe_payment_method_id: str,
    make_default: bool,
) -> PaymentMethod:
    """Save a card the client tokenised with Stripe: we keep its id, brand, last four, expiry."""
    _, acting = authorize_account(session, actor, clock, account_id)
    if not stripe_payment_method_id.startswith("pm_"):
        raise Invalid("payment.method_invalid", "That is not a card reference from Stripe.")
    existing = session.scalar(
        select(PaymentMethod).where(PaymentMethod.stripe_payment_method_id == stripe_payment_method_id)
    )
    if existing is not None:
        if existing.account_id != account_id or existing.status != "active":
            raise Conflict("payment.method_unavailable", "That card reference cannot be used here.")
        return existing
    customer_id = ensure_customer(session, gateway, clock, account_id)
    try:
        card: CardInfo = gateway.attach_card(
            payment_method_id=stripe_payment_method_id, customer_id=customer_id
        )
    except GatewayError as exc:
        raise _gateway_problem(exc) from exc
    count = session.scalar(
        select(func.count()).where(PaymentMethod.account_id == account_id, PaymentMethod.status == "active")
    )
    method = PaymentMethod(
        id=new_id("pmt"),
        account_id=account_id,
        stripe_payment_method_id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=make_default or not count,
        status="active",
        created_at=clock.now(),
    )
    if method.is_default:
        _clear_default(session, account_id)
    session.add(method)
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="payment_method.added",
        account_id=account_id,
        entity_type="payment_method",
        entity_id=method.id,
        after={
            "brand": card.brand,
            "last4": card.last4,
            "exp": f"{card.exp_month:02d}/{card.exp_year}",
            "default": method.is_default,
        },
    )
    return method


def _clear_default(session: Session, account_id: str) -> None:
    for m in session.scalars(
        select(PaymentMethod).where(
            PaymentMethod.account_id == account_id, PaymentMethod.is_default.is_(True)
        )
    ):
        m.is_default = False


def set_default_method(
    session: Session, actor: Actor, clock: Clock, *, account_id: str, method_id: str
) -> PaymentMethod:
    """Make one saved card the default for new payments."""
    _, acting = authorize_account(session, actor, clock, account_id)
    method = active_method(session, account_id, method_id)
    if method.is_default:
        return method
    _clear_default(session, account_id)
    method.is_default = True
    audit.record(
        session,
        acting,
        clock,
        action="payment_method.default_set",
        account_id=account_id,
        entity_type="payment_method",
        entity_id=method.id,
        after={"last4": method.last4, "brand": method.brand},
    )
    return method


def remove_payment_method(
    session: Session, actor: Actor, clock: Clock, *, gateway: PaymentGateway, account_id: str, method_id: str
) -> None:
    """Remove a saved card; refused while autopay or a scheduled payment uses it."""
    _, acting = authorize_account(session, actor, clock, account_id)
    method = active_method(session, account_id, method_id)
    autopay = session.scalar(
        select(AutopayEnrollment).where(
            AutopayEnrollment.payment_method_id == method.id, AutopayEnrollment.status == "active"
        )
    )
    if autopay is not None:
        number = session.get(Policy, autopay.policy_id)
        raise Conflict(
            "payment.method_in_use_by_autopay",
            f"This card pays policy {number.number if number else ''} by autopay. Switch autopay to "
            "another card or off before removing it.",
            policy_id=autopay.policy_id,
        )
    scheduled = session.scalar(
        select(ScheduledPayment).where(
            ScheduledPayment.payment_method_id == method.id, ScheduledPayment.status == "scheduled"
        )
    )
    if scheduled is not None:
        raise Conflict(
            "payment.method_in_use_by_schedule",
            f"A payment scheduled for {scheduled.run_on.isoformat()} uses this card. "
            "Change or cancel it first.",
            scheduled_payment_id=scheduled.id,
        )
    try:
        gateway.detach_card(payment_method_id=method.stripe_payment_method_id)
    except GatewayError as exc:
        raise _gateway_problem(exc) from exc
    method.status = "removed"
    method.removed_at = clock.now()
    was_default = method.is_default
    method.is_default = False
    if was_default:
        successor = session.scalar(
            select(PaymentMethod)
            .where(
                PaymentMethod.account_id == account_id,
                PaymentMethod.status == "active",
                PaymentMethod.id != method.id,
            )
            .order_by(PaymentMethod.created_at)
            .limit(1)
        )
        if successor is not None:
            successor.is_default = True
    audit.record(
        session,
        acting,
        clock,
        action="payment_method.removed",
        account_id=account_id,
        entity_type="payment_method",
        entity_id=method.id,
        before={"brand": method.brand, "last4": method.last4},
    )


# --- autopay ----------------------------------------------------------------------------------


def enroll_autopay(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    timeline: Timeline,
    policy_id: str,
    payment_method_id: str,
    authorization_text: str,
) -> AutopayEnrollment:
    """Switch autopay on with a saved card; stores the exact text agreed to and when."""
    policy, acting = policy_for(session, actor, clock, policy_id, lock=True)
    if policy.status in CLOSED_POLICY_STATUSES:
        raise Conflict("payment.policy_closed", "Autopay cannot be set up on a policy that is not in force.")
    method = active_method(session, policy.account_id, payment_method_id)
    if card_expired(method, policy_today(policy, clock)):
        raise Invalid("payment.method_expired", "That card has expired. Choose or add another card.")
    terms = autopay_terms(policy, method, timeline)
    if " ".join(authorization_text.split()) != " ".join(terms.split()):
        raise Invalid(
            "payment.authorization_mismatch",
            "The authorisation text does not match the terms for this card. Review and agree again.",
        )
    now = clock.now()
    enrollment = session.get(AutopayEnrollment, policy.id)
    before = None
    if enrollment is None:
        enrollment = AutopayEnrollment(policy_id=policy.id, account_id=policy.account_id)
        session.add(enrollment)
    else:
        before = {"status": enrollment.status, "payment_method_id": enrollment.payment_method_id}
    enrollment.payment_method_id = method.id
    enrollment.status = "active"
    enrollment.authorization_text = terms
    enrollment.authorized_at = now
    enrollment.authorized_by = actor.user_id
    enrollment.consecutive_failures = 0
    enrollment.suspended_at = None
    enrollment.updated_at = now
    policy.autopay_enabled = True
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="autopay.enrolled",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        before=before,
        after={
            "status": "active",
            "payment_method_id": method.id,
            "card": f"{method.brand} {method.last4}",
            "authorization_text": terms,
            "authorized_at": now,
        },
    )
    return enrollment


def disable_autopay(
    session: Session, actor: Actor, clock: Clock, *, policy_id: str
) -> AutopayEnrollment | None:
    """Switch autopay off (charges already in progress finish)."""
    policy, acting = policy_for(session, actor, clock, policy_id, lock=True)
    enrollment = session.get(AutopayEnrollment, policy.id)
    if enrollment is None or enrollment.status == "off":
        policy.autopay_enabled = False
        return enrollment
    before = enrollment.status
    enrollment.status = "off"
    enrollment.updated_at = clock.now()
    policy.autopay_enabled = False
    audit.record(
        session,
        acting,
        clock,
        action="autopay.disabled",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        before={"status": before},
        after={"status": "off"},
    )
    return enrollment


# --- payment day ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayChange:
    policy: Policy
    moved: list[tuple[str, date, date]]


def set_payment_day(
    session: Session, actor: Actor, clock: Clock, *, timeline: Timeline, policy_id: str, day: int
) -> DayChange:
    """Move the day of the month future installments fall due; each refusal says why."""
    policy, acting = policy_for(session, actor, clock, policy_id, lock=True)
    if not PAYMENT_DAY_MIN <= day <= PAYMENT_DAY_MAX:
        raise Invalid(
            "payment.day_out_of_range", f"Choose a day between {PAYMENT_DAY_MIN} and {PAYMENT_DAY_MAX}."
        )
    if policy.status in CLOSED_POLICY_STATUSES:
        raise Conflict(
            "payment.policy_closed", "The payment day cannot change on a policy that is not in force."
        )
    if in_flight_minor(session, policy.id) > 0:
        raise Conflict(
            "payment.charge_in_flight",
            "A payment on this policy is being processed. Try again when it has finished.",
        )
    today = policy_today(policy, clock)
    if day == policy.payment_day:
        return DayChange(policy, [])
    moves: list[tuple[Installment, date]] = []
    for inst in open_installments(session, policy.id):
        if inst.due_date <= today:
            continue  # due already: past the point where its date can change
        new_due = inst.due_date.replace(
            day=min(day, calendar.monthrange(inst.due_date.year, inst.due_date.month)[1])
        )
        if new_due <= today:
            continue  # would land in the past: this cycle keeps its date, later ones move
        if new_due > inst.due_date + timedelta(days=timeline.grace_days):
            latest = inst.due_date + timedelta(days=timeline.grace_days)
            raise Invalid(
                "payment.day_beyond_grace",
                f"Moving to day {day} would push the installment due {inst.due_date.isoformat()} past its "
                f"{timeline.grace_days}-day grace period (latest {latest.isoformat()}).",
                installment_id=inst.id,
                latest_date=latest.isoformat(),
            )
        moves.append((inst, new_due))
    before_day = policy.payment_day
    policy.payment_day = day
    for inst, new_due in moves:
        inst.due_date = new_due
    audit.record(
        session,
        acting,
        clock,
        action="policy.payment_day_changed",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        before={"payment_day": before_day},
        after={"payment_day": day, "moved": [{"installment_id": i.id, "due_date": d} for i, d in moves]},
    )
    return DayChange(policy, [(i.id, i.due_date, d) for i, d in moves])


# --- scheduled payments -----------------------------------------------------------------------


def _check_schedule(session: Session, policy: Policy, clock: Clock, run_on: date, amount_minor: int) -> None:
    today = policy_today(policy, clock)
    if run_on <= today:
        raise Invalid(
            "payment.date_not_future", "Choose a date after today. To pay today, use Pay now.", field="run_on"
        )
    if run_on > today + timedelta(days=MAX_SCHEDULE_AHEAD_DAYS):
        raise Invalid("payment.date_too_far", "Payments can be scheduled up to a year ahead.", field="run_on")
    if amount_minor <= 0:
        raise Invalid(
            "payment.amount_not_positive", "Enter an amount greater than zero.", field="amount_minor"
        )
    if amount_minor > balance_minor(session, policy.id):
        raise Invalid(
            "payment.amount_over_balance",
            "The amount is more than the policy's balance.",
            field="amount_minor",
            balance_minor=balance_minor(session, policy.id),
        )


def schedule_payment(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    policy_id: str,
    run_on: date,
    amount_minor: int,
    payment_method_id: str,
) -> ScheduledPayment:
    """A one-off payment on a future date; it runs once, on that date."""
    policy, acting = policy_for(session, actor, clock, policy_id, lock=True)
    if policy.status in CLOSED_POLICY_STATUSES:
        raise Conflict(
            "payment.policy_closed", "Payments cannot be scheduled on a policy that is not in force."
        )
    method = active_method(session, policy.account_id, payment_method_id)
    _check_schedule(session, policy, clock, run_on, amount_minor)
    now = clock.now()
    sp = ScheduledPayment(
        id=new_id("spm"),
        account_id=policy.account_id,
        policy_id=policy.id,
        run_on=run_on,
        amount_minor=amount_minor,
        currency=policy.currency,
        payment_method_id=method.id,
        status="scheduled",
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(sp)
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="scheduled_payment.created",
        account_id=policy.account_id,
        entity_type="scheduled_payment",
        entity_id=sp.id,
        after={
            "policy_number": policy.number,
            "run_on": run_on,
            "amount_minor": amount_minor,
            "currency": policy.currency,
            "card": f"{method.brand} {method.last4}",
        },
    )
    return sp


def _editable(
    session: Session, actor: Actor, clock: Clock, scheduled_id: str
) -> tuple[ScheduledPayment, Policy, Actor]:
    sp = session.get(ScheduledPayment, scheduled_id, with_for_update=True)
    if sp is None:
        raise NotFound("payment.scheduled_not_found", "We could not find that scheduled payment.")
    try:
        policy, acting = policy_for(session, actor, clock, sp.policy_id, lock=True)
    except NotFound:
        raise NotFound("payment.scheduled_not_found", "We could not find that scheduled payment.") from None
    if sp.status != "scheduled":
        raise Conflict(
            "payment.scheduled_not_editable",
            "This payment has already run or was cancelled, so it cannot be changed.",
            status_now=sp.status,
        )
    return sp, policy, acting


def update_scheduled_payment(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    scheduled_id: str,
    run_on: date | None,
    amount_minor: int | None,
    payment_method_id: str | None,
) -> ScheduledPayment:
    """Change the date, amount or card of a payment that has not run yet."""
    sp, policy, acting = _editable(session, actor, clock, scheduled_id)
    before = scheduled_dict(sp)
    new_run_on = run_on or sp.run_on
    new_amount = amount_minor if amount_minor is not None else sp.amount_minor
    if payment_method_id is not None:
        sp.payment_method_id = active_method(session, policy.account_id, payment_method_id).id
    _check_schedule(session, policy, clock, new_run_on, new_amount)
    sp.run_on, sp.amount_minor, sp.updated_at = new_run_on, new_amount, clock.now()
    audit.record(
        session,
        acting,
        clock,
        action="scheduled_payment.updated",
        account_id=policy.account_id,
        entity_type="scheduled_payment",
        entity_id=sp.id,
        before={k: before[k] for k in ("run_on", "amount_minor", "payment_method_id")},
        after={
            "run_on": sp.run_on,
            "amount_minor": sp.amount_minor,
            "payment_method_id": sp.payment_method_id,
        },
    )
    return sp


def cancel_scheduled_payment(
    session: Session, actor: Actor, clock: Clock, *, scheduled_id: str
) -> ScheduledPayment:
    """Cancel a payment that has not run yet."""
    sp, policy, acting = _editable(session, actor, clock, scheduled_id)
    sp.status = "canceled"
    sp.updated_at = clock.now()
    audit.record(
        session,
        acting,
        clock,
        action="scheduled_payment.canceled",
        account_id=policy.account_id,
        entity_type="scheduled_payment",
        entity_id=sp.id,
        before={"status": "scheduled"},
        after={"status": "canceled", "run_on": sp.run_on, "amount_minor": sp.amount_minor},
    )
    return sp


# --- refunds ----------------------------------------------------------------------------------


REFUND_ROLES = ("supervisor", "admin")


def begin_refund(
    session: Session, actor: Actor, clock: Clock, *, payment_id: str, amount_minor: int, reason: str
) -> Refund:
    """Record a refund before asking Stripe for it; never more than what is left of the payment."""
    if actor.role not in REFUND_ROLES:
        raise Forbidden("payment.refund_forbidden", "Only a supervisor can refund a payment.")
    payment = session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound("payment.not_found", "We could not find that payment.")
    _, acting = authorize_account(session, actor, clock, payment.account_id)
    if payment.status != "succeeded":
        raise Conflict("payment.not_refundable", "Only a completed payment can be refunded.")
    if not reason.strip():
        raise Invalid("payment.refund_reason_required", "Give the reason for the refund.", field="reason")
    if amount_minor <= 0:
        raise Invalid(
            "payment.amount_not_positive", "Enter an amount greater than zero.", field="amount_minor"
        )
    pending = int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
                Refund.payment_id == payment.id, Refund.status == "pending"
            )
        )
        or 0
    )
    refundable = payment.amount_minor - payment.refunded_minor - pending
    if amount_minor > refundable:
        raise Invalid(
            "payment.refund_over_paid",
            f"At most {refundable} (minor units) of this payment can still be refunded.",
            field="amount_minor",
            refundable_minor=refundable,
        )
    refund = Refund(
        id=new_id("rfd"),
        payment_id=payment.id,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason=reason.strip(),
        status="pending",
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(refund)
    session.flush()
    audit.record(
        session,
        acting,
        clock,
        action="refund.requested",
        account_id=payment.account_id,
        entity_type="refund",
        entity_id=refund.id,
        after={
            "payment_id": payment.id,
            "amount_minor": amount_minor,
            "currency": payment.currency,
            "reason": refund.reason,
        },
    )
    return refund


def _gateway_problem(exc: GatewayError) -> DomainError:
    status = {"payment.card_declined": 402, "payment.gateway_unavailable": 503}.get(exc.code, 422)
    return DomainError(exc.code, exc.message, status=status)

"""Delinquency: an unpaid installment starts a grace period; when grace ends the policy goes to
pending cancellation (with a notice); on the cancellation date it is cancelled for non-payment;
paid within the reinstatement window it is reinstated. Each step is audited with its time.

The periods come from settings (grace_days, cancel_after_days, reinstate_within_days) and every
date is a business date in the policy's time zone.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.service import policy_today
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.payments import service as payments
from services.payments.models import Delinquency
from services.policies.models import Policy

if TYPE_CHECKING:
    from services.payments.runtime import PaymentsRuntime

OPEN = ("grace", "pending_cancellation", "cancelled")


def open_episode(session: Session, policy_id: str) -> Delinquency | None:
    return session.scalar(
        select(Delinquency)
        .where(Delinquency.policy_id == policy_id, Delinquency.status.in_(OPEN))
        .order_by(Delinquency.grace_started_at.desc())
        .limit(1)
    )


def oldest_past_due(session: Session, policy: Policy, today: date) -> payments.Installment | None:
    for inst in payments.open_installments(session, policy.id):
        if inst.due_date < today:
            return inst
    return None


def can_reinstate(session: Session, policy: Policy, clock: Clock) -> bool:
    """A cancelled policy may still be paid (and reinstated) inside its window."""
    ep = open_episode(session, policy.id)
    return (
        ep is not None
        and ep.status == "cancelled"
        and ep.reinstate_until is not None
        and policy_today(policy, clock) <= ep.reinstate_until
    )


def advance(session: Session, rt: PaymentsRuntime, policy: Policy) -> str | None:
    """Move the policy along the timeline as far as today allows; returns the new step, if any."""
    actor = Actor.system("Billing")
    clock = rt.clock
    t = rt.timeline
    today = policy_today(policy, clock)
    ep = open_episode(session, policy.id)
    late = oldest_past_due(session, policy, today)
    now = clock.now()
    if ep is None:
        if late is None or policy.status in ("cancelled", "lapsed", "expired"):
            return None
        ep = Delinquency(
            id=new_id("dlq"),
            policy_id=policy.id,
            account_id=policy.account_id,
            installment_id=late.id,
            status="grace",
            due_date=late.due_date,
            grace_ends_on=late.due_date + timedelta(days=t.grace_days),
            cancel_on=late.due_date + timedelta(days=t.cancel_after_days),
            grace_started_at=now,
        )
        session.add(ep)
        late.status = "past_due"
        session.flush()
        audit.record(
            session,
            actor,
            clock,
            action="delinquency.grace_started",
            account_id=policy.account_id,
            entity_type="policy",
            entity_id=policy.id,
            after={
                "installment_id": late.id,
                "due_date": late.due_date,
                "amount_minor": late.outstanding_minor,
                "grace_ends_on": ep.grace_ends_on,
                "cancel_on": ep.cancel_on,
                "notice": "payment_past_due",
            },
        )
        step = "grace"
    else:
        step = None
    if late is None:
        return step
    if ep.status == "grace" and today > ep.grace_ends_on:
        ep.status = "pending_cancellation"
        ep.pending_cancellation_at = now
        before = policy.status
        policy.status = "pending_cancellation"
        audit.record(
            session,
            actor,
            clock,
            action="policy.pending_cancellation",
            account_id=policy.account_id,
            entity_type="policy",
            entity_id=policy.id,
            before={"status": before},
            after={
                "status": "pending_cancellation",
                "cancel_on": ep.cancel_on,
                "amount_past_due_minor": late.outstanding_minor,
                "notice": "pending_cancellation",
            },
        )
        step = "pending_cancellation"
    if ep.status == "pending_cancellation" and today >= ep.cancel_on:
        ep.status = "cancelled"
        ep.cancelled_at = now
        ep.reinstate_until = ep.cancel_on + timedelta(days=t.reinstate_within_days)
        before = policy.status
        policy.status = "cancelled"
        policy.autopay_enabled = False
        audit.record(
            session,
            actor,
            clock,
            action="policy.cancelled_nonpayment",
            account_id=policy.account_id,
            entity_type="policy",
            entity_id=policy.id,
            before={"status": before},
            after={
                "status": "cancelled",
                "reinstate_until": ep.reinstate_until,
                "notice": "cancelled_nonpayment",
            },
        )
        step = "cancelled"
    return step


def after_payment(session: Session, rt: PaymentsRuntime, policy: Policy, actor: Actor) -> None:
    """A payment landed: cure the episode, or reinstate a cancelled policy inside the window."""
    ep = open_episode(session, policy.id)
    if ep is None:
        return
    today = policy_today(policy, rt.clock)
    if oldest_past_due(session, policy, today) is not None:
        return  # still behind: the episode goes on
    now = rt.clock.now()
    before = policy.status
    if ep.status == "cancelled":
        if ep.reinstate_until is None or today > ep.reinstate_until:
            return
        ep.status = "reinstated"
        ep.reinstated_at = now
        policy.status = "reinstated"
        audit.record(
            session,
            actor,
            rt.clock,
            action="policy.reinstated",
            account_id=policy.account_id,
            entity_type="policy",
            entity_id=policy.id,
            before={"status": before},
            after={"status": "reinstated", "cancelled_at": ep.cancelled_at, "notice": "reinstated"},
        )
        return
    ep.status = "cured"
    ep.cured_at = now
    if policy.status == "pending_cancellation":
        policy.status = "active"
    audit.record(
        session,
        actor,
        rt.clock,
        action="delinquency.cured",
        account_id=policy.account_id,
        entity_type="policy",
        entity_id=policy.id,
        before={"status": before},
        after={"status": policy.status, "episode": ep.id},
    )


def needs_attention(session: Session, policy: Policy, clock: Clock) -> bool:
    """An open episode to move on, or an installment late in the policy's own zone."""
    if open_episode(session, policy.id) is not None:
        return True
    return oldest_past_due(session, policy, policy_today(policy, clock)) is not None


def policies_to_check(session: Session, clock: Clock) -> list[Policy]:
    """Policies with an open episode or an unpaid installment already due (cheap pre-filter)."""
    # Every zone's date is within a day of UTC's: this over-selects a little, and
    # `needs_attention` then checks each policy in its own zone.
    soon = clock.now().date() + timedelta(days=1)
    late_ids = set(
        session.scalars(
            select(payments.Installment.policy_id).where(
                payments.Installment.due_date < soon,
                payments.Installment.paid_minor < payments.Installment.amount_minor,
                payments.Installment.status != "waived",
            )
        )
    )
    open_ids = set(session.scalars(select(Delinquency.policy_id).where(Delinquency.status.in_(OPEN))))
    ids = late_ids | open_ids
    if not ids:
        return []
    return list(session.scalars(select(Policy).where(Policy.id.in_(ids))))

"""Answers to the two common disputes, read straight from the audit trail and the payment records.

"I paid before you cancelled me": every payment attempt, scheduled payment, autopay run, sign-in
and notice between the missed due date and the cancellation, in order.
"I was charged twice": every charge for the period with its Stripe ids, duplicates flagged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.service import authorize_account
from services.actor import Actor
from services.audit.models import AuditEvent
from services.audit.narrative import category, describe, who
from services.clock import Clock
from services.errors import Forbidden, Invalid, NotFound
from services.payments.models import Delinquency, Installment, Payment, PaymentAllocation, Refund
from services.payments.service import paid_outside_portal
from services.policies.models import Policy

STAFF = {"agent", "supervisor", "admin", "branch_staff"}
# The kinds of event a cancellation dispute turns on.
CANCELLATION_CATEGORIES = {"payment", "scheduled payment", "autopay", "sign-in", "notice", "status"}


def _policy_for_staff(session: Session, actor: Actor, clock: Clock, policy_id: str) -> Policy:
    if actor.role not in STAFF:
        raise Forbidden("dispute.staff_only", "Dispute answers are for our staff.")
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFound("policy.not_found", "We could not find that policy.")
    authorize_account(session, actor, clock, policy.account_id)
    return policy


def event_row(e: AuditEvent, time_zone: str) -> dict[str, Any]:
    """An event as a dispute answer lists it: exact UTC time, the policy's local time, who, what."""
    local = e.occurred_at.astimezone(ZoneInfo(time_zone))
    return {
        "seq": e.seq,
        "event_id": e.event_id,
        "occurred_at": e.occurred_at,
        "local_time": local.isoformat(timespec="seconds"),
        "local_zone": local.tzname(),
        "category": category(e.action),
        "action": e.action,
        "outcome": e.outcome,
        "what": describe(e.action, e.after, e.before, e.outcome),
        "who": who(e.actor_role, e.actor_name, e.channel, e.on_behalf_of, e.branch_id),
        "entity_id": e.entity_id,
        "hash": e.hash,
    }


def _start_of_local_day(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def cancellation_answer(session: Session, actor: Actor, clock: Clock, *, policy_id: str) -> dict[str, Any]:
    """For a cancellation for non-payment: what happened between the due date and the cancellation."""
    policy = _policy_for_staff(session, actor, clock, policy_id)
    episode = session.scalar(
        select(Delinquency)
        .where(Delinquency.policy_id == policy.id)
        .order_by(Delinquency.cancelled_at.is_(None), Delinquency.grace_started_at.desc())
        .limit(1)
    )
    if episode is None:
        return {
            "policy_id": policy.id,
            "policy_number": policy.number,
            "time_zone": policy.time_zone,
            "applies": False,
            "reason": "no_missed_payment",
            "events": [],
        }
    start = _start_of_local_day(episode.due_date, policy.time_zone)
    end = episode.cancelled_at or clock.now()
    window = select(AuditEvent).where(
        AuditEvent.account_id == policy.account_id, AuditEvent.occurred_at >= start
    )
    # The window ends with the cancellation's own audit event (stamped a moment after the episode's
    # cancelled_at), so anything after it, however soon, is left out.
    cancel_seq = (
        session.scalar(
            select(AuditEvent.seq)
            .where(
                AuditEvent.account_id == policy.account_id,
                AuditEvent.action == "policy.cancelled_nonpayment",
                AuditEvent.entity_id == policy.id,
                AuditEvent.occurred_at >= episode.cancelled_at,
            )
            .order_by(AuditEvent.seq)
            .limit(1)
        )
        if episode.cancelled_at
        else None
    )
    window = (
        window.where(AuditEvent.seq <= cancel_seq)
        if cancel_seq
        else window.where(AuditEvent.occurred_at <= end)
    )
    events = session.scalars(window.order_by(AuditEvent.seq))
    rows = [
        event_row(e, policy.time_zone)
        for e in events
        if category(e.action) in CANCELLATION_CATEGORIES and _concerns(e, policy)
    ]
    installment = session.get(Installment, episode.installment_id)
    attempts = [r for r in rows if r["action"].startswith("payment.")]
    return {
        "policy_id": policy.id,
        "policy_number": policy.number,
        "time_zone": policy.time_zone,
        "applies": True,
        "status": episode.status,
        "due_date": episode.due_date.isoformat(),
        "amount_due_minor": installment.amount_minor if installment else None,
        "currency": policy.currency,
        "grace_ends_on": episode.grace_ends_on.isoformat(),
        "cancel_on": episode.cancel_on.isoformat(),
        "cancelled_at": episode.cancelled_at,
        "window_from": start,
        "window_to": end,
        "payment_attempts": len(attempts),
        "succeeded_before_cancellation": any(r["action"] == "payment.succeeded" for r in attempts),
        "events": rows,
    }


def _concerns(e: AuditEvent, policy: Policy) -> bool:
    """Account-wide events (sign-ins, cards) count; policy events only for this policy."""
    after = e.after or {}
    if e.entity_type == "policy":
        return e.entity_id == policy.id
    number = after.get("policy_number")
    return number is None or number == policy.number


RECORDED_KIND = "recorded"


def _paid_without_charge(
    session: Session, policy: Policy, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Installments marked paid in the period for more than any Portal charge paid towards them.

    Money recorded as received without a card charge through Portal (paid before the customer's
    account moved to Portal, as the demo household's earlier installments were) leaves no
    Payment row: each is listed as a payment of kind "recorded" with no Stripe id, so the answer
    agrees with the installment the customer and staff see as Paid.
    """
    rows = []
    for inst, amount in paid_outside_portal(session, [policy.id], paid_from=start, paid_before=end):
        paid_at = inst.paid_at
        assert paid_at is not None
        rows.append(
            {
                "payment_id": f"recorded:{inst.id}",
                "created_at": paid_at,
                "local_time": paid_at.astimezone(ZoneInfo(policy.time_zone)).isoformat(timespec="seconds"),
                "kind": RECORDED_KIND,
                "status": "succeeded",
                "amount_minor": amount,
                "refunded_minor": 0,
                "currency": inst.currency,
                "stripe_payment_intent_id": None,
                "idempotency_key": None,
                "receipt_number": None,
                "channel": "records",
                "installments": [inst.id],
                "installment_due_date": inst.due_date.isoformat(),
                "refunds": [],
            }
        )
    return rows


def double_charge_answer(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    policy_id: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """Every charge on the policy in the period (local dates), with Stripe ids and duplicates flagged."""
    policy = _policy_for_staff(session, actor, clock, policy_id)
    today = clock.now().astimezone(ZoneInfo(policy.time_zone)).date()
    date_to = date_to or today
    date_from = date_from or (date_to - timedelta(days=45))
    if date_from > date_to:
        raise Invalid("dispute.period_invalid", "The period must start before it ends.", field="from")
    if (date_to - date_from).days > 400:
        raise Invalid("dispute.period_too_long", "Choose a period of at most 400 days.", field="from")
    start = _start_of_local_day(date_from, policy.time_zone)
    end = _start_of_local_day(date_to + timedelta(days=1), policy.time_zone)
    payments = list(
        session.scalars(
            select(Payment)
            .where(Payment.policy_id == policy.id, Payment.created_at >= start, Payment.created_at < end)
            .order_by(Payment.created_at)
        )
    )
    charges: list[dict[str, Any]] = []
    taken_for: dict[str, list[str]] = {}
    for p in payments:
        allocations = list(
            session.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == p.id))
        )
        refunds = list(
            session.scalars(select(Refund).where(Refund.payment_id == p.id).order_by(Refund.created_at))
        )
        if p.status == "succeeded":
            for a in allocations:
                taken_for.setdefault(a.installment_id, []).append(p.id)
            taken_for.setdefault(f"source:{p.source_id}", []).append(p.id)
        charges.append(
            {
                "payment_id": p.id,
                "created_at": p.created_at,
                "local_time": p.created_at.astimezone(ZoneInfo(policy.time_zone)).isoformat(
                    timespec="seconds"
                ),
                "kind": p.kind,
                "status": p.status,
                "amount_minor": p.amount_minor,
                "refunded_minor": p.refunded_minor,
                "currency": p.currency,
                "stripe_payment_intent_id": p.stripe_payment_intent_id,
                "idempotency_key": p.idempotency_key,
                "receipt_number": p.receipt_number,
                "channel": p.channel,
                "installments": [a.installment_id for a in allocations],
                "refunds": [
                    {
                        "refund_id": r.id,
                        "amount_minor": r.amount_minor,
                        "status": r.status,
                        "stripe_refund_id": r.stripe_refund_id,
                    }
                    for r in refunds
                ],
            }
        )
    recorded = _paid_without_charge(session, policy, start, end)
    for r in recorded:
        for installment_id in r["installments"]:
            taken_for.setdefault(installment_id, []).append(r["payment_id"])
    charges = sorted(charges + recorded, key=lambda c: c["created_at"])
    duplicates = {pid for ids in taken_for.values() if len(ids) > 1 for pid in ids}
    for c in charges:
        c["possible_duplicate"] = c["payment_id"] in duplicates
    succeeded = [c for c in charges if c["status"] == "succeeded"]
    return {
        "policy_id": policy.id,
        "policy_number": policy.number,
        "time_zone": policy.time_zone,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "charges": charges,
        # Every payment the records show, card charges and installments recorded as paid alike:
        # an installment the customer sees as Paid is never missing from the count.
        "succeeded_count": len(succeeded),
        "card_charge_count": sum(1 for c in succeeded if c["kind"] != RECORDED_KIND),
        "recorded_count": sum(1 for c in succeeded if c["kind"] == RECORDED_KIND),
        "charged_minor": sum(c["amount_minor"] for c in succeeded),
        "refunded_minor": sum(c["refunded_minor"] for c in succeeded),
        "currency": policy.currency,
        "possible_duplicates": sorted(duplicates),
    }

"""Payment jobs run by services/jobs: autopay charges and their retries, reminders, scheduled
payments, delinquency steps and reconciliation of charges left in an unknown state."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.accounts.service import policy_today
from services.actor import Actor
from services.audit import service as audit
from services.jobs import writes
from services.jobs.queue import enqueue
from services.jobs.runner import JobInfo, JobRegistry, Retry
from services.payments import charging, delinquency
from services.payments.models import (
    IN_FLIGHT,
    AutopayEnrollment,
    Installment,
    Payment,
    PaymentMethod,
    ScheduledPayment,
)
from services.payments.runtime import PaymentsRuntime
from services.policies.models import Policy

REMINDER_JOB = "payments.autopay_reminder"
SCHEDULED_JOB = "payments.scheduled_run"
DELINQUENCY_JOB = "payments.delinquency"
DEMO_CARD_JOB = "payments.demo_card"
STALE_AFTER = timedelta(minutes=2)


def register(registry: JobRegistry, rt: PaymentsRuntime) -> None:
    """Payment job kinds and the sweep that enqueues them when they fall due."""
    registry.register(
        charging.AUTOPAY_JOB, lambda job: _autopay(rt, job), max_attempts=20, backoff_seconds=15
    )
    registry.register(SCHEDULED_JOB, lambda job: _scheduled(rt, job), max_attempts=20, backoff_seconds=15)
    registry.register(
        charging.RECONCILE_JOB, lambda job: _reconcile(rt, job), max_attempts=50, backoff_seconds=30
    )
    registry.register(REMINDER_JOB, lambda job: _reminder(rt, job))
    registry.register(DELINQUENCY_JOB, lambda job: _delinquency(rt, job))
    registry.register(DEMO_CARD_JOB, lambda job: _demo_card(rt, job), max_attempts=10, backoff_seconds=10)
    registry.add_sweep("payments", lambda: sweep(rt))


def sweep(rt: PaymentsRuntime) -> int:
    """Enqueue every payment job that is due now (dedupe keys make this safe to repeat)."""
    clock = rt.clock
    added = 0
    with writes.write(rt.db) as session:
        enrollments = list(
            session.scalars(select(AutopayEnrollment).where(AutopayEnrollment.status == "active"))
        )
        for e in enrollments:
            policy = session.get(Policy, e.policy_id)
            if policy is None or not policy.autopay_enabled:
                continue
            today = policy_today(policy, clock)
            rows = session.scalars(
                select(Installment).where(
                    Installment.policy_id == policy.id,
                    Installment.due_date <= today + timedelta(days=rt.timeline.reminder_days),
                    Installment.paid_minor < Installment.amount_minor,
                    Installment.status != "waived",
                )
            )
            for inst in rows:
                if inst.due_date <= today:
                    added += enqueue(
                        session,
                        clock,
                        charging.AUTOPAY_JOB,
                        {"installment_id": inst.id, "slot": 0},
                        dedupe_key=charging.autopay_key(inst.id, 0),
                        max_attempts=20,
                    )
                else:
                    added += enqueue(
                        session,
                        clock,
                        REMINDER_JOB,
                        {"installment_id": inst.id},
                        dedupe_key=f"reminder:{inst.id}:{inst.due_date.isoformat()}",
                    )
        for sp in session.scalars(select(ScheduledPayment).where(ScheduledPayment.status == "scheduled")):
            policy = session.get(Policy, sp.policy_id)
            if policy is not None and sp.run_on <= policy_today(policy, clock):
                added += enqueue(
                    session,
                    clock,
                    SCHEDULED_JOB,
                    {"scheduled_id": sp.id},
                    dedupe_key=f"scheduled:{sp.id}:{sp.run_on.isoformat()}",
                    max_attempts=20,
                )
        for policy in delinquency.policies_to_check(session, clock):
            if not delinquency.needs_attention(session, policy, clock):
                continue
            added += enqueue(
                session,
                clock,
                DELINQUENCY_JOB,
                {"policy_id": policy.id},
                dedupe_key=f"delinquency:{policy.id}:{policy_today(policy, clock).isoformat()}",
            )
        stale = clock.now() - STALE_AFTER
        for p in session.scalars(
            select(Payment).where(Payment.status.in_(IN_FLIGHT), Payment.updated_at < stale)
        ):
            added += enqueue(
                session,
                clock,
                charging.RECONCILE_JOB,
                {"payment_id": p.id},
                dedupe_key=f"reconcile:{p.id}",
                max_attempts=50,
            )
    return added


def _autopay(rt: PaymentsRuntime, job: JobInfo) -> None:
    result = charging.charge_installment(rt, job.payload["installment_id"], int(job.payload.get("slot", 0)))
    if result is not None and result.payment["status"] in IN_FLIGHT:
        raise Retry("charge outcome not known yet", timedelta(seconds=30))


def _scheduled(rt: PaymentsRuntime, job: JobInfo) -> None:
    result = charging.run_scheduled_payment(rt, job.payload["scheduled_id"])
    if result is not None and result.payment["status"] in IN_FLIGHT:
        raise Retry("charge outcome not known yet", timedelta(seconds=30))


def _reconcile(rt: PaymentsRuntime, job: JobInfo) -> None:
    result = charging.reconcile(rt, job.payload["payment_id"], Actor.system("Reconciliation"))
    if result.payment["status"] in IN_FLIGHT:
        raise Retry("Stripe has not settled it yet", timedelta(seconds=60))


def _reminder(rt: PaymentsRuntime, job: JobInfo) -> None:
    with writes.write(rt.db) as session:
        inst = session.get(Installment, job.payload["installment_id"])
        if inst is None or inst.outstanding_minor == 0:
            return
        policy = session.get(Policy, inst.policy_id)
        enrollment = session.get(AutopayEnrollment, inst.policy_id)
        if policy is None or enrollment is None or enrollment.status != "active":
            return
        method = session.get(PaymentMethod, enrollment.payment_method_id)
        # The notice itself is an audit event; the notifications domain delivers it.
        audit.record(
            session,
            Actor.system("Autopay"),
            rt.clock,
            action="autopay.reminder_sent",
            account_id=policy.account_id,
            entity_type="installment",
            entity_id=inst.id,
            after={
                "policy_number": policy.number,
                "due_date": inst.due_date,
                "amount_minor": inst.outstanding_minor,
                "currency": inst.currency,
                "card": f"{method.brand} {method.last4}" if method else "",
                "notice": "autopay_upcoming",
            },
        )


def _delinquency(rt: PaymentsRuntime, job: JobInfo) -> None:
    with writes.write(rt.db) as session:
        policy = session.get(Policy, job.payload["policy_id"], with_for_update=True)
        if policy is not None:
            delinquency.advance(session, rt, policy)


def _demo_card(rt: PaymentsRuntime, job: JobInfo) -> None:
    from services.payments.demo import add_demo_card

    add_demo_card(rt, job.payload["account_id"], job.payload["policy_id"])

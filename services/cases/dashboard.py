"""The supervisor's service figures: cases, resolution time, escalations, claims on time, autopay,
payments outside business hours. Read-only; computed from the tables and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit.models import AuditEvent
from services.cases.commitments import deadline_states
from services.cases.models import OPEN_CASE_STATUSES, Case
from services.claims.models import Claim
from services.claims.sla import end_of_day_utc
from services.clock import Clock
from services.errors import Forbidden
from services.payments.models import Payment
from services.policies.models import Policy

TARGET_HOURS = 24
BUSINESS_HOURS = (time(9, 0), time(17, 0))  # Mon-Fri, in the policy's local time


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def service_dashboard(session: Session, actor: Actor, clock: Clock, *, days: int = 14) -> dict[str, Any]:
    """Figures for the last `days` UTC days, today included (supervisors and administrators)."""
    if actor.role not in {"supervisor", "admin"}:
        raise Forbidden("dashboard.supervisor_only", "The service dashboard is for supervisors.")
    now = clock.now()
    today = _day(now)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(0), tzinfo=UTC)
    labels = [first + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(labels)}

    opened = [0] * days
    resolved = [0] * days
    resolution_hours: list[list[float]] = [[] for _ in range(days)]
    within_target = 0
    resolved_total = 0
    for case in session.scalars(select(Case).where((Case.opened_at >= since) | (Case.resolved_at >= since))):
        if case.opened_at >= since:
            opened[index[_day(case.opened_at)]] += 1
        if case.resolved_at is not None and case.resolved_at >= since:
            i = index[_day(case.resolved_at)]
            resolved[i] += 1
            hours = (case.resolved_at - case.opened_at).total_seconds() / 3600
            resolution_hours[i].append(hours)
            resolved_total += 1
            within_target += hours <= TARGET_HOURS

    escalations = [0] * days
    for (at,) in session.execute(
        select(AuditEvent.occurred_at).where(
            AuditEvent.action == "case.escalated", AuditEvent.occurred_at >= since
        )
    ):
        escalations[index[_day(at)]] += 1

    claims = _claims_on_time(session, since, now)
    autopay = _autopay(session, since, index, days)
    outside = _outside_hours(session, since)
    open_cases = list(session.scalars(select(Case).where(Case.status.in_(OPEN_CASE_STATUSES))))
    overdue = sum(1 for c in open_cases if any(d.overdue for d in deadline_states(c, now)))
    return {
        "generated_at": now,
        "days": [d.isoformat() for d in labels],
        "cases_opened": opened,
        "cases_resolved": resolved,
        "median_resolution_hours": [round(median(h), 1) if h else None for h in resolution_hours],
        "target_hours": TARGET_HOURS,
        "resolved_within_target": within_target,
        "resolved_total": resolved_total,
        "escalations": escalations,
        "open_cases": len(open_cases),
        "open_escalated": sum(1 for c in open_cases if c.escalation_reasons),
        "open_overdue": overdue,
        "claims": claims,
        "autopay": autopay,
        "payments_outside_hours": outside,
    }


def _claims_on_time(session: Session, since: datetime, now: datetime) -> dict[str, int]:
    """Claims filed in the window whose acknowledge / review step fell due: on time or not."""
    out = {"acknowledged_on_time": 0, "acknowledged_late": 0, "reviewed_on_time": 0, "reviewed_late": 0}
    rows = session.execute(
        select(Claim, Policy.time_zone)
        .join(Policy, Policy.id == Claim.policy_id)
        .where(Claim.submitted_at >= since)
    )
    for claim, zone in rows:
        for step, due_day, done in (
            ("acknowledged", claim.acknowledge_by, claim.acknowledged_at),
            ("reviewed", claim.review_by, claim.reviewed_at),
        ):
            if due_day is None:
                continue
            due = end_of_day_utc(due_day, zone)
            if done is not None:
                out[f"{step}_on_time" if done < due else f"{step}_late"] += 1
            elif now >= due:
                out[f"{step}_late"] += 1  # overdue counts against us already
    return out


def _autopay(session: Session, since: datetime, index: dict[date, int], days: int) -> dict[str, Any]:
    policies = list(
        session.scalars(
            select(Policy).where(Policy.status.in_(("active", "pending_cancellation", "reinstated")))
        )
    )
    enrolled = sum(1 for p in policies if p.autopay_enabled)
    enrolments = [0] * days
    disables = [0] * days
    for action, at in session.execute(
        select(AuditEvent.action, AuditEvent.occurred_at).where(
            AuditEvent.action.in_(("autopay.enrolled", "autopay.disabled")), AuditEvent.occurred_at >= since
        )
    ):
        (enrolments if action == "autopay.enrolled" else disables)[index[_day(at)]] += 1
    return {"enrolled": enrolled, "policies": len(policies), "enrolments": enrolments, "disables": disables}


def _outside_hours(session: Session, since: datetime) -> dict[str, int]:
    """Payments customers made themselves (pay now) by local time: outside Mon-Fri 09:00-17:00."""
    outside = inside = 0
    rows = session.execute(
        select(Payment.created_at, Policy.time_zone)
        .join(Policy, Policy.id == Payment.policy_id)
        .where(Payment.status == "succeeded", Payment.kind == "pay_now", Payment.created_at >= since)
    )
    for at, zone in rows:
        local = at.astimezone(ZoneInfo(zone))
        if local.weekday() < 5 and BUSINESS_HOURS[0] <= local.time() < BUSINESS_HOURS[1]:
            inside += 1
        else:
            outside += 1
    return {"outside": outside, "inside": inside}

"""What causes a notice: audit events (through the audit hook, in their own transaction) and
dates (payment due, pending cancellation before and after the date) found by the sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import AccountHolder
from services.accounts.service import policy_today
from services.audit.models import AuditEvent
from services.clock import Clock
from services.db.database import Database
from services.notifications.render import day, money
from services.notifications.service import queue_notice
from services.payments.models import AutopayEnrollment, Delinquency, Installment
from services.policies.models import Policy

# Days before a due date that a customer paying by hand is reminded (autopay has its own notice).
PAYMENT_DUE_DAYS = 3
# Days before the cancellation date for the final warning, and after it for the last chance.
FINAL_WARNING_DAYS = 3
AFTER_CANCEL_DAYS = 7

Rule = Callable[[Session, AuditEvent], None]
# The actor name documents.service.ensure_policy_documents records its lazy generation under.
LAZY_DOCUMENTS = "Document service"


def _policy_by_number(session: Session, number: str | None) -> Policy | None:
    if not number:
        return None
    return session.scalar(select(Policy).where(Policy.number == number))


def _queue(session: Session, event: AuditEvent, notice_type: str, data: dict[str, Any], **kw: Any) -> None:
    queue_notice(
        session,
        event.occurred_at,
        account_id=event.account_id,  # type: ignore[arg-type]
        notice_type=notice_type,
        subject_type=kw.pop("subject_type", event.entity_type),
        subject_id=kw.pop("subject_id", event.entity_id),
        data=data,
        cause_event_id=event.event_id,
        **kw,
    )


def _welcome(session: Session, event: AuditEvent) -> None:
    holder = session.get(AccountHolder, event.entity_id)
    if holder is None or holder.user_id is None:
        return  # no portal sign-in yet: nothing to welcome them to
    _queue(session, event, "welcome", {}, holder_ids=[holder.id], occasion="")


def _payment(notice_type: str) -> Rule:
    def rule(session: Session, event: AuditEvent) -> None:
        after = event.after or {}
        policy = _policy_by_number(session, after.get("policy_number"))
        _queue(session, event, notice_type, dict(after), policy_id=policy.id if policy else None)

    return rule


def _autopay_upcoming(session: Session, event: AuditEvent) -> None:
    after = event.after or {}
    policy = _policy_by_number(session, after.get("policy_number"))
    _queue(
        session,
        event,
        "autopay_upcoming",
        dict(after),
        policy_id=policy.id if policy else None,
        occasion=str(after.get("due_date", "")),
    )


def _policy_event(notice_type: str) -> Rule:
    def rule(session: Session, event: AuditEvent) -> None:
        policy = session.get(Policy, event.entity_id)
        if policy is None:
            return
        after = event.after or {}
        data: dict[str, Any] = {**after, "policy_number": policy.number}
        if notice_type == "pending_cancellation":
            data.update(stage_wording("notice"))
            data.update(amount_minor=after.get("amount_past_due_minor"), currency=policy.currency)
            occasion = f"notice:{after.get('cancel_on', '')}"
        else:
            data["cancelled_on"] = policy_today(policy, _At(event.occurred_at))
            occasion = data["cancelled_on"].isoformat()
        _queue(session, event, notice_type, data, policy_id=policy.id, occasion=occasion)

    return rule


CHANGE_TEXT = {
    "policy.payment_day_changed": "Your payment day is now day $payment_day of the month.",
    "autopay.enrolled": "Autopay is now on for policy $policy_number.",
    "autopay.disabled": (
        "Autopay is now off for policy $policy_number. Please pay each installment by its due date."
    ),
    "autopay.suspended": (
        "Autopay was paused for policy $policy_number after repeated card failures. "
        "Please pay by hand or add a new card."
    ),
}


def _policy_changed(session: Session, event: AuditEvent) -> None:
    policy = session.get(Policy, event.entity_id) if event.entity_type == "policy" else None
    after = event.after or {}
    if policy is None:
        policy = session.get(Policy, after.get("policy_id")) or _policy_by_number(
            session, after.get("policy_number")
        )
    if policy is None:
        return
    data = {
        **after,
        "policy_number": policy.number,
        "payment_day": after.get("payment_day", policy.payment_day),
    }
    data["change_text"] = CHANGE_TEXT[event.action]
    _queue(
        session,
        event,
        "policy_changed",
        data,
        policy_id=policy.id,
        subject_type="policy",
        subject_id=policy.id,
        occasion=event.event_id,
    )


def _document_ready(session: Session, event: AuditEvent) -> None:
    # Documents are generated lazily, on first view, by the "Document service": those are not news
    # (the customer is already looking at them), and neither is anything a customer's own viewing
    # caused. Documents issued by staff or other jobs (a letter, a statement) are.
    after = event.after or {}
    if event.actor_role == "policyholder" or event.actor_name == LAZY_DOCUMENTS:
        return
    if after.get("kind") in ("id_card", "id_card_wallet"):
        return
    policy = _policy_by_number(session, after.get("policy_number"))
    data = {**after, "document_title": after.get("title", "A document")}
    _queue(session, event, "document_ready", data, policy_id=policy.id if policy else None)


def _claim_received(session: Session, event: AuditEvent) -> None:
    from services.claims.models import Claim

    after = event.after or {}
    claim = session.get(Claim, event.entity_id)
    policy = session.get(Policy, claim.policy_id) if claim else None
    policy = policy or _policy_by_number(session, after.get("policy_number"))
    acknowledge_by = after.get("acknowledge_by") or (claim.acknowledge_by if claim else None)
    data = {
        **after,
        "claim_number": after.get("number") or (claim.number if claim else ""),
        "policy_number": policy.number if policy else after.get("policy_number", ""),
        "acknowledge_text": f"by {day(acknowledge_by)}" if acknowledge_by else "within one working day",
    }
    _queue(session, event, "claim_received", data, policy_id=policy.id if policy else None)


CLAIM_STATUS_TEXT = {
    "acknowledged": (
        "Claim $claim_number acknowledged",
        "We have acknowledged claim $claim_number and an adjuster is on it.",
    ),
    "in_review": ("Claim $claim_number is in review", "An adjuster is reviewing claim $claim_number."),
    "info_requested": (
        "More information needed for claim $claim_number",
        "We need more information to continue with claim $claim_number: $note",
    ),
    "approved": ("Claim $claim_number approved", "Claim $claim_number was approved. $amount_text"),
    "denied": (
        "Decision on claim $claim_number",
        "We could not approve claim $claim_number. The letter explains why and how to appeal.",
    ),
    "closed": ("Claim $claim_number closed", "Claim $claim_number is closed."),
}


def _claim_update(session: Session, event: AuditEvent) -> None:
    after = event.after or {}
    status = str(after.get("status", ""))
    if status not in CLAIM_STATUS_TEXT:
        return
    title, body = CLAIM_STATUS_TEXT[status]
    data = {
        **after,
        "claim_number": after.get("number", ""),
        "note": after.get("note") or "see the claim for details.",
    }
    if after.get("amount_minor") is not None:
        data["amount_text"] = f"Amount: {money(after['amount_minor'], after.get('currency'))}."
    else:
        data["amount_text"] = ""
    data.update(claim_title=title, claim_body=body, claim_sms=body)
    _queue(session, event, "claim_update", data, occasion=event.event_id)


CASE_TEXT = {
    "case.opened": (
        "We received your request",
        "Your request is with our customer care team; we will respond within 24 hours.",
    ),
    "case.acknowledged": (
        "Your request is being handled",
        "A member of our team is now handling your request.",
    ),
    "case.responded": ("New reply on your request", "We replied to your request: $message"),
    "case.resolved": (
        "Your request is resolved",
        "We have resolved your request. If anything is still wrong, reply in the app.",
    ),
    "case.closed": ("Your request is closed", "Your request is now closed."),
}


def _case_update(session: Session, event: AuditEvent) -> None:
    title, body = CASE_TEXT[event.action]
    data = {**(event.after or {}), "case_title": title, "case_body": body}
    _queue(session, event, "case_update", data, occasion=event.event_id)


RULES: dict[str, Rule] = {
    "holder.added": _welcome,
    "payment.succeeded": _payment("payment_received"),
    "payment.failed": _payment("payment_failed"),
    "autopay.reminder_sent": _autopay_upcoming,
    "policy.pending_cancellation": _policy_event("pending_cancellation"),
    "policy.cancelled_nonpayment": _policy_event("policy_cancelled"),
    "policy.reinstated": _policy_event("policy_reinstated"),
    **dict.fromkeys(CHANGE_TEXT, _policy_changed),
    "document.issued": _document_ready,
    "claim.filed": _claim_received,
    "claim.status_changed": _claim_update,
    **dict.fromkeys(CASE_TEXT, _case_update),
}


def on_audit_event(session: Session, event: AuditEvent) -> None:
    """The audit hook: queue the notices an event causes, in the event's own transaction.

    `notification.*` events (a notice sent, read, preferences changed) cause nothing: no loops."""
    if event.account_id is None or event.action.startswith("notification."):
        return
    rule = RULES.get(event.action)
    if rule is not None:
        rule(session, event)


class _At:
    """A Clock fixed at an event's time (business dates of the event, not of the sweep)."""

    def __init__(self, when: datetime) -> None:
        self.when = when

    def now(self) -> datetime:
        return self.when


# --- time-based notices ---------------------------------------------------------------------------


def stage_wording(stage: str) -> dict[str, str]:
    """Wording of the pending-cancellation notice before, just before and after the date."""
    texts = {
        "notice": (
            "Policy $policy_number will be cancelled on $cancel_on",
            "Your payment of $amount for policy $policy_number is past due. Unless it is paid, "
            "the policy will be cancelled on $cancel_on.",
            "policy $policy_number will be cancelled on $cancel_on unless $amount is paid.",
        ),
        "final": (
            "Final notice: policy $policy_number ends on $cancel_on",
            "This is your final notice: unless $amount is paid, policy $policy_number will be "
            "cancelled on $cancel_on.",
            "FINAL NOTICE: policy $policy_number ends on $cancel_on unless $amount is paid.",
        ),
        "after": (
            "You can still reinstate policy $policy_number",
            "Policy $policy_number was cancelled on $cancel_on. Pay $amount by $reinstate_until "
            "and we will reinstate it.",
            "policy $policy_number is cancelled. Pay $amount by $reinstate_until to reinstate it.",
        ),
    }
    title, body, sms = texts[stage]
    return {"stage": stage, "stage_title": title, "stage_body": body, "stage_sms": sms}


def _past_due_minor(session: Session, policy: Policy, today: date) -> tuple[int, str]:
    rows = session.scalars(
        select(Installment).where(
            Installment.policy_id == policy.id,
            Installment.due_date < today,
            Installment.paid_minor < Installment.amount_minor,
            Installment.status != "waived",
        )
    )
    items = list(rows)
    return sum(i.outstanding_minor for i in items), (items[0].currency if items else policy.currency)


def sweep(db: Database, clock: Clock) -> int:
    """Queue the notices that dates make due now; the dedupe keys make repeating it harmless."""
    added = 0
    now = clock.now()
    with db.write() as session:
        policies = {
            p.id: p
            for p in session.scalars(
                select(Policy).where(Policy.status.in_(("active", "reinstated", "pending_cancellation")))
            )
        }
        autopay = {
            e.policy_id
            for e in session.scalars(select(AutopayEnrollment).where(AutopayEnrollment.status == "active"))
        }
        # Payment due in N days, for policies paid by hand (autopay customers get autopay_upcoming).
        for policy in policies.values():
            if policy.id in autopay and policy.autopay_enabled:
                continue
            today = policy_today(policy, clock)
            rows = session.scalars(
                select(Installment).where(
                    Installment.policy_id == policy.id,
                    Installment.due_date > today,
                    Installment.due_date <= today + timedelta(days=PAYMENT_DUE_DAYS),
                    Installment.paid_minor < Installment.amount_minor,
                    Installment.status != "waived",
                )
            )
            for inst in rows:
                days = (inst.due_date - today).days
                added += queue_notice(
                    session,
                    now,
                    account_id=policy.account_id,
                    notice_type="payment_due",
                    subject_type="installment",
                    subject_id=inst.id,
                    occasion=inst.due_date.isoformat(),
                    policy_id=policy.id,
                    data={
                        "policy_number": policy.number,
                        "amount_minor": inst.outstanding_minor,
                        "currency": inst.currency,
                        "due_date": inst.due_date,
                        "days": days,
                        "days_text": "tomorrow" if days == 1 else f"in {days} days",
                    },
                )
        # Pending cancellation: a final warning before the date, a last chance after it.
        episodes = session.scalars(
            select(Delinquency).where(Delinquency.status.in_(("pending_cancellation", "cancelled")))
        )
        for ep in episodes:
            # Cancelled policies are not in `policies` above, so each episode loads its own.
            found = session.get(Policy, ep.policy_id)
            if found is None:
                continue
            policy = found
            today = policy_today(policy, clock)
            stage = None
            if ep.status == "pending_cancellation" and today >= ep.cancel_on - timedelta(
                days=FINAL_WARNING_DAYS
            ):
                stage = "final"
            elif (
                ep.status == "cancelled"
                and ep.reinstate_until is not None
                and ep.cancel_on + timedelta(days=AFTER_CANCEL_DAYS) <= today <= ep.reinstate_until
            ):
                stage = "after"
            if stage is None:
                continue
            amount, currency = _past_due_minor(session, policy, today)
            added += queue_notice(
                session,
                now,
                account_id=policy.account_id,
                notice_type="pending_cancellation",
                subject_type="policy",
                subject_id=policy.id,
                occasion=f"{stage}:{ep.cancel_on.isoformat()}",
                policy_id=policy.id,
                data={
                    "policy_number": policy.number,
                    "amount_minor": amount,
                    "currency": currency,
                    "cancel_on": ep.cancel_on,
                    "reinstate_until": ep.reinstate_until,
                    **stage_wording(stage),
                },
            )
    return added

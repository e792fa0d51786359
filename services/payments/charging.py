"""Moving money safely: every charge is recorded before money can move, the PaymentIntent is
created unconfirmed and its id stored before it is confirmed, and any unknown outcome is
reconciled with Stripe rather than retried blindly.

A charge is a `Payment` row whose `idempotency_key` says what is paid (the installment and its
dunning slot, the scheduled payment, or the customer's pay-now request). The key is unique, so
the same thing can never be charged by two rows; a PaymentIntent can succeed only once, so a row
can never be charged twice. Each step below is its own short transaction, so a crash anywhere
leaves a row that `reconcile` can finish.

Threading rule: these functions block on the gateway; call them from worker threads (FastAPI
sync handlers, the job runner), never from an event loop.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts.service import policy_today
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.errors import Conflict, DomainError, Invalid
from services.jobs import writes
from services.jobs.queue import enqueue
from services.payments import delinquency
from services.payments import service as payments
from services.payments.gateway import (
    CardDeclined,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    IntentInfo,
)
from services.payments.models import (
    IN_FLIGHT,
    AutopayEnrollment,
    Installment,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Refund,
    ScheduledPayment,
    StripeCustomer,
)
from services.payments.runtime import PaymentsRuntime
from services.policies.models import Policy

log = logging.getLogger(__name__)

REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
RECONCILE_JOB = "payments.reconcile"
AUTOPAY_JOB = "payments.autopay_charge"


@dataclass(frozen=True)
class ChargeResult:
    """Where a charge ended up, and the refusal to raise (after commit) when it failed."""

    payment: dict[str, Any]
    error: DomainError | None = None


FAILURE_TEXT = {
    "card_declined": "The card was declined. Try another card or contact your bank.",
    "authentication_required": "Your bank needs to confirm this payment, which we cannot do here. "
    "Try another card.",
    "gateway_unavailable": "We could not reach the card processor. Nothing was charged. Please try again.",
    "gateway_rejected": "The card processor refused this payment. Nothing was charged.",
    "canceled": "The payment was cancelled. Nothing was charged.",
}


# --- starting charges -------------------------------------------------------------------------


def pay_now(
    rt: PaymentsRuntime,
    actor: Actor,
    *,
    policy_id: str,
    amount_minor: int | None,
    payment_method_id: str,
    request_key: str,
) -> ChargeResult:
    """Charge a saved card now: any amount up to what is payable, or the full balance."""
    if not REQUEST_KEY.match(request_key):
        raise Invalid(
            "payment.request_key_invalid", "The payment request key is not valid.", field="request_key"
        )
    clock = rt.clock
    with writes.write(rt.db) as session:
        policy, acting = payments.policy_for(session, actor, clock, policy_id, lock=True)
        key = f"portal:pay_now:{policy.id}:{request_key}"
        existing = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        spec: _Spec | None = None
        if existing is not None:
            payment_id = existing.id  # a double click or a resend: the same payment, never a second one
        else:
            _check_payable_policy(session, policy, clock, rt)
            method = payments.active_method(session, policy.account_id, payment_method_id)
            if payments.card_expired(method, policy_today(policy, clock)):
                raise Invalid(
                    "payment.method_expired",
                    "That card has expired. Choose or add another card.",
                    field="payment_method_id",
                )
            payable = payments.payable_minor(session, policy.id)
            amount = payable if amount_minor is None else amount_minor
            if amount <= 0 and amount_minor is None:
                if payments.in_flight_minor(session, policy.id):
                    raise Conflict(
                        "payment.charge_in_flight",
                        "A payment on this policy is being processed; wait for it to finish.",
                    )
                raise Invalid("payment.nothing_due", "There is nothing to pay on this policy.")
            if amount <= 0:
                raise Invalid(
                    "payment.amount_not_positive", "Enter an amount greater than zero.", field="amount_minor"
                )
            if amount > payable:
                raise Invalid(
                    "payment.amount_over_balance",
                    "The amount is more than what is left to pay on this policy.",
                    field="amount_minor",
                    payable_minor=payable,
                )
            recorded = record_charge(
                session,
                acting,
                clock,
                policy=policy,
                kind="pay_now",
                source_id=request_key,
                key=key,
                amount_minor=amount,
                method=method,
            )
            payment_id, spec = recorded.id, _spec(session, recorded)
    # Recorded as the customer's own act, or staff acting on their behalf.
    return execute(rt, payment_id, acting, spec)


def _check_payable_policy(session: Session, policy: Policy, clock: Clock, rt: PaymentsRuntime) -> None:
    if policy.status in ("lapsed", "expired"):
        raise Conflict(
            "payment.policy_closed", "This policy is no longer in force, so it cannot be paid here."
        )
    if policy.status == "cancelled" and not delinquency.can_reinstate(session, policy, clock):
        raise Conflict(
            "payment.policy_cancelled",
            "This policy was cancelled and the reinstatement window has passed. Call us to discuss it.",
        )


def record_charge(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    policy: Policy,
    kind: str,
    source_id: str,
    key: str,
    amount_minor: int,
    method: PaymentMethod,
) -> Payment:
    """Write the charge (status pending) and its audit event: from here on it cannot be lost."""
    now = clock.now()
    payment = Payment(
        id=new_id("pay"),
        account_id=policy.account_id,
        policy_id=policy.id,
        kind=kind,
        source_id=source_id,
        idempotency_key=key,
        amount_minor=amount_minor,
        currency=policy.currency,
        payment_method_id=method.id,
        status="pending",
        channel=actor.channel,
        actor_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="payment.initiated",
        account_id=policy.account_id,
        entity_type="payment",
        entity_id=payment.id,
        after={
            "policy_number": policy.number,
            "kind": kind,
            "amount_minor": amount_minor,
            "currency": policy.currency,
            "card": f"{method.brand} {method.last4}",
        },
    )
    return payment


# --- executing and reconciling ----------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """What the gateway needs to charge a recorded payment."""

    payment_id: str
    status: str
    intent_id: str | None
    key: str
    create: dict[str, Any]


def _spec(session: Session, p: Payment) -> _Spec:
    customer = session.get(StripeCustomer, p.account_id)
    method = session.get(PaymentMethod, p.payment_method_id)
    assert method is not None
    return _Spec(
        payment_id=p.id,
        status=p.status,
        intent_id=p.stripe_payment_intent_id,
        key=p.idempotency_key,
        create={
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "customer_id": customer.stripe_customer_id if customer else "",
            "payment_method_id": method.stripe_payment_method_id,
            "metadata": {"portal_payment_id": p.id, "portal_key": p.idempotency_key},
            "idempotency_key": p.idempotency_key + ":create",
        },
    )


def execute(rt: PaymentsRuntime, payment_id: str, actor: Actor, spec: _Spec | None = None) -> ChargeResult:
    """Drive one recorded charge to a final state (or to a state reconcile will finish).

    `spec` may come from the transaction that recorded the charge (saves a round trip)."""
    if spec is None:
        with rt.db.read() as session:
            p = session.get(Payment, payment_id)
            assert p is not None
            if p.status not in IN_FLIGHT:
                return _result(p)
            spec = _spec(session, p)
    intent_id = spec.intent_id
    confirm_key = spec.key + ":confirm"
    spec_create = spec.create
    gateway = rt.gateway()
    if intent_id is None:
        if not spec_create["customer_id"]:
            return fail(
                rt, payment_id, actor, "gateway_rejected", "The card is not set up with the processor."
            )
        try:
            intent = gateway.create_intent(**spec_create)
        except CardDeclined as exc:
            return fail(rt, payment_id, actor, "card_declined", exc.message, hard=exc.hard)
        except GatewayError as exc:
            # An unconfirmed PaymentIntent (if Stripe made one) can never take money: safe to fail.
            code = "gateway_unavailable" if isinstance(exc, GatewayUnavailable) else "gateway_rejected"
            return fail(rt, payment_id, actor, code, exc.message)
        intent_id = _store_intent(rt, payment_id, intent.id)
        if intent_id is None:
            with rt.db.read() as session:
                return _result(session.get(Payment, payment_id))  # type: ignore[arg-type]
    try:
        confirmed = gateway.confirm_intent(intent_id, idempotency_key=confirm_key)
    except CardDeclined as exc:
        return fail(
            rt, payment_id, actor, "card_declined", exc.message, hard=exc.hard, decline_code=exc.decline_code
        )
    except (GatewayUnavailable, GatewayRejected):
        # Unknown outcome (a timeout), or refused because someone else confirmed it already:
        # ask Stripe what happened instead of guessing.
        return reconcile(rt, payment_id, actor)
    return apply_intent(rt, payment_id, confirmed, actor)


def _store_intent(rt: PaymentsRuntime, payment_id: str, intent_id: str) -> str | None:
    """Store the PaymentIntent id before confirming it. Returns the id to confirm, or None when
    the payment finished meanwhile. If another worker stored one first, theirs wins and ours
    (never confirmed) can never take money."""
    with writes.write(rt.db) as session:
        done = session.execute(
            update(Payment)
            .where(
                Payment.id == payment_id,
                Payment.stripe_payment_intent_id.is_(None),
                Payment.status.in_(IN_FLIGHT),
            )
            .values(stripe_payment_intent_id=intent_id, status="processing", updated_at=rt.clock.now())
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return intent_id
        p = session.get(Payment, payment_id)
        assert p is not None
        if p.status not in IN_FLIGHT:
            return None
        return p.stripe_payment_intent_id


def reconcile(rt: PaymentsRuntime, payment_id: str, actor: Actor) -> ChargeResult:
    """Find out from Stripe what became of a charge and record it; confirm it if it never was."""
    with rt.db.read() as session:
        p = session.get(Payment, payment_id)
        assert p is not None
        if p.status not in IN_FLIGHT:
            return _result(p)
        intent_id = p.stripe_payment_intent_id
    if intent_id is None:
        return execute(rt, payment_id, actor)  # no PaymentIntent stored: nothing can have moved
    try:
        intent = rt.gateway().retrieve_intent(intent_id)
    except GatewayError:
        _queue_reconcile(rt, payment_id)
        with rt.db.read() as session:
            return _result(session.get(Payment, payment_id))  # type: ignore[arg-type]
    if intent.status == "requires_confirmation":
        # Stored but never confirmed (a crash between the two steps): confirming now is safe,
        # a PaymentIntent takes money at most once.
        try:
            intent = rt.gateway().confirm_intent(intent_id, idempotency_key=p.idempotency_key + ":confirm")
        except CardDeclined as exc:
            return fail(
                rt,
                payment_id,
                actor,
                "card_declined",
                exc.message,
                hard=exc.hard,
                decline_code=exc.decline_code,
            )
        except GatewayError:
            _queue_reconcile(rt, payment_id)
            with rt.db.read() as session:
                return _result(session.get(Payment, payment_id))  # type: ignore[arg-type]
    return apply_intent(rt, payment_id, intent, actor)


def _queue_reconcile(rt: PaymentsRuntime, payment_id: str) -> None:
    with writes.write(rt.db) as session:
        enqueue(
            session,
            rt.clock,
            RECONCILE_JOB,
            {"payment_id": payment_id},
            dedupe_key=f"reconcile:{payment_id}",
            delay=timedelta(seconds=30),
            max_attempts=50,
        )


def apply_intent(rt: PaymentsRuntime, payment_id: str, intent: IntentInfo, actor: Actor) -> ChargeResult:
    """Record what Stripe says about the PaymentIntent (idempotent: a final row stays final)."""
    if intent.status == "succeeded":
        with writes.write(rt.db) as session:
            p = session.get(Payment, payment_id, with_for_update=True)
            assert p is not None
            if p.status in IN_FLIGHT:
                succeed(session, rt, p, actor)
            return _result(p)
    if intent.status == "requires_payment_method":
        return fail(
            rt,
            payment_id,
            actor,
            intent.failure_code or "card_declined",
            intent.failure_message or FAILURE_TEXT["card_declined"],
        )
    if intent.status == "requires_action":
        # Off-session charges cannot complete a bank challenge: cancel it so it can never
        # complete later, and say why.
        try:
            rt.gateway().cancel_intent(intent.id)
        except GatewayError:
            log.warning("could not cancel PaymentIntent %s awaiting authentication", intent.id)
        return fail(rt, payment_id, actor, "authentication_required", FAILURE_TEXT["authentication_required"])
    if intent.status == "canceled":
        return fail(rt, payment_id, actor, "canceled", FAILURE_TEXT["canceled"])
    # processing / requires_capture: Stripe is still working; look again later.
    _queue_reconcile(rt, payment_id)
    with rt.db.read() as session:
        return _result(session.get(Payment, payment_id))  # type: ignore[arg-type]


def succeed(session: Session, rt: PaymentsRuntime, p: Payment, actor: Actor) -> None:
    """Mark a charge paid: allocate it to installments, issue the receipt, cure delinquency."""
    clock = rt.clock
    now = clock.now()
    p.status = "succeeded"
    p.completed_at = now
    p.updated_at = now
    p.failure_code = p.failure_message = None
    p.receipt_number = f"RCT-{now:%y%m%d}-{secrets.token_hex(4).upper()}"
    allocations = _allocate(session, p, now)
    policy = session.get(Policy, p.policy_id)
    assert policy is not None
    if p.kind == "autopay":
        enrollment = session.get(AutopayEnrollment, p.policy_id)
        if enrollment is not None:
            enrollment.consecutive_failures = 0
    if p.kind == "scheduled":
        sp = session.get(ScheduledPayment, p.source_id)
        if sp is not None:
            sp.status, sp.updated_at = "paid", now
    method = session.get(PaymentMethod, p.payment_method_id)
    audit.record(
        session,
        actor,
        clock,
        action="payment.succeeded",
        account_id=p.account_id,
        entity_type="payment",
        entity_id=p.id,
        after={
            "policy_number": policy.number,
            "kind": p.kind,
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "receipt_number": p.receipt_number,
            "card": f"{method.brand} {method.last4}" if method else "",
            "allocations": [{"installment_id": i, "amount_minor": a} for i, a in allocations],
        },
    )
    delinquency.after_payment(session, rt, policy, actor)


def _allocate(session: Session, p: Payment, now: Any) -> list[tuple[str, int]]:
    items = payments.open_installments(session, p.policy_id, lock=True)
    if p.kind == "autopay":
        # The installment being paid first, then anything older or newer.
        items.sort(key=lambda i: (i.id != p.source_id, i.due_date, i.number))
    left = p.amount_minor
    out: list[tuple[str, int]] = []
    for inst in items:
        if left <= 0:
            break
        take = min(left, inst.outstanding_minor)
        inst.paid_minor += take
        inst.status = "paid" if inst.outstanding_minor == 0 else "partially_paid"
        if inst.outstanding_minor == 0:
            inst.paid_at = now
        session.add(
            PaymentAllocation(id=new_id("pal"), payment_id=p.id, installment_id=inst.id, amount_minor=take)
        )
        out.append((inst.id, take))
        left -= take
    if left > 0:
        log.warning("payment %s left %s unallocated (credit on the policy)", p.id, left)
    return out


def fail(
    rt: PaymentsRuntime,
    payment_id: str,
    actor: Actor,
    code: str,
    message: str,
    *,
    hard: bool = False,
    decline_code: str | None = None,
) -> ChargeResult:
    """Record a failed charge (nothing was taken) and what follows from it (autopay retries)."""
    with writes.write(rt.db) as session:
        p = session.get(Payment, payment_id, with_for_update=True)
        assert p is not None
        if p.status not in IN_FLIGHT:
            return _result(p)
        now = rt.clock.now()
        p.status = "failed"
        p.failure_code = code
        p.failure_message = message[:300]
        p.decline_kind = ("hard" if hard else "soft") if code == "card_declined" else None
        p.updated_at = p.completed_at = now
        policy = session.get(Policy, p.policy_id)
        assert policy is not None
        audit.record(
            session,
            actor,
            rt.clock,
            action="payment.failed",
            account_id=p.account_id,
            entity_type="payment",
            entity_id=p.id,
            outcome="failure",
            after={
                "policy_number": policy.number,
                "kind": p.kind,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "failure_code": code,
                "decline_code": decline_code,
                "decline": p.decline_kind,
            },
        )
        if p.kind == "scheduled":
            sp = session.get(ScheduledPayment, p.source_id)
            if sp is not None:
                sp.status, sp.updated_at = "failed", now
        if p.kind == "autopay":
            _after_autopay_failure(session, rt, p, policy, actor, hard=hard or code != "card_declined")
        return _result(p)


def _after_autopay_failure(
    session: Session, rt: PaymentsRuntime, p: Payment, policy: Policy, actor: Actor, *, hard: bool
) -> None:
    t = rt.timeline
    enrollment = session.get(AutopayEnrollment, p.policy_id)
    if enrollment is None:
        return
    enrollment.consecutive_failures += 1
    enrollment.updated_at = rt.clock.now()
    slot = int(p.idempotency_key.rsplit(":", 1)[-1])
    if not hard and slot < t.max_soft_retries and enrollment.status == "active":
        # Soft decline: try the same installment again a few days later (at most twice).
        enqueue(
            session,
            rt.clock,
            AUTOPAY_JOB,
            {"installment_id": p.source_id, "slot": slot + 1},
            dedupe_key=autopay_key(p.source_id, slot + 1),
            delay=timedelta(days=t.retry_days),
        )
        audit.record(
            session,
            actor,
            rt.clock,
            action="autopay.retry_scheduled",
            account_id=p.account_id,
            entity_type="policy",
            entity_id=policy.id,
            after={"installment_id": p.source_id, "retry": slot + 1, "in_days": t.retry_days},
        )
    elif enrollment.status == "active" and (
        enrollment.consecutive_failures >= t.suspend_after_failures or hard
    ):
        enrollment.status = "suspended"
        enrollment.suspended_at = rt.clock.now()
        policy.autopay_enabled = False
        audit.record(
            session,
            actor,
            rt.clock,
            action="autopay.suspended",
            account_id=p.account_id,
            entity_type="policy",
            entity_id=policy.id,
            outcome="failure",
            before={"status": "active"},
            after={
                "status": "suspended",
                "failures": enrollment.consecutive_failures,
                "notice": "autopay_suspended",
                "last_failure": p.failure_code,
            },
        )


def _result(p: Payment) -> ChargeResult:
    error = None
    if p.status == "failed":
        code = p.failure_code or "card_declined"
        status = 402 if code in ("card_declined", "authentication_required") else 502
        api_code = {
            "authentication_required": "payment.authentication_required",
            "gateway_unavailable": "payment.gateway_unavailable",
            "gateway_rejected": "payment.gateway_rejected",
            "canceled": "payment.canceled",
        }.get(code, "payment.card_declined")
        error = DomainError(
            api_code,
            p.failure_message or FAILURE_TEXT.get(code, "The payment failed."),
            status=status,
            payment_id=p.id,
        )
    return ChargeResult(payments.payment_dict(p), error)


# --- job-driven charges -----------------------------------------------------------------------


def autopay_key(installment_id: str, slot: int) -> str:
    # What is paid: the installment and its dunning slot (0 = due date, 1-2 = soft-decline
    # retries). A restart re-runs the same slot with the same key; it never mints a new one.
    return f"portal:autopay:{installment_id}:{slot}"


def charge_installment(rt: PaymentsRuntime, installment_id: str, slot: int) -> ChargeResult | None:
    """The autopay charge of one installment (job handler). None when there is nothing to do."""
    actor = Actor.system("Autopay")
    clock = rt.clock
    key = autopay_key(installment_id, slot)
    with writes.write(rt.db) as session:
        existing = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        spec: _Spec | None = None
        if existing is not None:
            payment_id = existing.id
        else:
            inst = session.get(Installment, installment_id)
            if inst is None:
                return None
            policy = session.get(Policy, inst.policy_id, with_for_update=True)
            assert policy is not None
            enrollment = session.get(AutopayEnrollment, policy.id)
            if enrollment is None or enrollment.status != "active" or not policy.autopay_enabled:
                return None
            if policy.status in payments.CLOSED_POLICY_STATUSES:
                return None
            if inst.due_date > policy_today(policy, clock):
                return None
            # Never more than is still owed once other charges in flight land.
            amount = min(inst.outstanding_minor, payments.payable_minor(session, policy.id))
            if amount <= 0:
                return None
            method = session.get(PaymentMethod, enrollment.payment_method_id)
            if method is None or method.status != "active":
                return None
            recorded = record_charge(
                session,
                actor,
                clock,
                policy=policy,
                kind="autopay",
                source_id=inst.id,
                key=key,
                amount_minor=amount,
                method=method,
            )
            payment_id, spec = recorded.id, _spec(session, recorded)
    return execute(rt, payment_id, actor, spec)


def run_scheduled_payment(rt: PaymentsRuntime, scheduled_id: str) -> ChargeResult | None:
    """Run a scheduled one-off payment on its date (job handler); it runs once."""
    actor = Actor.system("Scheduled payments")
    clock = rt.clock
    key = f"portal:scheduled:{scheduled_id}"
    with writes.write(rt.db) as session:
        existing = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        spec: _Spec | None = None
        if existing is not None:
            payment_id = existing.id
        else:
            sp = session.get(ScheduledPayment, scheduled_id, with_for_update=True)
            if sp is None or sp.status != "scheduled":
                return None
            policy = session.get(Policy, sp.policy_id, with_for_update=True)
            assert policy is not None
            if sp.run_on > policy_today(policy, clock):
                return None
            amount = min(sp.amount_minor, payments.payable_minor(session, policy.id))
            method = session.get(PaymentMethod, sp.payment_method_id)
            if amount <= 0 or method is None or method.status != "active":
                sp.status = "skipped"
                sp.updated_at = clock.now()
                audit.record(
                    session,
                    actor,
                    clock,
                    action="scheduled_payment.skipped",
                    account_id=sp.account_id,
                    entity_type="scheduled_payment",
                    entity_id=sp.id,
                    after={"reason": "nothing_due" if amount <= 0 else "card_removed"},
                )
                return None
            sp.status = "running"
            sp.updated_at = clock.now()
            payment = record_charge(
                session,
                actor,
                clock,
                policy=policy,
                kind="scheduled",
                source_id=sp.id,
                key=key,
                amount_minor=amount,
                method=method,
            )
            sp.payment_id = payment.id
            payment_id, spec = payment.id, _spec(session, payment)
    return execute(rt, payment_id, actor, spec)


# --- refunds ----------------------------------------------------------------------------------


def refund(
    rt: PaymentsRuntime, actor: Actor, *, payment_id: str, amount_minor: int, reason: str
) -> dict[str, Any]:
    """A supervisor's refund: recorded first, then asked of Stripe, then applied."""
    r: Refund | None  # each transaction below re-reads the refund row
    with writes.write(rt.db) as session:
        r = payments.begin_refund(
            session, actor, rt.clock, payment_id=payment_id, amount_minor=amount_minor, reason=reason
        )
        refund_id = r.id
        p = session.get(Payment, payment_id)
        assert p is not None
        intent_id = p.stripe_payment_intent_id or ""
    try:
        info = rt.gateway().refund(
            intent_id=intent_id, amount_minor=amount_minor, idempotency_key=f"portal:refund:{refund_id}"
        )
    except GatewayError as exc:
        with writes.write(rt.db) as session:
            r = session.get(Refund, refund_id)
            assert r is not None
            r.status = "failed"
            p = session.get(Payment, payment_id)
            assert p is not None
            audit.record(
                session,
                actor,
                rt.clock,
                action="refund.failed",
                account_id=p.account_id,
                entity_type="refund",
                entity_id=refund_id,
                outcome="failure",
                after={"reason": exc.message},
            )
        raise payments._gateway_problem(exc) from exc
    with writes.write(rt.db) as session:
        r = session.get(Refund, refund_id, with_for_update=True)
        p = session.get(Payment, payment_id, with_for_update=True)
        assert r is not None and p is not None
        r.status = "succeeded"
        r.stripe_refund_id = info.id
        p.refunded_minor += amount_minor
        _reverse_allocations(session, p, amount_minor)
        _, acting = payments.authorize_account(session, actor, rt.clock, p.account_id)
        audit.record(
            session,
            acting,
            rt.clock,
            action="refund.succeeded",
            account_id=p.account_id,
            entity_type="refund",
            entity_id=r.id,
            after={
                "payment_id": p.id,
                "amount_minor": amount_minor,
                "currency": p.currency,
                "reason": r.reason,
                "refunded_total_minor": p.refunded_minor,
            },
        )
        return {
            "id": r.id,
            "payment_id": p.id,
            "amount_minor": r.amount_minor,
            "currency": r.currency,
            "reason": r.reason,
            "status": r.status,
            "created_at": r.created_at,
        }


def _reverse_allocations(session: Session, p: Payment, amount: int) -> None:
    """A refund puts the money back on the installments it paid, newest first."""
    rows = list(
        session.execute(
            select(PaymentAllocation, Installment)
            .join(Installment, Installment.id == PaymentAllocation.installment_id)
            .where(PaymentAllocation.payment_id == p.id)
            .order_by(Installment.due_date.desc())
        )
    )
    left = amount
    for _alloc, inst in rows:
        if left <= 0:
            break
        back = min(left, inst.paid_minor)
        inst.paid_minor -= back
        inst.status = "scheduled" if inst.paid_minor == 0 else "partially_paid"
        inst.paid_at = None
        left -= back


def due_today(policy: Policy, clock: Clock) -> date:
    return policy_today(policy, clock)

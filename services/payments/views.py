"""HTTP for payments: cards, pay now, scheduled payments, autopay, payment day, refunds,
receipts, and the Stripe webhook."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from services.actor import Actor
from services.api.deps import ActorDep, ContainerDep
from services.bootstrap import Container
from services.errors import DomainError, Invalid
from services.payments import charging, receipts, webhooks
from services.payments import service as svc
from services.payments.models import PaymentMethod
from services.payments.runtime import PaymentsRuntime, payments_runtime
from services.payments.schemas import (
    AddPaymentMethod,
    EnrollAutopay,
    PaymentDay,
    PayNow,
    RefundRequest,
    SchedulePayment,
    UpdateScheduledPayment,
)

_DIGITS = re.compile(rb"(?<!\d)(?:\d[ -]?){13,19}(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# Values we or the client generate (idempotency keys, opaque ids) are random: a uuid4 hex key holds a
# Luhn-valid 13-19 digit run about once in 500 keys, which refused that many honest payments. Such a
# value is skipped only when it is more than digits, so a bare card number in any field still fails.
_GENERATED = re.compile(rb'"(?:request_key|[a-z_]*_id)"\s*:\s*"([^"\\]{0,255})"')
_CARD_LIKE = re.compile(rb"^[\d -]*$")


def _without_generated_keys(body: bytes) -> bytes:
    return _GENERATED.sub(lambda m: m.group() if _CARD_LIKE.match(m.group(1)) else b'"":""', body)


async def refuse_card_data(request: Request) -> None:
    """Card numbers must never reach this service: refuse any body that carries one."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    body = _without_generated_keys(await request.body())
    for match in _DIGITS.finditer(body):
        digits = re.sub(rb"[ -]", b"", match.group()).decode()
        if 13 <= len(digits) <= 19 and _luhn(digits):
            # Not logged, not stored, not echoed back.
            raise Invalid(
                "payment.card_data_refused",
                "Card numbers are never sent to Portal. Add cards through the secure card form.",
            )


router = APIRouter(tags=["payments"], dependencies=[Depends(refuse_card_data)])


def _z(value: Any) -> Any:
    """Datetimes as ISO-8601 UTC with Z, dates as YYYY-MM-DD, recursively."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _z(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_z(v) for v in value]
    return value


def _rt(c: Container) -> PaymentsRuntime:
    return payments_runtime(c)


@router.get("/payments/config")
def payments_config(actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Where and with which publishable key the client tokenises cards, and the payment limits."""
    return {**_rt(c).describe(), "limits": svc.payment_limits()}


@router.get("/accounts/{account_id}/payments")
def get_payments(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Schedules, balances, saved cards, autopay, scheduled payments and history of an account."""
    with c.db.read() as session:
        return _z(svc.payments_view(session, actor, c.clock, account_id=account_id, timeline=_rt(c).timeline))


def _method_out(session: Any, c: Container, m: PaymentMethod) -> dict[str, Any]:
    return _z(svc.method_dict(m, c.clock.now().date(), []))


@router.post("/accounts/{account_id}/payment-methods", status_code=201)
def add_method(account_id: str, body: AddPaymentMethod, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Save a card the client tokenised with Stripe."""
    gateway = _rt(c).gateway()
    with c.db.write() as session:
        m = svc.add_payment_method(
            session,
            actor,
            c.clock,
            gateway=gateway,
            account_id=account_id,
            stripe_payment_method_id=body.stripe_payment_method_id,
            make_default=body.make_default,
        )
        return _method_out(session, c, m)


@router.post("/accounts/{account_id}/payment-methods/{method_id}/default")
def make_default(account_id: str, method_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Make a saved card the default."""
    with c.db.write() as session:
        m = svc.set_default_method(session, actor, c.clock, account_id=account_id, method_id=method_id)
        return _method_out(session, c, m)


@router.delete("/accounts/{account_id}/payment-methods/{method_id}", status_code=204)
def remove_method(account_id: str, method_id: str, actor: ActorDep, c: ContainerDep) -> Response:
    """Remove a saved card (refused while autopay or a scheduled payment uses it)."""
    gateway = _rt(c).gateway()
    with c.db.write() as session:
        svc.remove_payment_method(
            session, actor, c.clock, gateway=gateway, account_id=account_id, method_id=method_id
        )
    return Response(status_code=204)


@router.post("/policies/{policy_id}/payments", status_code=201)
def pay_now(policy_id: str, body: PayNow, actor: ActorDep, c: ContainerDep) -> Any:
    """Pay now with a saved card. 201 paid; 202 still being confirmed; 402 declined."""
    result = charging.pay_now(
        _rt(c),
        actor,
        policy_id=policy_id,
        amount_minor=body.amount_minor,
        payment_method_id=body.payment_method_id,
        request_key=body.request_key,
    )
    if result.error is not None:
        raise result.error  # the failed attempt is already recorded and audited
    status = 201 if result.payment["status"] == "succeeded" else 202
    return JSONResponse(_z(result.payment), status_code=status)


@router.post("/policies/{policy_id}/scheduled-payments", status_code=201)
def schedule(policy_id: str, body: SchedulePayment, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Schedule a one-off payment for a future date."""
    with c.db.write() as session:
        sp = svc.schedule_payment(
            session,
            actor,
            c.clock,
            policy_id=policy_id,
            run_on=body.run_on,
            amount_minor=body.amount_minor,
            payment_method_id=body.payment_method_id,
        )
        return _z(svc.scheduled_dict(sp))


@router.patch("/scheduled-payments/{scheduled_id}")
def edit_scheduled(
    scheduled_id: str, body: UpdateScheduledPayment, actor: ActorDep, c: ContainerDep
) -> dict[str, Any]:
    """Change a scheduled payment's date, amount or card before it runs."""
    with c.db.write() as session:
        sp = svc.update_scheduled_payment(
            session,
            actor,
            c.clock,
            scheduled_id=scheduled_id,
            run_on=body.run_on,
            amount_minor=body.amount_minor,
            payment_method_id=body.payment_method_id,
        )
        return _z(svc.scheduled_dict(sp))


@router.delete("/scheduled-payments/{scheduled_id}")
def cancel_scheduled(scheduled_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Cancel a scheduled payment before it runs."""
    with c.db.write() as session:
        return _z(
            svc.scheduled_dict(
                svc.cancel_scheduled_payment(session, actor, c.clock, scheduled_id=scheduled_id)
            )
        )


def _enrollment_out(e: Any) -> dict[str, Any]:
    if e is None:
        return {"status": "off"}
    return _z(
        {
            "policy_id": e.policy_id,
            "status": e.status,
            "payment_method_id": e.payment_method_id,
            "authorization_text": e.authorization_text,
            "authorized_at": e.authorized_at,
        }
    )


@router.put("/policies/{policy_id}/autopay")
def enroll(policy_id: str, body: EnrollAutopay, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Switch autopay on with a saved card and the authorisation text the customer agreed to."""
    with c.db.write() as session:
        e = svc.enroll_autopay(
            session,
            actor,
            c.clock,
            timeline=_rt(c).timeline,
            policy_id=policy_id,
            payment_method_id=body.payment_method_id,
            authorization_text=body.authorization_text,
        )
        return _enrollment_out(e)


@router.delete("/policies/{policy_id}/autopay")
def disable(policy_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Switch autopay off."""
    with c.db.write() as session:
        return _enrollment_out(svc.disable_autopay(session, actor, c.clock, policy_id=policy_id))


@router.put("/policies/{policy_id}/payment-day")
def payment_day(policy_id: str, body: PaymentDay, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Move the day of the month future installments fall due."""
    with c.db.write() as session:
        change = svc.set_payment_day(
            session, actor, c.clock, timeline=_rt(c).timeline, policy_id=policy_id, day=body.day
        )
        return _z(
            {
                "policy_id": change.policy.id,
                "payment_day": change.policy.payment_day,
                "moved": [{"installment_id": i, "from": a, "to": b} for i, a, b in change.moved],
            }
        )


@router.post("/payments/{payment_id}/refunds", status_code=201)
def refund(payment_id: str, body: RefundRequest, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """A supervisor refunds part or all of a payment, with a reason."""
    return _z(
        charging.refund(
            _rt(c), actor, payment_id=payment_id, amount_minor=body.amount_minor, reason=body.reason
        )
    )


@router.get("/payments/{payment_id}/receipt.pdf")
def receipt(payment_id: str, actor: ActorDep, c: ContainerDep) -> Response:
    """The PDF receipt of a completed payment."""
    with c.db.read() as session:
        name, pdf = receipts.receipt_pdf(session, actor, c.clock, payment_id=payment_id)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


webhook_router = APIRouter(tags=["stripe"])


@webhook_router.post("/stripe/webhook")
async def stripe_webhook(request: Request, c: ContainerDep) -> dict[str, Any]:
    """Stripe's events: signature checked, each event id processed once."""
    payload = await request.body()
    signature = request.headers.get("stripe-signature", "")
    import asyncio

    outcome = await asyncio.to_thread(webhooks.handle, _rt(c), payload, signature)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def system_actor() -> Actor:  # pragma: no cover - kept for symmetry with other domains
    return Actor.system()

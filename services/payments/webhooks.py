"""Stripe webhooks: verify the signature, process each event id once, reconcile the charge."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from services.actor import Actor
from services.errors import DomainError
from services.payments import charging
from services.payments.gateway import IntentInfo, SignatureInvalid
from services.payments.models import IN_FLIGHT, Payment, StripeEvent
from services.payments.runtime import PaymentsRuntime

log = logging.getLogger(__name__)

HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")


def handle(rt: PaymentsRuntime, payload: bytes, signature: str) -> dict[str, Any] | DomainError:
    """Process one delivery. Returns the answer, or the refusal to raise."""
    try:
        event = rt.gateway().verify_webhook(payload, signature)
    except SignatureInvalid:
        return DomainError("stripe.signature_invalid", "The webhook signature is not valid.", status=400)
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    if not event_id:
        return DomainError("stripe.event_invalid", "The event has no id.", status=400)
    obj = (event.get("data") or {}).get("object") or {}
    with rt.db.write() as session:
        if session.get(StripeEvent, event_id) is not None:
            return {"received": True, "duplicate": True}
        # Recording the id and acting on it commit together: a crash before commit means Stripe
        # redelivers and we process it then; after commit a redelivery is a duplicate.
        session.add(
            StripeEvent(
                event_id=event_id,
                type=event_type,
                received_at=rt.clock.now(),
                payload={"object_id": obj.get("id"), "status": obj.get("status")},
            )
        )
        payment = None
        if event_type in HANDLED and obj.get("id"):
            payment = session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == obj["id"]))
        if payment is None or payment.status not in IN_FLIGHT:
            return {"received": True, "duplicate": False}
        payment_id = payment.id
    intent = IntentInfo(
        id=str(obj["id"]),
        status=str(obj.get("status") or ""),
        amount=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(),
        failure_code=(obj.get("last_payment_error") or {}).get("code"),
        failure_message=(obj.get("last_payment_error") or {}).get("message"),
    )
    if intent.amount and intent.amount != payment.amount_minor:
        log.error("webhook amount %s differs from payment %s; reconciling", intent.amount, payment_id)
        charging.reconcile(rt, payment_id, Actor.stripe(request_id=event_id))
    else:
        charging.apply_intent(rt, payment_id, intent, Actor.stripe(request_id=event_id))
    return {"received": True, "duplicate": False}

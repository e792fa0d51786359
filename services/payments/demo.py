"""The demo household's saved card and autopay. Cards live on Stripe (localstripe by default),
which is not running while the demo database is seeded, so the seed enqueues a job and the
job runner (in-process in the embedded default, or `portal jobs`) adds the card when it runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.jobs import writes
from services.jobs.queue import enqueue
from services.payments import service as payments
from services.payments.models import AutopayEnrollment, PaymentMethod
from services.payments.runtime import PaymentsRuntime
from services.policies.models import Policy

# Stripe's test card object (Visa 4242): no card number passes through our service.
DEMO_TEST_CARD = "pm_card_visa"


def enqueue_demo_card(session: Session, clock: Clock, account_id: str, policy_id: str) -> None:
    """Called by the demo seed: add a Visa and enrol it in autopay once the gateway is up."""
    enqueue(
        session,
        clock,
        "payments.demo_card",
        {"account_id": account_id, "policy_id": policy_id},
        dedupe_key=f"demo_card:{account_id}",
        max_attempts=10,
    )


def add_demo_card(rt: PaymentsRuntime, account_id: str, policy_id: str) -> None:
    gateway = rt.gateway()
    actor = Actor.system("Demo seed")
    with writes.write(rt.db) as session:
        if session.scalar(select(PaymentMethod.id).where(PaymentMethod.account_id == account_id).limit(1)):
            return
        method = payments.add_payment_method(
            session,
            Actor(user_id=None, role="admin", name="Demo seed", channel="system"),
            rt.clock,
            gateway=gateway,
            account_id=account_id,
            stripe_payment_method_id=DEMO_TEST_CARD,
            make_default=True,
        )
        policy = session.get(Policy, policy_id)
        assert policy is not None
        if session.get(AutopayEnrollment, policy_id) is None:
            now = rt.clock.now()
            terms = payments.autopay_terms(policy, method, rt.timeline)
            session.add(
                AutopayEnrollment(
                    policy_id=policy.id,
                    account_id=account_id,
                    payment_method_id=method.id,
                    status="active",
                    authorization_text=terms,
                    authorized_at=now,
                    authorized_by=None,
                    consecutive_failures=0,
                    updated_at=now,
                )
            )
            policy.autopay_enabled = True
            audit.record(
                session,
                actor,
                rt.clock,
                action="autopay.enrolled",
                account_id=account_id,
                entity_type="policy",
                entity_id=policy.id,
                after={
                    "status": "active",
                    "payment_method_id": method.id,
                    "card": f"{method.brand} {method.last4}",
                    "authorization_text": terms,
                    "authorized_at": now,
                    "source": "demo seed",
                },
            )

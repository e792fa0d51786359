"""Stripe webhooks: signatures, once-per-event processing, reconciling a charge left in flight."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from services.actor import Actor
from services.payments import charging
from services.payments.localstripe import LocalStripe
from services.payments.models import Payment, PaymentMethod
from services.payments.runtime import payments_runtime
from services.policies.models import Policy
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import (
    ALEX,
    WEBHOOK_SECRET,
    account_id,
    client,
    pay,
    payments_service,
    policy,
    run_jobs,
    signed,
    view,
)
from tests.support import Service


@pytest.fixture(scope="module", params=BACKENDS)
def svc(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("stripe")
    for url in _database_url(request.param, folder):
        with payments_service(url, folder, localstripe) as s:
            run_jobs(s)
            yield s


def _post(svc: Service, body: bytes, signature: str) -> httpx.Response:
    with svc.http() as h:
        return h.post("/stripe/webhook", content=body, headers={"Stripe-Signature": signature})


def _in_flight_payment(svc: Service) -> tuple[str, str]:
    """A charge whose PaymentIntent was confirmed on Stripe but whose outcome we never recorded
    (the process died right after confirming)."""
    rt = payments_runtime(svc.container)
    with rt.db.write() as session:
        home = next(p for p in session.query(Policy).all() if p.number.startswith("HOM"))
        method = session.query(PaymentMethod).filter_by(account_id=home.account_id).first()
        assert method is not None
        p = charging.record_charge(
            session,
            Actor.system("test"),
            rt.clock,
            policy=home,
            kind="pay_now",
            source_id="webhook-test",
            key=f"portal:test:{time.time_ns()}",
            amount_minor=1_111,
            method=method,
        )
        payment_id, key, pm, cust = p.id, p.idempotency_key, method.stripe_payment_method_id, home.account_id
    gateway = rt.gateway()
    from services.payments.models import StripeCustomer

    with rt.db.read() as session:
        customer = session.get(StripeCustomer, cust).stripe_customer_id  # type: ignore[union-attr]
    intent = gateway.create_intent(
        amount_minor=1_111,
        currency="USD",
        customer_id=customer,
        payment_method_id=pm,
        metadata={"portal_payment_id": payment_id},
        idempotency_key=key + ":create",
    )
    assert charging._store_intent(rt, payment_id, intent.id) == intent.id
    gateway.confirm_intent(intent.id, idempotency_key=key + ":confirm")
    return payment_id, intent.id


def _event(event_id: str, intent_id: str, status: str = "succeeded", amount: int = 1_111) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "status": status,
                "amount": amount,
                "currency": "usd",
                "metadata": {},
            }
        },
    }


def test_bad_signatures_are_refused_and_nothing_is_recorded(svc: Service) -> None:
    body, _ = signed(_event("evt_bad_sig", "pi_nope"))
    _, wrong = signed(_event("evt_bad_sig", "pi_nope"), secret="whsec_someone_else")
    for signature in ("", "t=1,v1=deadbeef", wrong):
        r = _post(svc, body, signature)
        assert r.status_code == 400 and r.json()["code"] == "stripe.signature_invalid"
    # A correct signature that is too old (replayed) is refused too
    old_body, old_sig = signed(_event("evt_old", "pi_nope"), at=int(time.time()) - 3600)
    assert _post(svc, old_body, old_sig).json()["code"] == "stripe.signature_invalid"
    assert (
        svc.sql("SELECT count(*) FROM stripe_events WHERE event_id IN ('evt_bad_sig', 'evt_old')")[0][0] == 0
    )


def test_a_webhook_settles_a_charge_once_even_when_delivered_twice(svc: Service) -> None:
    # Given a charge confirmed on Stripe whose outcome we never recorded
    payment_id, intent_id = _in_flight_payment(svc)
    body, sig = signed(_event(f"evt_{intent_id}", intent_id))
    # When Stripe delivers the event twice
    first = _post(svc, body, sig)
    second = _post(svc, body, sig)
    # Then it is processed once: the payment succeeds, audited on the stripe channel, once
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert second.status_code == 200 and second.json()["duplicate"] is True
    with svc.container.db.read() as session:
        p = session.get(Payment, payment_id)
        assert p is not None and p.status == "succeeded"
    rows = svc.sql(
        "SELECT channel FROM audit_events WHERE entity_id = :p AND action = 'payment.succeeded'", p=payment_id
    )
    assert [r[0] for r in rows] == ["stripe"]


def test_localstripe_delivers_signed_events_that_we_accept(svc: Service, localstripe: LocalStripe) -> None:
    localstripe.register_webhook(f"test-{time.time_ns()}", svc.url + "/api/v1/stripe/webhook", WEBHOOK_SECRET)
    with client(svc, ALEX) as alex:
        v = view(alex, account_id(alex))
        paid = pay(alex, policy(v, "HOM")["policy_id"], v["methods"][0]["id"], 500).json()
    intent = svc.sql("SELECT stripe_payment_intent_id FROM payments WHERE id = :p", p=paid["id"])[0][0]
    deadline = time.monotonic() + 10
    rows: list = []
    while time.monotonic() < deadline and not rows:
        rows = svc.sql(
            "SELECT type FROM stripe_events WHERE CAST(payload AS TEXT) LIKE :pat", pat=f"%{intent}%"
        )
        time.sleep(0.2)
    assert rows and rows[0][0] == "payment_intent.succeeded"

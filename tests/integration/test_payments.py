"""Payments against a real service and localstripe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.payments.localstripe import LocalStripe
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import (
    ALEX,
    DECLINE_AT_CHARGE,
    NEEDS_3DS,
    PRIYA,
    account_id,
    add_card,
    client,
    pay,
    payments_service,
    policy,
    run_jobs,
    stripe_intents,
    view,
)
from tests.support import Service


@pytest.fixture(params=BACKENDS)
def svc(request: pytest.FixtureRequest, tmp_path: Path, localstripe: LocalStripe) -> Iterator[Service]:
    for url in _database_url(request.param, tmp_path):
        with payments_service(url, tmp_path, localstripe) as s:
            run_jobs(s)  # the demo seed's job: the Morgans' Visa and autopay
            yield s


def _count(svc: Service, table: str) -> int:
    return int(svc.sql(f"SELECT count(*) FROM {table}")[0][0])


def test_pay_now_partial_then_full_with_receipt_and_audit(svc: Service, localstripe: LocalStripe) -> None:
    # Given Alex with the demo Visa and a home policy with a balance
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        v = view(alex, acc)
        card = v["methods"][0]
        assert (card["brand"], card["last4"], card["is_default"]) == ("visa", "4242", True)
        home = policy(v, "HOM")
        balance = home["balance_minor"]
        assert balance > 0
        # When Alex pays part of it, then resends the very same request (a double click)
        r = pay(alex, home["policy_id"], card["id"], 12_345, key="double-click-key-1")
        again = pay(alex, home["policy_id"], card["id"], 12_345, key="double-click-key-1")
        # Then one payment, paid once, with a receipt
        assert r.status_code == 201, r.text
        assert again.json()["id"] == r.json()["id"]
        paid = r.json()
        assert paid["status"] == "succeeded" and paid["receipt_number"].startswith("RCT-")
        intents = [
            i for i in stripe_intents(localstripe.url) if i["metadata"].get("portal_payment_id") == paid["id"]
        ]
        assert [i["status"] for i in intents] == ["succeeded"]
        assert intents[0]["amount"] == 12_345
        assert policy(view(alex, acc), "HOM")["balance_minor"] == balance - 12_345
        pdf = alex.get(f"/payments/{paid['id']}/receipt.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        # And the full balance (amount omitted) clears the policy
        full = pay(alex, home["policy_id"], card["id"], None)
        assert full.status_code == 201 and full.json()["amount_minor"] == balance - 12_345
        after = policy(view(alex, acc), "HOM")
        assert after["balance_minor"] == 0 and all(i["status"] == "paid" for i in after["installments"])
        # Nothing left to pay
        nothing = pay(alex, home["policy_id"], card["id"], None)
        assert nothing.status_code == 422 and nothing.json()["code"] == "payment.nothing_due"
    events = svc.sql(
        "SELECT action, channel FROM audit_events WHERE entity_id = :p ORDER BY seq", p=paid["id"]
    )
    assert [tuple(e) for e in events] == [("payment.initiated", "portal"), ("payment.succeeded", "portal")]


def test_decline_at_charge_time_is_recorded_and_changes_no_balance(
    svc: Service, localstripe: LocalStripe
) -> None:
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        bad = add_card(alex, acc, localstripe.url, DECLINE_AT_CHARGE)
        home = policy(view(alex, acc), "HOM")
        r = pay(alex, home["policy_id"], bad["id"], 5_000)
        assert r.status_code == 402
        assert r.json()["code"] == "payment.card_declined"
        after = policy(view(alex, acc), "HOM")
        assert after["balance_minor"] == home["balance_minor"]
        assert after["in_flight_minor"] == 0
        history = view(alex, acc)["history"]
        assert history[0]["status"] == "failed" and history[0]["failure_code"] == "card_declined"
    assert _count(svc, "payment_allocations") == 0
    assert svc.sql("SELECT outcome FROM audit_events WHERE action = 'payment.failed'")[0][0] == "failure"
    # A card whose bank wants 3-D Secure: refused with its own message, the intent cancelled
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        three_ds = add_card(alex, acc, localstripe.url, NEEDS_3DS)
        r = pay(alex, policy(view(alex, acc), "HOM")["policy_id"], three_ds["id"], 2_000)
        assert r.status_code == 402 and r.json()["code"] == "payment.authentication_required"
        pid = r.json()["payment_id"]
    intent = svc.sql("SELECT stripe_payment_intent_id FROM payments WHERE id = :p", p=pid)[0][0]
    states = [i["status"] for i in stripe_intents(localstripe.url) if i["id"] == intent]
    assert states == ["canceled"]
    assert _count(svc, "payment_allocations") == 0


def test_refusals_write_nothing(svc: Service, localstripe: LocalStripe) -> None:
    with client(svc, ALEX) as alex, client(svc, PRIYA) as priya:
        acc = account_id(alex)
        v = view(alex, acc)
        card, home = v["methods"][0], policy(v, "HOM")
        before_payments = _count(svc, "payments")
        over = pay(alex, home["policy_id"], card["id"], home["balance_minor"] + 1)
        assert over.status_code == 422 and over.json()["code"] == "payment.amount_over_balance"
        # Another customer's policy and card are not found, not "forbidden"
        theirs = pay(priya, home["policy_id"], card["id"], 100)
        assert theirs.status_code == 404 and theirs.json()["code"] == "policy.not_found"
        # A card number in any body is refused before anything else happens
        raw = alex.post(
            f"/accounts/{acc}/payment-methods",
            json={"stripe_payment_method_id": "pm_x", "card_number": "4242 4242 4242 4242"},
        )
        assert raw.status_code == 422 and raw.json()["code"] == "payment.card_data_refused"
        assert "4242 4242" not in raw.text
        sneaky = alex.post(
            f"/accounts/{acc}/payment-methods", json={"stripe_payment_method_id": "4242424242424242"}
        )
        assert sneaky.json()["code"] == "payment.card_data_refused"
        bad_key = pay(alex, home["policy_id"], card["id"], 100, key="no spaces allowed!")
        assert bad_key.status_code == 422
        # The autopay card cannot be removed while autopay uses it
        removed = alex.delete(f"/accounts/{acc}/payment-methods/{card['id']}")
        assert removed.status_code == 409 and removed.json()["code"] == "payment.method_in_use_by_autopay"
        # Policyholders cannot refund
        refund = alex.post("/payments/pay_nope/refunds", json={"amount_minor": 1, "reason": "because"})
        assert refund.status_code == 403 and refund.json()["code"] == "payment.refund_forbidden"
    assert _count(svc, "payments") == before_payments
    assert svc.sql("SELECT count(*) FROM payment_methods WHERE status = 'active'")[0][0] == 1


def test_autopay_charges_on_the_due_date_once_after_a_reminder(
    svc: Service, localstripe: LocalStripe
) -> None:
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        auto = policy(view(alex, acc), "AUT")
        assert (
            auto["autopay"]["status"] == "active" and "ending 4242" in auto["autopay"]["authorization_text"]
        )
        nxt = next(i for i in auto["installments"] if i["status"] == "scheduled")
        days = (date.fromisoformat(nxt["due_date"]) - date.fromisoformat(auto["today"])).days
        # Two days before: a reminder, no charge
        svc.clock.advance(timedelta(days=days - 2))
        run_jobs(svc)
        assert policy(view(alex, acc), "AUT")["balance_minor"] == auto["balance_minor"]
        reminders = svc.sql("SELECT entity_id FROM audit_events WHERE action = 'autopay.reminder_sent'")
        assert [r[0] for r in reminders] == [nxt["id"]]
        # On the due date: charged, once, however often the runner passes
        svc.clock.advance(timedelta(days=2))
        run_jobs(svc)
        run_jobs(svc)
        after = policy(view(alex, acc), "AUT")
        paid = next(i for i in after["installments"] if i["id"] == nxt["id"])
        assert paid["status"] == "paid" and paid["paid_minor"] == nxt["amount_minor"]
        assert after["balance_minor"] == auto["balance_minor"] - nxt["amount_minor"]
    rows = svc.sql("SELECT stripe_payment_intent_id, channel FROM payments WHERE source_id = :i", i=nxt["id"])
    assert len(rows) == 1 and rows[0][1] == "system"
    intents = [
        i
        for i in stripe_intents(localstripe.url)
        if i["metadata"].get("portal_key", "").endswith(nxt["id"] + ":0")
    ]
    assert [i["status"] for i in intents] == ["succeeded"]


def test_soft_decline_retries_twice_then_suspends_autopay(svc: Service, localstripe: LocalStripe) -> None:
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        bad = add_card(alex, acc, localstripe.url, DECLINE_AT_CHARGE)
        auto = policy(view(alex, acc), "AUT")
        terms = auto["autopay_terms"][bad["id"]]
        r = alex.put(
            f"/policies/{auto['policy_id']}/autopay",
            json={"payment_method_id": bad["id"], "authorization_text": terms},
        )
        assert r.status_code == 200, r.text
        nxt = next(i for i in auto["installments"] if i["status"] == "scheduled")
        svc.clock.advance(
            timedelta(days=(date.fromisoformat(nxt["due_date"]) - date.fromisoformat(auto["today"])).days)
        )
        run_jobs(svc)  # due date: declined, retry in 3 days
        for _ in range(2):
            svc.clock.advance(timedelta(days=3, hours=1))
            run_jobs(svc)
        svc.clock.advance(timedelta(days=3, hours=1))
        run_jobs(svc)  # no fourth attempt
        after = policy(view(alex, acc), "AUT")
    attempts = svc.sql("SELECT status FROM payments WHERE source_id = :i", i=nxt["id"])
    assert [a[0] for a in attempts] == ["failed", "failed", "failed"]
    assert after["autopay"]["status"] == "suspended" and after["autopay_enabled"] is False
    assert svc.sql("SELECT count(*) FROM audit_events WHERE action = 'autopay.suspended'")[0][0] == 1


def test_scheduled_payment_runs_once_on_its_date_and_can_be_edited_or_cancelled(svc: Service) -> None:
    with client(svc, ALEX) as alex:
        acc = account_id(alex)
        v = view(alex, acc)
        card, home = v["methods"][0], policy(v, "HOM")
        today = date.fromisoformat(home["today"])
        bad_date = alex.post(
            f"/policies/{home['policy_id']}/scheduled-payments",
            json={"run_on": today.isoformat(), "amount_minor": 100, "payment_method_id": card["id"]},
        )
        assert bad_date.status_code == 422 and bad_date.json()["code"] == "payment.date_not_future"
        made = alex.post(
            f"/policies/{home['policy_id']}/scheduled-payments",
            json={
                "run_on": (today + timedelta(days=3)).isoformat(),
                "amount_minor": 2_500,
                "payment_method_id": card["id"],
            },
        ).json()
        other = alex.post(
            f"/policies/{home['policy_id']}/scheduled-payments",
            json={
                "run_on": (today + timedelta(days=2)).isoformat(),
                "amount_minor": 700,
                "payment_method_id": card["id"],
            },
        ).json()
        edited = alex.patch(
            f"/scheduled-payments/{made['id']}",
            json={"run_on": (today + timedelta(days=2)).isoformat(), "amount_minor": 3_000},
        )
        assert edited.status_code == 200 and edited.json()["amount_minor"] == 3_000
        assert alex.delete(f"/scheduled-payments/{other['id']}").json()["status"] == "canceled"
        run_jobs(svc)  # not yet
        assert _count(svc, "payments") == 0
        svc.clock.advance(timedelta(days=2))
        run_jobs(svc)
        run_jobs(svc)
        after = view(alex, acc)
        sp = next(s for s in after["scheduled"] if s["id"] == made["id"])
        assert sp["status"] == "paid"
        assert policy(after, "HOM")["balance_minor"] == home["balance_minor"] - 3_000
        late = alex.patch(f"/scheduled-payments/{made['id']}", json={"amount_minor": 10})
        assert late.status_code == 409 and late.json()["code"] == "payment.scheduled_not_editable"
    assert svc.sql("SELECT count(*) FROM payments WHERE kind = 'scheduled'")[0][0] == 1


def test_payment_day_moves_future_installments_only(svc: Service) -> None:
    with client(svc, PRIYA) as priya:
        acc = account_id(priya)
        renters = policy(view(priya, acc), "REN")
        today = date.fromisoformat(renters["today"])
        before = {i["id"]: i["due_date"] for i in renters["installments"]}
        too_far = priya.put(f"/policies/{renters['policy_id']}/payment-day", json={"day": 28})
        assert too_far.status_code == 422 and too_far.json()["code"] == "payment.day_beyond_grace"
        out_of_range = priya.put(f"/policies/{renters['policy_id']}/payment-day", json={"day": 31})
        assert out_of_range.status_code == 422
        r = priya.put(f"/policies/{renters['policy_id']}/payment-day", json={"day": 9})
        assert r.status_code == 200, r.text
        after = policy(view(priya, acc), "REN")
        assert after["payment_day"] == 9
        for inst in after["installments"]:
            old = date.fromisoformat(before[inst["id"]])
            new = date.fromisoformat(inst["due_date"])
            if old <= today:
                assert new == old  # past and past-due installments keep their dates
            elif new != old:
                assert new.day == 9 and (new.year, new.month) == (old.year, old.month)
        assert any(date.fromisoformat(i["due_date"]).day == 9 for i in after["installments"])
    assert svc.sql("SELECT count(*) FROM audit_events WHERE action = 'policy.payment_day_changed'")[0][0] == 1


def test_delinquency_grace_pending_cancellation_cancellation_reinstatement(
    svc: Service, localstripe: LocalStripe
) -> None:
    with client(svc, PRIYA) as priya:
        acc = account_id(priya)
        renters = policy(view(priya, acc), "REN")
        late = next(i for i in renters["installments"] if i["status"] == "past_due")
        due = date.fromisoformat(late["due_date"])
        today = date.fromisoformat(renters["today"])

        def at(day_after_due: int) -> dict:
            now = date.fromisoformat(policy(view(priya, acc), "REN")["today"])
            svc.clock.advance(timedelta(days=(due + timedelta(days=day_after_due) - now).days))
            run_jobs(svc)
            return policy(view(priya, acc), "REN")

        # The demo installment may already be past its 10-day grace: the runner catches up.
        late_by = max((today - due).days, 1)
        state = at(late_by)
        expected = "grace" if late_by <= 10 else "pending_cancellation"
        assert state["delinquency"]["status"] == expected
        assert state["delinquency"]["grace_started_at"]
        state = at(max(11, late_by))
        assert state["delinquency"]["status"] == "pending_cancellation"
        assert state["status"] == "pending_cancellation"
        state = at(30)
        assert state["status"] == "cancelled" and state["delinquency"]["cancelled_at"]
        # Paid inside the reinstatement window: reinstated
        card = add_card(priya, acc, localstripe.url)
        r = pay(priya, renters["policy_id"], card["id"], state["past_due_minor"])
        assert r.status_code == 201, r.text
        final = policy(view(priya, acc), "REN")
        d = final["delinquency"]
        assert final["status"] == "reinstated" and d["status"] == "reinstated"
        for step in ("grace_started_at", "pending_cancellation_at", "cancelled_at", "reinstated_at"):
            assert d[step], step
    actions = [
        r[0]
        for r in svc.sql(
            "SELECT action FROM audit_events WHERE entity_id = :p AND (action LIKE 'delinquency.%' "
            "OR action IN ('policy.pending_cancellation', 'policy.cancelled_nonpayment', "
            "'policy.reinstated')) "
            "ORDER BY seq",
            p=renters["policy_id"],
        )
    ]
    assert actions == [
        "delinquency.grace_started",
        "policy.pending_cancellation",
        "policy.cancelled_nonpayment",
        "policy.reinstated",
    ]


def test_refunds_by_a_supervisor_never_exceed_what_was_paid(svc: Service) -> None:
    with client(svc, ALEX) as alex, client(svc, "supervisor@portal.example") as sup:
        acc = account_id(alex)
        v = view(alex, acc)
        paid = pay(alex, policy(v, "HOM")["policy_id"], v["methods"][0]["id"], 10_000).json()
        first = sup.post(
            f"/payments/{paid['id']}/refunds", json={"amount_minor": 6_000, "reason": "Double billed"}
        )
        assert first.status_code == 201, first.text
        over = sup.post(f"/payments/{paid['id']}/refunds", json={"amount_minor": 4_001, "reason": "Again"})
        assert over.status_code == 422 and over.json()["code"] == "payment.refund_over_paid"
        no_reason = sup.post(f"/payments/{paid['id']}/refunds", json={"amount_minor": 1, "reason": "   "})
        assert no_reason.status_code == 422
        rest = sup.post(
            f"/payments/{paid['id']}/refunds", json={"amount_minor": 4_000, "reason": "Rest of it"}
        )
        assert rest.status_code == 201
        assert (
            sup.post(
                f"/payments/{paid['id']}/refunds", json={"amount_minor": 1, "reason": "More"}
            ).status_code
            == 422
        )
        assert policy(view(alex, acc), "HOM")["balance_minor"] == policy(v, "HOM")["balance_minor"]
    refunds = svc.sql("SELECT amount_minor, status FROM refunds ORDER BY created_at")
    assert [tuple(r) for r in refunds] == [(6_000, "succeeded"), (4_000, "succeeded")]
    events = svc.sql("SELECT channel, on_behalf_of FROM audit_events WHERE action = 'refund.succeeded'")
    assert all(e[0] == "agent" and e[1] for e in events)


def test_staff_take_a_payment_for_the_customer(svc: Service) -> None:
    with client(svc, "agent@portal.example") as agent, client(svc, ALEX) as alex:
        acc = account_id(alex)
        v = view(agent, acc)
        r = pay(agent, policy(v, "HOM")["policy_id"], v["methods"][0]["id"], 1_000)
        assert r.status_code == 201 and r.json()["channel"] == "agent"
    row = svc.sql("SELECT channel, on_behalf_of FROM audit_events WHERE action = 'payment.succeeded'")[0]
    assert row[0] == "agent" and row[1]

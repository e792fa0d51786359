"""Money safety with a fake gateway: lost replies, crashes between steps, racing workers, declines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from services.accounts.models import Account
from services.actor import Actor
from services.bootstrap import Container, build
from services.clock import FixedClock
from services.config import ServiceSettings
from services.db.base import new_id
from services.jobs.models import Job
from services.payments import charging, service
from services.payments.models import Installment, Payment, PaymentMethod, StripeCustomer
from services.payments.runtime import PaymentsRuntime
from services.policies.models import Policy
from services.runtime import prepare
from tests.unit.fake_gateway import FakePaymentGateway


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database, seeded once; each test works on a copy."""
    folder = tmp_path_factory.mktemp("seed")
    c = build(
        ServiceSettings(
            database_url=f"sqlite:///{folder / 'p.sqlite3'}", data_dir=folder, jwt_secret="x" * 40
        )
    )
    prepare(c, seed=True)
    c.db.dispose()
    return folder / "p.sqlite3"


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[tuple[Container, PaymentsRuntime, FakePaymentGateway]]:
    db_file = tmp_path / "p.sqlite3"
    db_file.write_bytes(seeded.read_bytes())
    clock = FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    c = build(
        ServiceSettings(database_url=f"sqlite:///{db_file}", data_dir=tmp_path, jwt_secret="x" * 40),
        clock=clock,
    )
    fake = FakePaymentGateway()
    rt = PaymentsRuntime(c.settings, clock, c.db, gateway=fake)
    with c.db.write() as s:
        account = s.scalar(select(Account).where(Account.name == "Morgan household"))
        assert account is not None
        s.add(StripeCustomer(account_id=account.id, stripe_customer_id="cus_1", created_at=clock.now()))
        for pm, default in (("pm_good", True), ("pm_soft", False), ("pm_hard", False)):
            s.add(
                PaymentMethod(
                    id=f"pmt_{pm}",
                    account_id=account.id,
                    stripe_payment_method_id=pm,
                    brand="visa",
                    last4="4242",
                    exp_month=12,
                    exp_year=2031,
                    is_default=default,
                    status="active",
                    created_at=clock.now(),
                )
            )
    fake.decline = {"pm_soft": False, "pm_hard": True}
    yield c, rt, fake
    c.db.dispose()


def _home(c: Container) -> Policy:
    with c.db.read() as s:
        return next(p for p in s.scalars(select(Policy)) if p.number.startswith("HOM"))


def _alex(c: Container) -> Actor:
    from services.auth.models import User

    with c.db.read() as s:
        u = s.scalar(select(User).where(User.email == "alex.morgan@example.com"))
        assert u is not None
        return Actor(user_id=u.id, role="policyholder", name=u.full_name)


def _paid(c: Container, policy_id: str) -> int:
    with c.db.read() as s:
        return sum(
            i.paid_minor for i in s.scalars(select(Installment).where(Installment.policy_id == policy_id))
        )


def test_a_lost_reply_is_reconciled_not_charged_again(world) -> None:
    c, rt, fake = world
    home, before = _home(c), _paid(c, _home(c).id)
    fake.faults.add("confirm_lost_reply")  # the charge happens, its reply never arrives
    result = charging.pay_now(
        rt,
        _alex(c),
        policy_id=home.id,
        amount_minor=1_000,
        payment_method_id="pmt_pm_good",
        request_key="lost-reply-1",
    )
    assert result.payment["status"] == "succeeded" and len(fake.charges) == 1
    assert _paid(c, home.id) == before + 1_000
    # The customer presses again with the same confirmation: the same payment, no new charge
    again = charging.pay_now(
        rt,
        _alex(c),
        policy_id=home.id,
        amount_minor=1_000,
        payment_method_id="pmt_pm_good",
        request_key="lost-reply-1",
    )
    assert again.payment["id"] == result.payment["id"] and len(fake.charges) == 1


def test_unknown_outcome_with_stripe_unreachable_is_left_for_reconciliation(world) -> None:
    c, rt, fake = world
    home = _home(c)
    fake.faults |= {"confirm_lost_reply", "retrieve_down"}
    result = charging.pay_now(
        rt,
        _alex(c),
        policy_id=home.id,
        amount_minor=500,
        payment_method_id="pmt_pm_good",
        request_key="unknown-outcome",
    )
    assert result.payment["status"] == "processing" and result.error is None
    with c.db.read() as s:
        job = s.scalar(select(Job).where(Job.dedupe_key == f"reconcile:{result.payment['id']}"))
        assert job is not None
    fake.faults.discard("retrieve_down")
    settled = charging.reconcile(rt, result.payment["id"], Actor.system("test"))
    assert settled.payment["status"] == "succeeded" and len(fake.charges) == 1


def test_stripe_unreachable_before_charging_fails_cleanly(world) -> None:
    c, rt, fake = world
    home, before = _home(c), _paid(c, _home(c).id)
    fake.faults.add("create_down")
    result = charging.pay_now(
        rt,
        _alex(c),
        policy_id=home.id,
        amount_minor=800,
        payment_method_id="pmt_pm_good",
        request_key="network-down",
    )
    assert result.payment["status"] == "failed" and result.error is not None
    assert result.error.code == "payment.gateway_unavailable" and fake.charges == []
    assert _paid(c, home.id) == before


def test_crash_between_storing_and_confirming_confirms_once(world) -> None:
    c, rt, fake = world
    home = _home(c)
    with c.db.write() as s:
        policy = s.get(Policy, home.id)
        method = s.get(PaymentMethod, "pmt_pm_good")
        p = charging.record_charge(
            s,
            Actor.system("t"),
            rt.clock,
            policy=policy,
            kind="pay_now",
            source_id="crash",
            key="portal:test:crash",
            amount_minor=700,
            method=method,
        )
        pid = p.id
    orphan = fake.create_intent(
        amount_minor=700,
        currency="USD",
        customer_id="cus_1",
        payment_method_id="pm_good",
        metadata={},
        idempotency_key="x",
    )  # created, then the process died
    stored = fake.create_intent(
        amount_minor=700,
        currency="USD",
        customer_id="cus_1",
        payment_method_id="pm_good",
        metadata={},
        idempotency_key="x",
    )
    assert charging._store_intent(rt, pid, stored.id) == stored.id
    assert charging._store_intent(rt, pid, orphan.id) == stored.id  # a racing worker adopts the stored one
    result = charging.reconcile(rt, pid, Actor.system("t"))
    assert result.payment["status"] == "succeeded" and fake.charges == [stored.id]
    assert fake.intents[orphan.id].status == "requires_confirmation"  # never took money


def test_two_workers_on_one_charge_take_money_once(world) -> None:
    c, rt, fake = world
    home = _home(c)
    with c.db.write() as s:
        p = charging.record_charge(
            s,
            Actor.system("t"),
            rt.clock,
            policy=s.get(Policy, home.id),
            kind="pay_now",
            source_id="race",
            key="portal:test:race",
            amount_minor=300,
            method=s.get(PaymentMethod, "pmt_pm_good"),
        )
        pid = p.id
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(charging.execute(rt, pid, Actor.system("t")).payment["status"])
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["succeeded"] * 4 and len(fake.charges) == 1
    with c.db.read() as s:
        assert s.scalar(select(Payment.status).where(Payment.id == pid)) == "succeeded"


def test_soft_declines_retry_days_later_hard_ones_do_not(world) -> None:
    c, rt, _ = world
    auto = next(p for p in service_policies(c) if p.number.startswith("AUT"))
    with c.db.write() as s:
        inst = s.scalar(
            select(Installment)
            .where(Installment.policy_id == auto.id, Installment.paid_minor == 0)
            .order_by(Installment.due_date)
        )
        assert inst is not None
        inst.due_date = rt.clock.now().date()
        inst_id = inst.id
        from services.payments.models import AutopayEnrollment

        s.add(
            AutopayEnrollment(
                policy_id=auto.id,
                account_id=auto.account_id,
                payment_method_id="pmt_pm_soft",
                status="active",
                authorization_text="t",
                authorized_at=rt.clock.now(),
                consecutive_failures=0,
                updated_at=rt.clock.now(),
            )
        )
    result = charging.charge_installment(rt, inst_id, 0)
    assert result is not None and result.payment["status"] == "failed"
    with c.db.read() as s:
        retry = s.scalar(select(Job).where(Job.dedupe_key == charging.autopay_key(inst_id, 1)))
        assert retry is not None and (retry.run_at - rt.clock.now()).days == 3
    # A hard decline on the retry: no further attempt, autopay suspended
    with c.db.write() as s:
        from services.payments.models import AutopayEnrollment

        s.get(AutopayEnrollment, auto.id).payment_method_id = "pmt_pm_hard"  # type: ignore[union-attr]
    charging.charge_installment(rt, inst_id, 1)
    with c.db.read() as s:
        assert s.scalar(select(Job).where(Job.dedupe_key == charging.autopay_key(inst_id, 2))) is None
        from services.payments.models import AutopayEnrollment

        assert s.get(AutopayEnrollment, auto.id).status == "suspended"  # type: ignore[union-attr]


def service_policies(c: Container) -> list[Policy]:
    with c.db.read() as s:
        return list(s.scalars(select(Policy)))


def test_billing_schedule_puts_the_remainder_on_the_first_installment() -> None:
    from datetime import date

    rows = service.build_schedule(100_001, "quarterly", date(2026, 1, 20), 5)
    assert [a for _, _, a in rows] == [25_001, 25_000, 25_000, 25_000]
    assert [d for _, d, _ in rows] == [
        date(2026, 2, 5),
        date(2026, 5, 5),
        date(2026, 8, 5),
        date(2026, 11, 5),
    ]
    assert sum(a for _, _, a in rows) == 100_001
    monthly = service.build_schedule(148_800, "monthly", date(2026, 3, 12), 12)
    assert monthly[0][1] == date(2026, 3, 12) and monthly[-1][1] == date(2027, 2, 12)
    with pytest.raises(Exception) as bad:
        service.build_schedule(1, "weekly", date(2026, 1, 1), 1)
    assert getattr(bad.value, "code", "") == "payment.unknown_pay_plan"


def test_new_ids_are_opaque() -> None:
    assert new_id("pay") != new_id("pay")

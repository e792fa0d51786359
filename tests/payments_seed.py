"""Many due autopay installments on one demo card: the load for the crash test and the bench."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from services.accounts.models import Account
from services.accounts.service import policy_today
from services.db.base import new_id
from services.jobs.kinds import build_registry
from services.jobs.runner import JobRunner
from services.payments import service as payments
from services.payments.models import AutopayEnrollment, Installment, PaymentMethod
from services.payments.runtime import payments_runtime
from services.policies.models import Policy


def seed_due_autopay(container: Any, count: int, *, zone: str = "America/Chicago") -> list[str]:
    """`count` one-installment policies on autopay, each due today. Returns the installment ids."""
    JobRunner(container.db, container.clock, build_registry(container)).run_once()  # the demo card
    rt = payments_runtime(container)
    rng = secrets.SystemRandom()
    ids: list[str] = []
    with container.db.write() as session:
        account = session.scalar(select(Account).where(Account.name == "Morgan household"))
        assert account is not None
        method = session.scalar(select(PaymentMethod).where(PaymentMethod.account_id == account.id))
        assert method is not None, "the demo card job did not run"
        now = container.clock.now()
        tag = secrets.token_hex(3).upper()
        for n in range(count):
            policy = Policy(
                id=new_id("pol"),
                account_id=account.id,
                number=f"LD-{tag}-{n:05d}",
                product_line="auto",
                status="active",
                effective_date=now.date() - timedelta(days=30),
                expiry_date=now.date() + timedelta(days=335),
                time_zone=zone,
                premium_minor=0,
                currency="USD",
                pay_plan="full",
                payment_day=1,
                autopay_enabled=True,
                created_at=now,
            )
            session.add(policy)
            session.flush()
            amount = rng.randrange(1_000, 50_000)
            policy.premium_minor = amount
            inst = Installment(
                id=new_id("ins"),
                policy_id=policy.id,
                number=1,
                due_date=policy_today(policy, container.clock),
                amount_minor=amount,
                paid_minor=0,
                currency="USD",
                status="scheduled",
            )
            session.add(inst)
            session.add(
                AutopayEnrollment(
                    policy_id=policy.id,
                    account_id=account.id,
                    payment_method_id=method.id,
                    status="active",
                    authorization_text=payments.autopay_terms(policy, method, rt.timeline),
                    authorized_at=now,
                    consecutive_failures=0,
                    updated_at=now,
                )
            )
            ids.append(inst.id)
    return ids

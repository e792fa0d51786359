"""Charges per second through the job runner vs. direct SDK calls, against one localstripe.

    .venv/bin/python -m bench.payments [--n 200] [--workers 4] [--database sqlite|postgresql]

Both sides run in the same process against the same localstripe, with the same number of
threads. The direct side is the bare Stripe SDK work of a charge (create the PaymentIntent,
confirm it) through our StripeGateway adapter, no database. The runner side is the whole
product path: the sweep finds the due installments, each job records the charge, creates and
stores the PaymentIntent, confirms it, allocates it and audits every step. Then it counts
duplicates on both our side and localstripe's (must be 0) and unpaid installments (must be 0).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

# `python bench/payments.py` (the Makefile's way) puts bench/ first on the path; the shared test
# helpers live in tests/ at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.bootstrap import build
from services.clock import SystemClock
from services.config import ServiceSettings
from services.jobs.kinds import build_registry
from services.jobs.runner import JobRunner
from services.payments.localstripe import LocalStripe
from services.payments.models import Installment, Payment, PaymentMethod, StripeCustomer
from services.payments.runtime import payments_runtime
from services.runtime import prepare
from tests.payments_seed import seed_due_autopay
from tests.payments_support import stripe_intents, stripe_settings
from tests.support import postgres_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="due installments (and direct charges)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)

    ls = LocalStripe(None, from_scratch=True)
    ls.start()
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    try:
        if args.database == "postgresql":
            with postgres_schema() as url:
                return run(url, folder, ls, args.n, args.workers)
        return run(f"sqlite:///{folder / 'bench.sqlite3'}", folder, ls, args.n, args.workers)
    finally:
        ls.stop()


def run(url: str, folder: Path, ls: LocalStripe, n: int, workers: int) -> int:
    settings = ServiceSettings(database_url=url, data_dir=folder, **stripe_settings(ls))
    container = build(settings, clock=SystemClock())
    prepare(container, seed=True)
    ids = seed_due_autopay(container, n)
    gateway = payments_runtime(container).gateway()
    with container.db.read() as session:
        method = session.scalars(select(PaymentMethod)).first()
        assert method is not None
        customer = session.get(StripeCustomer, method.account_id)
        assert customer is not None
        pm, cus = method.stripe_payment_method_id, customer.stripe_customer_id

    def direct(i: int) -> str:
        intent = gateway.create_intent(
            amount_minor=1_000 + i,
            currency="USD",
            customer_id=cus,
            payment_method_id=pm,
            metadata={"bench": "direct"},
            idempotency_key=f"bench:direct:{i}:create",
        )
        return gateway.confirm_intent(intent.id, idempotency_key=f"bench:direct:{i}:confirm").status

    # Warm both paths (connections, imports) outside the timings.
    direct(-1)
    with ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        statuses = list(pool.map(direct, range(n)))
        direct_s = time.perf_counter() - started
    assert statuses.count("succeeded") == n, Counter(statuses)

    runner = JobRunner(container.db, container.clock, build_registry(container), workers=workers)
    started = time.perf_counter()
    ran = runner.run_once()
    runner_s = time.perf_counter() - started

    with container.db.read() as session:
        unpaid = len(
            list(
                session.scalars(
                    select(Installment.id).where(Installment.id.in_(ids), Installment.paid_minor == 0)
                )
            )
        )
        ours = Counter(
            p.source_id
            for p in session.scalars(
                select(Payment).where(Payment.source_id.in_(ids), Payment.status == "succeeded")
            )
        )
    theirs: Counter[str] = Counter()
    for intent in stripe_intents(ls.url):
        parts = intent["metadata"].get("portal_key", "").split(":")
        if len(parts) == 4 and parts[2] in ids and intent["status"] == "succeeded":
            theirs[parts[2]] += 1
    duplicates = sum(c - 1 for c in ours.values() if c > 1) + sum(c - 1 for c in theirs.values() if c > 1)

    direct_rate, runner_rate = n / direct_s, len(ours) / runner_s
    print(f"database            {container.db.dialect}")
    print(f"machine             {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"due installments    {n}   workers {workers}   jobs run {ran}")
    print(f"direct SDK          {direct_rate:8.1f} charges/s  ({direct_s:.2f} s for {n})")
    print(f"job runner          {runner_rate:8.1f} charges/s  ({runner_s:.2f} s for {len(ours)})")
    print(f"ratio runner/direct {runner_rate / direct_rate:8.2f}   (target >= 0.80)")
    print(f"duplicates          {duplicates}")
    print(f"unpaid              {unpaid}")
    payments_runtime(container).close()
    container.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

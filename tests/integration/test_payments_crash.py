"""The crash test: `portal jobs` is SIGKILLed at random points while it charges many due
installments, and restarted until done. Afterwards every installment is paid exactly once, on
our side and on localstripe's."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services.bootstrap import Container, build
from services.clock import SystemClock
from services.config import ServiceSettings
from services.payments.localstripe import LocalStripe
from services.payments.models import IN_FLIGHT, Installment, Payment
from services.runtime import prepare
from tests.conftest import BACKENDS, _database_url
from tests.payments_seed import seed_due_autopay
from tests.payments_support import stripe_intents, stripe_settings
from tests.support import shared_secrets

DUE = 60
LEASE_SECONDS = 2.0


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


def _env(database_url: str, data_dir: Path, ls: LocalStripe) -> dict[str, str]:
    env = dict(os.environ)
    env.update(shared_secrets())  # `portal jobs` refuses PostgreSQL without them
    env.update({f"PORTAL_{k.upper()}": str(v) for k, v in stripe_settings(ls).items()})
    env["PORTAL_DATABASE_URL"] = database_url
    env["PORTAL_DATA_DIR"] = str(data_dir)
    return env


def _jobs(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "portal_app.cli",
        "jobs",
        "--poll",
        "0.05",
        "--lease",
        str(LEASE_SECONDS),
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _attempts(container: Container, ids: list[str]) -> int:
    with container.db.read() as session:
        return len(list(session.scalars(select(Payment.id).where(Payment.source_id.in_(ids)))))


def _wait_for_new_attempt(container: Container, ids: list[str], before: int, timeout: float = 15) -> None:
    """Until a runner has recorded a payment attempt beyond `before` (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _attempts(container, ids) <= before:
        time.sleep(0.02)


def test_sigkilled_runner_pays_every_installment_exactly_once(
    database: str, tmp_path: Path, localstripe: LocalStripe
) -> None:
    # Given DUE autopay installments due today on a card that works
    settings = ServiceSettings(database_url=database, data_dir=tmp_path, **stripe_settings(localstripe))
    container = build(settings, clock=SystemClock())
    prepare(container, seed=True)
    ids = seed_due_autopay(container, DUE)
    env = _env(database, tmp_path, localstripe)
    rng = random.Random(int(os.environ.get("PORTAL_CRASH_SEED", "5")))

    # When the runner is killed with SIGKILL at random moments, again and again
    kills = 0
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        with container.db.read() as session:
            unpaid = session.scalar(
                select(Installment.id).where(Installment.id.in_(ids), Installment.paid_minor == 0).limit(1)
            )
        if unpaid is None or kills >= 8:
            break
        proc = _jobs(env)
        # Kill once this runner has started charging, a random moment later: tied to progress
        # rather than to a start-up time, so the kills land mid-charge on a fast or a slow machine
        _wait_for_new_attempt(container, ids, _attempts(container, ids))
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    # Then restarted until nothing is left (a killed runner's jobs are taken over after its lease)
    while time.monotonic() < deadline:
        time.sleep(LEASE_SECONDS + 0.2)
        subprocess.run(
            [sys.executable, "-m", "portal_app.cli", "jobs", "--once", "--lease", str(LEASE_SECONDS)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with container.db.read() as session:
            left = session.scalar(
                select(Installment.id).where(Installment.id.in_(ids), Installment.paid_minor == 0).limit(1)
            )
            busy = session.scalar(select(Payment.id).where(Payment.status.in_(IN_FLIGHT)).limit(1))
        if left is None and busy is None:
            break

    # Our side: every installment paid in full by exactly one succeeded charge
    with container.db.read() as session:
        installments = list(session.scalars(select(Installment).where(Installment.id.in_(ids))))
        payments = list(session.scalars(select(Payment).where(Payment.source_id.in_(ids))))
    assert kills >= 3
    assert all(i.paid_minor == i.amount_minor and i.status == "paid" for i in installments)
    succeeded = Counter(p.source_id for p in payments if p.status == "succeeded")
    assert set(succeeded) == set(ids) and set(succeeded.values()) == {1}
    assert not [p for p in payments if p.status in IN_FLIGHT]
    # Stripe's side: one succeeded PaymentIntent per installment; any other intent the kills
    # left behind was never confirmed, so it never took money
    by_installment: Counter[str] = Counter()
    for intent in stripe_intents(localstripe.url):
        key = intent["metadata"].get("portal_key", "")
        parts = key.split(":")
        if len(parts) == 4 and parts[2] in ids:
            if intent["status"] == "succeeded":
                by_installment[parts[2]] += 1
            else:
                assert intent["status"] == "requires_confirmation", intent
    assert set(by_installment) == set(ids) and set(by_installment.values()) == {1}
    print(f"\ncrash test ({container.db.dialect}): {DUE} installments, {kills} SIGKILLs, paid once each")
    container.extras["payments"].close()  # type: ignore[attr-defined]
    container.db.dispose()

"""The service process SIGKILLed while pay-now requests are in flight (the API side; the job
runner's own crash test is tests/integration/test_payments_crash.py).

Afterwards, with the service restarted: the client retries every request that got no answer with
the same request key, the job runner reconciles what the kill left half-done, and then every request
key is exactly one payment, paid at most once on Stripe, and the balance moved by what succeeded.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.bootstrap import build
from services.clock import SystemClock
from services.config import ServiceSettings
from services.demo import DEMO_PASSWORD
from services.payments.localstripe import LocalStripe
from services.payments.models import IN_FLIGHT, Payment
from services.runtime import prepare
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import ALEX, run_jobs, stripe_intents, stripe_settings
from tests.support import Service, shared_secrets

JWT_SECRET = "fault-tests-" + "k" * 40  # the same on both sides of the restart: tokens survive it
REQUESTS = 16


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """`portal serve` as its own process, so it can really be killed."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "portal_app.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "error",
        ]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the service did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def test_service_sigkilled_mid_pay_now_loses_and_duplicates_nothing(
    database: str, tmp_path: Path, localstripe: LocalStripe
) -> None:
    # Given the demo world with the Morgans' card on file, served by its own process
    settings = ServiceSettings(
        database_url=database, data_dir=tmp_path, jwt_secret=JWT_SECRET, **stripe_settings(localstripe)
    )
    container = build(settings, clock=SystemClock())
    prepare(container, seed=True)
    run_jobs(_Shim(container))  # the demo seed's job: the Morgans' Visa
    env = dict(os.environ)
    env.update({f"PORTAL_{k.upper()}": str(v) for k, v in stripe_settings(localstripe).items()})
    env.update(shared_secrets())
    env.update(PORTAL_DATABASE_URL=database, PORTAL_DATA_DIR=str(tmp_path), PORTAL_JWT_SECRET=JWT_SECRET)
    server = ServiceProcess(env, free_port())
    server.start()
    api = httpx.Client(base_url=server.url + "/api/v1", timeout=30)
    try:
        token = api.post("/auth/sign-in", json={"email": ALEX, "password": DEMO_PASSWORD}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        account = api.get("/me").json()["accounts"][0]["id"]
        view = api.get(f"/accounts/{account}/payments").json()
        home = next(p for p in view["policies"] if p["number"].startswith("HOM"))
        card = view["methods"][0]["id"]
        balance_before = _balance(container, home["policy_id"])
        keys = [uuid.uuid4().hex for _ in range(REQUESTS)]

        def pay(key: str) -> httpx.Response | str:
            try:
                return api.post(
                    f"/policies/{home['policy_id']}/payments",
                    json={"payment_method_id": card, "amount_minor": 100, "request_key": key},
                )
            except httpx.HTTPError as exc:
                return type(exc).__name__

        # When the requests go out together and the process is killed while they are in flight
        rng = random.Random(int(os.environ.get("PORTAL_CRASH_SEED", "7")))
        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            futures = [pool.submit(pay, k) for k in keys]
            time.sleep(rng.uniform(0.15, 0.6))
            server.kill()
            first = [f.result() for f in futures]
        answered = [r for r in first if isinstance(r, httpx.Response)]
        lost = [r for r in first if isinstance(r, str)]
        in_flight_at_restart = _count_in_flight(container)

        # Then after a restart the client's retries with the same keys are safe
        server.start()
        retried = {k: pay(k) for k, r in zip(keys, first, strict=True) if not isinstance(r, httpx.Response)}
        for r in retried.values():
            assert isinstance(r, httpx.Response) and r.status_code in {201, 409}, r
        # and the runner finishes whatever the kill left in flight
        for _ in range(20):
            run_jobs(_Shim(container))
            if _count_in_flight(container) == 0:
                break
            time.sleep(0.5)
        final = {k: pay(k) for k in keys}  # one more resend of everything: still the same payments
    finally:
        api.close()
        server.stop()

    with container.db.read() as session:
        payments = list(
            session.scalars(select(Payment).where(Payment.source_id.in_(keys), Payment.kind == "pay_now"))
        )
    per_key = Counter(p.source_id for p in payments)
    print(
        f"\nservice SIGKILL ({container.db.dialect}): {REQUESTS} pay-now requests, {len(answered)} answered "
        f"before the kill, {len(lost)} lost in flight, {in_flight_at_restart} charges in flight at restart; "
        f"after retries: {Counter(p.status for p in payments)}"
    )
    # Exactly one payment per request key, none left in flight
    assert set(per_key.values()) <= {1} and len(per_key) >= len(answered)
    assert not [p for p in payments if p.status in IN_FLIGHT]
    # A resend answers with the very payment the key made
    for key in keys:
        r = final[key]
        assert isinstance(r, httpx.Response)
        if r.status_code == 201:
            assert r.json()["id"] == next(p.id for p in payments if p.source_id == key)
    # Stripe took money at most once per payment, and only for those we call succeeded
    ours = {p.id: p for p in payments}
    taken: Counter[str] = Counter()
    for intent in stripe_intents(localstripe.url):
        pid = intent["metadata"].get("portal_payment_id")
        if pid in ours and intent["status"] == "succeeded":
            taken[pid] += 1
    assert set(taken.values()) <= {1}
    assert set(taken) == {p.id for p in payments if p.status == "succeeded"}
    # And the balance moved by exactly what succeeded
    paid = sum(p.amount_minor for p in payments if p.status == "succeeded")
    after = _balance(container, home["policy_id"])
    assert after == balance_before - paid
    container.extras["payments"].close()  # type: ignore[attr-defined]
    container.db.dispose()


def _count_in_flight(container: Any) -> int:
    with container.db.read() as session:
        return len(list(session.scalars(select(Payment.id).where(Payment.status.in_(IN_FLIGHT)))))


def _balance(container: Any, policy_id: str) -> int:
    from services.payments.models import Installment

    with container.db.read() as session:
        rows = session.scalars(select(Installment).where(Installment.policy_id == policy_id))
        return sum(i.amount_minor - i.paid_minor for i in rows if i.status != "waived")


class _Shim(Service):
    """run_jobs wants a Service; only its container is used."""

    def __init__(self, container: Any) -> None:
        self._container = container

    @property
    def container(self) -> Any:  # type: ignore[override]
        return self._container

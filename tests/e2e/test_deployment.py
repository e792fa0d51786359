"""End to end: the deployment an operator runs (deploy/launch.py), as real processes: moto's S3
server, nginx, two `portal serve` instances and two `portal jobs` runners on PostgreSQL, one shared
Stripe sandbox. Through nginx a customer signs in, pays, files a claim with a 25 MB photo through
instance 1 and it reads through instance 2, while an agent's live feed (a WebSocket through nginx,
on instance 2) shows each change. Instance 1 is SIGKILLed with payments in flight; the journey
finishes on instance 2 with nothing lost and nothing charged twice."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from services.payments.runtime import LOCAL_SECRET_KEY
from tests import claims_samples as samples
from tests.conftest import require_postgres
from tests.s3_support import TEST_CREDENTIALS
from tests.support import postgres_schema, shared_secrets

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
ALEX, AGENT, PASSWORD = "alex.morgan@example.com", "agent@portal.example", "portal-demo-2026"
PHOTO_BYTES = 25_000_000
LAUNCH = ("--instances", "2", "--runners", "2", "--poll", "0.5", "--stripe-sandbox", "--seed-demo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    url: str
    state: dict[str, Any]
    database_url: str

    def api(self, token: str | None = None, instance: int | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if instance is not None:
            headers["X-Portal-Instance"] = str(instance)  # nginx pins the request to that instance
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(statement), params))
        finally:
            engine.dispose()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    require_postgres()
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, **TEST_CREDENTIALS, **shared_secrets()}
    try:
        # The S3 server, and a bucket for the deployment
        s3_port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        endpoint = f"http://127.0.0.1:{s3_port}"
        _wait_for(lambda: httpx.get(endpoint, timeout=1).status_code < 500, "moto's S3 server")
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket="portal")
        with postgres_schema() as database_url:
            env.update(
                PORTAL_DATABASE_URL=database_url,
                PORTAL_BLOB_URL=f"s3://portal/blobs?endpoint={endpoint}&region=us-east-1",
                PORTAL_LOG_FORMAT="json",
            )
            run_dir = tmp_path / "run"
            launcher = subprocess.Popen(
                [sys.executable, str(ROOT / "deploy" / "launch.py"), "--run-dir", str(run_dir), *LAUNCH],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(launcher)
            url = _ready_line(launcher)
            state = json.loads((run_dir / "deployment.json").read_text())
            yield Deployment(url, state, database_url)
            launcher.send_signal(signal.SIGTERM)
            launcher.wait(60)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _ready_line(launcher: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert launcher.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in launcher.stdout], daemon=True).start()  # type: ignore[union-attr]
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if launcher.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith("READY "):
            return line.split()[1]
    raise AssertionError("the deployment did not come up:\n" + "".join(seen))


def _wait_for(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up")


class LiveFeed:
    """The agent's WebSocket (through nginx, pinned to one instance), read on a thread."""

    def __init__(self, url: str, token: str, instance: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "X-Portal-Instance": str(instance)}
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(
            connect(url, additional_headers=headers, open_timeout=30, max_size=None)
        )
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(30), "the live feed did not get ready"

    def _read(self) -> None:
        try:
            for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "ready":
                    self.ready.set()
                elif message["type"] == "event":
                    self.events.append(message["event"])
        except Exception:
            pass
        self.closed.set()

    def wait_for(self, action: str, *entity_ids: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event["action"] == action and event["entity_id"] in entity_ids:
                    return event
            assert not self.closed.is_set(), "the agent's live feed closed"
            time.sleep(0.05)
        raise AssertionError(
            f"the agent never saw {action} {entity_ids}; saw {[e['action'] for e in self.events]}"
        )


def test_the_deployment_survives_an_instance_killed_mid_journey(deployment: Deployment) -> None:
    d = deployment
    instance_1 = next(i for i in d.state["instances"] if i["name"] == "instance-1")

    # Given the customer and an agent signed in through nginx
    with d.api() as anon:
        alex_token = anon.post("/auth/sign-in", json={"email": ALEX, "password": PASSWORD}).json()[
            "access_token"
        ]
        agent_token = anon.post("/auth/sign-in", json={"email": AGENT, "password": PASSWORD}).json()[
            "access_token"
        ]
    alex = d.api(alex_token, instance=1)
    alex_on_2 = d.api(alex_token, instance=2)
    account = alex.get("/me").json()["accounts"][0]["id"]
    # The job runners put the demo's Visa on Stripe shortly after the start
    _wait_for(lambda: alex.get(f"/accounts/{account}/payments").json()["methods"], "the demo card", 60)
    view = alex.get(f"/accounts/{account}/payments").json()
    home = next(p for p in view["policies"] if p["number"].startswith("HOM"))
    card = view["methods"][0]["id"]

    # And the agent watching the account live on instance 2, through nginx's WebSocket upgrade
    feed = LiveFeed(
        d.url.replace("http://", "ws://") + f"/api/v1/accounts/{account}/events/live", agent_token, instance=2
    )

    # When Alex pays through instance 1, the agent sees it at once
    r = alex.post(
        f"/policies/{home['policy_id']}/payments",
        json={"payment_method_id": card, "amount_minor": 2500, "request_key": uuid.uuid4().hex},
    )
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    first_payment = r.json()["id"]
    feed.wait_for("payment.succeeded", first_payment)

    # And files a claim with a 25 MB photo through instance 1
    overview = alex.get(f"/accounts/{account}").json()
    auto = next(p for p in overview["policies"] if p["product_line"] == "auto")
    r = alex.post(
        "/claims",
        json={
            "account_id": account,
            "policy_id": auto["id"],
            "loss_type": "collision",
            "loss_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "location": "N Clark St & W Belmont Ave, Chicago",
            "description": "Rear-ended at a red light.",
            "vehicle": "2021 Toyota RAV4",
        },
    )
    assert r.status_code == 201, r.text
    claim = r.json()["id"]
    feed.wait_for("claim.filed", claim)
    photo = samples.jpeg(4800, 4500, quality=95)
    assert len(photo) >= PHOTO_BYTES
    r = alex.post(
        f"/claims/uploads/{claim}",
        params={"filename": "rear.jpg"},
        content=photo,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    uploaded = r.json()
    feed.wait_for("claim.photo_attached", claim, uploaded["id"])
    # Then it reads through instance 2, byte for byte (the blob is in the shared S3 bucket)
    content = f"/claims/{claim}/photos/{uploaded['id']}/content"
    got = alex_on_2.get(content, params={"rendition": "original"})
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == uploaded["sha256"]
    assert got.content == photo

    # When instance 1 is SIGKILLed while pay-now requests keep going through it
    def pay(key: str, client: httpx.Client) -> httpx.Response | None:
        try:
            return client.post(
                f"/policies/{home['policy_id']}/payments",
                json={"payment_method_id": card, "amount_minor": 100, "request_key": key},
            )
        except httpx.HTTPError:
            return None

    sent: dict[str, httpx.Response | None] = {}
    killed = threading.Event()

    def keep_paying() -> None:
        with d.api(alex_token, instance=1) as client:
            while not killed.is_set():
                key = uuid.uuid4().hex
                sent[key] = None
                sent[key] = answer = pay(key, client)
                if answer is None or answer.status_code >= 500:
                    return

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(keep_paying)
        time.sleep(1.0)
        os.kill(instance_1["pid"], signal.SIGKILL)
        killed.set()
    keys = list(sent)
    first = [sent[k] for k in keys]
    unanswered = [k for k, r in sent.items() if r is None or r.status_code != 201]
    assert unanswered, "the kill was meant to cut requests in flight"

    # Then the customer resends what got no final answer, through nginx (now only instance 2)
    alex_any = d.api(alex_token)
    final: dict[str, httpx.Response] = {}
    for key, r in zip(keys, first, strict=True):
        if r is not None and r.status_code == 201:
            final[key] = r
            continue
        resent = pay(key, alex_any)
        assert resent is not None and resent.status_code in (201, 409), resent and resent.text
        final[key] = resent
    # What the kill left in flight is reconciled by the runners (enqueued as the stale sweep would)
    _reconcile_in_flight(d)
    # And the journey goes on on instance 2: the claim, the photo and the first payment are all there
    assert alex_any.get(f"/claims/{claim}").status_code == 200
    assert alex_any.get(content).status_code == 200
    paid = alex_any.get(f"/accounts/{account}/payments").json()
    assert paid  # the payments page still answers
    last = alex_any.post(
        f"/policies/{home['policy_id']}/payments",
        json={"payment_method_id": card, "amount_minor": 300, "request_key": uuid.uuid4().hex},
    )
    assert last.status_code == 201 and last.json()["status"] == "succeeded", last.text
    feed.wait_for("payment.succeeded", last.json()["id"])

    # Nothing charged twice: one payment per request key, none in flight, and Stripe took money
    # at most once per payment and only for those we call succeeded
    rows = d.sql("SELECT id, source_id, status, kind FROM payments WHERE kind = 'pay_now'")
    per_key = Counter(r.source_id for r in rows if r.source_id in keys)
    assert per_key == Counter(dict.fromkeys(keys, 1)), per_key
    assert not [r for r in rows if r.status not in ("succeeded", "failed")]
    ours = {r.id: r for r in rows}
    intents = httpx.get(
        d.state["stripe"]["api_base"] + "/v1/payment_intents",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {LOCAL_SECRET_KEY}"},
    ).json()["data"]
    taken = Counter(
        i["metadata"].get("portal_payment_id")
        for i in intents
        if i["status"] == "succeeded" and i["metadata"].get("portal_payment_id") in ours
    )
    assert set(taken.values()) == {1}
    assert set(taken) == {r.id for r in rows if r.status == "succeeded"}
    # Nothing lost: the claim and its photo rows, and every succeeded payment, are in the database
    assert d.sql("SELECT count(*) FROM claim_photos WHERE claim_id = :c", c=claim)[0][0] == 1
    assert first_payment in taken
    print(
        f"\nafter SIGKILL: first answers {[r.status_code if r else None for r in first]}, "
        f"final {[final[k].json().get('status') for k in keys]}"
    )
    feed._stack.close()
    for client in (alex, alex_on_2, alex_any):
        client.close()


def _reconcile_in_flight(d: Deployment, timeout: float = 30) -> None:
    """Queue reconciliation for charges the kill left in flight (the runners' stale sweep does the
    same after two minutes) and wait until the runners have settled them."""
    from services.clock import SystemClock
    from services.db.database import Database, make_engine
    from services.jobs.queue import enqueue
    from services.payments.charging import RECONCILE_JOB
    from services.payments.models import IN_FLIGHT

    in_flight = [r.id for r in d.sql("SELECT id, status FROM payments") if r.status in IN_FLIGHT]
    if not in_flight:
        return
    db = Database(make_engine(d.database_url))
    try:
        with db.write() as session:
            for pid in in_flight:
                enqueue(
                    session, SystemClock(), RECONCILE_JOB, {"payment_id": pid}, dedupe_key=f"reconcile:{pid}"
                )
    finally:
        db.dispose()
    _wait_for(
        lambda: not [r for r in d.sql("SELECT status FROM payments") if r.status in IN_FLIGHT],
        "reconciliation of the charges left in flight",
        timeout,
    )

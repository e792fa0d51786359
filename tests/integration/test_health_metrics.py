"""Liveness and readiness, Prometheus metrics and the JSON log format, on a real service."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from services.jobs.queue import enqueue
from services.payments.localstripe import LocalStripe
from tests.notifications_support import move_to_local
from tests.payments_support import ALEX, account_id, pay, payments_service, policy, run_jobs, view
from tests.support import Service, running_service, shared_secrets


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus exposition text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted(p for p in (m.group(2) or "").split(",") if p))
            if got == want:
                return float(m.group(3))
    return 0.0


def scrape(svc: Service) -> str:
    r = httpx.get(svc.url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_liveness_readiness_and_the_old_health(tmp_path: Path, localstripe: LocalStripe) -> None:
    with payments_service(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path, localstripe) as svc:
        api = svc.http()
        assert api.get("/health").json()["status"] == "ok"
        assert api.get("/health/live").json()["status"] == "ok"
        ready = api.get("/health/ready")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert {name: c["ok"] for name, c in checks.items()} == {
            "database": True,
            "blob_store": True,
            "stripe": True,
        }
        # When Stripe stops answering, readiness says so (and liveness does not care)
        localstripe.stop()
        try:
            down = api.get("/health/ready")
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            body = down.json()
            assert body["code"] == "health.not_ready" and body["down"] == ["stripe"]
            assert "stripe" in body["detail"] and body["checks"]["database"]["ok"] is True
            assert api.get("/health/live").status_code == 200
        finally:
            localstripe.start()


def test_readiness_names_a_broken_blob_store(tmp_path: Path, localstripe: LocalStripe) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    with payments_service(url, tmp_path, localstripe, blob_url=f"file://{blobs}") as svc:
        assert svc.http().get("/health/ready").status_code == 200
        # Given the blob folder gone (a lost mount, say)
        shutil.rmtree(blobs)
        body = svc.http().get("/health/ready").json()
        assert body["status"] == 503 and body["down"] == ["blob_store"]
        assert str(blobs) in body["checks"]["blob_store"]["error"]


def test_metrics_count_routes_by_template_live_feeds_queue_and_outcomes(
    tmp_path: Path, localstripe: LocalStripe
) -> None:
    with payments_service(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path, localstripe) as svc:
        run_jobs(svc)  # the demo seed's job: the Morgans' Visa on Stripe
        client = svc.authed(ALEX)
        acc = account_id(client)
        # Two different accounts' ids hit one route template, and a scanner's path is one label
        client.get(f"/accounts/{acc}")
        client.get("/accounts/acc_doesnotexist")
        svc.http().get("/no/such/path/" + uuid.uuid4().hex)
        text = scrape(svc)
        route = "/api/v1/accounts/{account_id}"
        assert metric(text, "portal_http_requests_total", method="GET", route=route, status="200") == 1
        assert metric(text, "portal_http_requests_total", method="GET", route=route, status="404") == 1
        assert metric(text, "portal_http_requests_total", method="GET", route="unmatched", status="404") == 1
        assert acc not in text
        assert metric(text, "portal_http_request_duration_seconds_count", method="GET", route=route) == 2

        # A live feed open counts as one subscriber until it closes
        token = client.headers["Authorization"].split()[1]
        with connect(
            svc.ws_url(f"/accounts/{acc}/events/live"),
            additional_headers={"Authorization": f"Bearer {token}"},
        ) as ws:
            json.loads(ws.recv(timeout=10))
            assert metric(scrape(svc), "portal_live_subscribers") == 1
        deadline = time.monotonic() + 10
        while metric(scrape(svc), "portal_live_subscribers") != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(scrape(svc), "portal_live_subscribers") == 0

        # The queue: a job due ten minutes ago is counted with its age
        with svc.container.db.write() as session:
            enqueue(session, svc.clock, "metrics.test", run_at=svc.clock.now() - _minutes(10))
        text = scrape(svc)
        assert metric(text, "portal_job_queue_depth", kind="metrics.test") == 1
        assert metric(text, "portal_job_queue_oldest_age_seconds") >= 600

        # Charge outcomes: one pay-now that succeeds
        v = view(client, acc)
        home = policy(v, "HOM")
        r = pay(client, home["policy_id"], v["methods"][0]["id"], 1000)
        assert r.status_code in (200, 201), r.text
        assert metric(scrape(svc), "portal_charges_total", kind="pay_now", outcome="succeeded") == 1

        # Notification deliveries: the demo's welcome notices leave through the local outbox
        move_to_local(svc.clock, "America/Chicago", 12)
        stats = svc.container.extras["notifications"].sender().run_once()  # type: ignore[attr-defined]
        sent = svc.sql("SELECT count(*) FROM audit_events WHERE action = 'notification.sent'")[0][0]
        assert sent > 0, stats
        text = scrape(svc)
        counted = sum(
            metric(text, "portal_notification_deliveries_total", channel=ch, outcome="sent")
            for ch in ("email", "sms", "in_app")
        )
        assert counted == sent


def _minutes(n: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(minutes=n)


def test_rolled_back_outcomes_are_not_counted(tmp_path: Path) -> None:
    with running_service(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path) as svc:
        from services.actor import Actor
        from services.audit.service import record

        class Boom(Exception):
            pass

        with pytest.raises(Boom), svc.container.db.write() as session:
            record(
                session,
                Actor.system("test"),
                svc.clock,
                action="payment.succeeded",
                account_id=None,
                entity_type="payment",
                entity_id="pay_x",
                after={"kind": "pay_now"},
            )
            raise Boom
        assert metric(scrape(svc), "portal_charges_total", kind="pay_now", outcome="succeeded") == 0


# --- the JSON log format and the fail-fast start, on the real `portal` command ------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _portal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal_app.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.postgres
def test_postgres_refuses_to_start_without_the_shared_secrets(pg_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=pg_url, PORTAL_DATA_DIR=str(tmp_path))
    for command in (["serve", "--port", str(_free_port())], ["jobs", "--once"]):
        done = _portal(*command, env=env)
        assert done.returncode == 2, done.stderr
        for name in ("PORTAL_JWT_SECRET", "PORTAL_IDCARD_SIGNING_KEY", "PORTAL_AUDIT_SIGNING_KEY"):
            assert name in done.stderr
        assert "--single-instance" in done.stderr
    # One missing key is named alone; a malformed key is called unusable
    partial = {**env, **shared_secrets(), "PORTAL_AUDIT_SIGNING_KEY": "bm90IGEga2V5"}
    del partial["PORTAL_IDCARD_SIGNING_KEY"]
    done = _portal("jobs", "--once", env=partial)
    assert done.returncode == 2
    assert "missing: PORTAL_IDCARD_SIGNING_KEY" in done.stderr
    assert "PORTAL_AUDIT_SIGNING_KEY is not usable" in done.stderr and "PORTAL_JWT_SECRET" not in done.stderr
    # With every secret (or --single-instance) it starts
    assert _portal("jobs", "--once", env={**env, **shared_secrets()}).returncode == 0
    assert _portal("jobs", "--once", "--single-instance", env=env).returncode == 0


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path)}
    env.pop("PORTAL_DATABASE_URL", None)
    done = _portal("serve", "--workers", "2", "--port", str(_free_port()), env=env)
    assert done.returncode == 2
    assert "--workers > 1 needs PostgreSQL" in done.stderr


def test_json_logs_are_one_object_per_line_and_never_carry_a_secret(tmp_path: Path) -> None:
    secrets_ = shared_secrets()
    env = {**os.environ, **secrets_, "PORTAL_DATA_DIR": str(tmp_path), "PORTAL_LOG_FORMAT": "json"}
    env.pop("PORTAL_DATABASE_URL", None)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal_app.cli", "serve", "--port", str(port), "--seed-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.post(base + "/auth/sign-in", json={"email": ALEX, "password": "portal-demo-2026"})
        token = r.json()["access_token"]
        httpx.get(base + "/me", headers={"Authorization": f"Bearer {token}"})
        httpx.post(base + "/auth/sign-in", json={"email": ALEX, "password": "wrong-password-123"})
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r.get("path") == "/api/v1/me" and r.get("status") == 200 for r in records), lines[-5:]
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    for secret in (*secrets_.values(), token, "portal-demo-2026", "wrong-password-123"):
        assert secret not in out

"""`portal serve --workers N` on PostgreSQL: N processes on one port, the live feed and presence
correct whichever worker took a request, and /metrics summing every worker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from services.bootstrap import build
from services.clock import SystemClock
from services.config import ServiceSettings
from services.runtime import prepare
from tests.integration.test_health_metrics import metric
from tests.support import shared_secrets

pytestmark = pytest.mark.postgres
ALEX, AGENT, PASSWORD = "alex.morgan@example.com", "agent@portal.example", "portal-demo-2026"


def children_of(pid: int) -> list[str]:
    """Pids whose parent is `pid` (read from /proc: no procps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found.append(stat.parent.name)
    return found


def test_two_workers_share_the_feed_presence_and_metrics(pg_url: str, tmp_path: Path) -> None:
    container = build(ServiceSettings(database_url=pg_url, data_dir=tmp_path), clock=SystemClock())
    prepare(container, seed=True)
    container.db.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **shared_secrets(), "PORTAL_DATABASE_URL": pg_url, "PORTAL_DATA_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal_app.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/api/v1/health/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # Two worker processes answer on the one port (each access log line names its pid)
        api = httpx.Client(base_url=base + "/api/v1", timeout=30)
        alex = api.post("/auth/sign-in", json={"email": ALEX, "password": PASSWORD}).json()["access_token"]
        agent = api.post("/auth/sign-in", json={"email": AGENT, "password": PASSWORD}).json()["access_token"]
        account = api.get("/me", headers={"Authorization": f"Bearer {alex}"}).json()["accounts"][0]["id"]

        # An agent's feed with presence, on whichever worker took it
        seen: list[dict[str, object]] = []
        ready = threading.Event()
        url = base.replace("http", "ws") + f"/api/v1/accounts/{account}/events/live?presence=true"
        with connect(url, additional_headers={"Authorization": f"Bearer {agent}"}) as ws:

            def read() -> None:
                try:
                    for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "ready":
                            ready.set()
                        seen.append(message)
                except Exception:
                    pass

            threading.Thread(target=read, daemon=True).start()
            assert ready.wait(30)
            # When the customer changes something ten times, each request on a fresh connection
            # (so the kernel spreads them over both workers), the agent sees every one
            changed = []
            for day in range(1, 11):
                with httpx.Client(base_url=base + "/api/v1", timeout=30) as fresh:
                    r = fresh.put(
                        "/notifications/preferences",
                        headers={"Authorization": f"Bearer {alex}"},
                        json={
                            "changes": [{"type": "payment_due", "channel": "sms", "enabled": day % 2 == 0}]
                        },
                    )
                    changed.append(r.status_code)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                got = [
                    m
                    for m in seen
                    if m.get("type") == "event" and m["event"]["action"] == "notification.preferences_changed"
                ]  # type: ignore[index]
                if len(got) >= changed.count(200):
                    break
                time.sleep(0.05)
            assert changed.count(200) == 10, changed
            assert len(got) == 10
            # Presence: a second viewer (the customer) joining shows up on the agent's feed
            with connect(
                base.replace("http", "ws") + f"/api/v1/accounts/{account}/events/live",
                additional_headers={"Authorization": f"Bearer {alex}"},
            ):
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if any(m.get("type") == "presence" and len(m.get("viewers", [])) >= 2 for m in seen):  # type: ignore[arg-type]
                        break
                    time.sleep(0.05)
            assert any(m.get("type") == "presence" for m in seen)
        # /metrics sums the workers: every one of the ten changes is counted, whichever answered
        text = httpx.get(base + "/metrics", timeout=10).text
        route = "/api/v1/notifications/preferences"
        assert metric(text, "portal_http_requests_total", method="PUT", route=route, status="200") == 10

        # When the supervisor itself is SIGKILLed, its workers do not serve on unsupervised
        children = children_of(proc.pid)
        assert len(children) >= 2
        proc.kill()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
            time.sleep(0.2)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "orphaned workers kept running"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    pids = {line.split("[")[1].split("]")[0] for line in out.splitlines() if "Started server process" in line}
    assert len(pids) == 2, out[-2000:]

"""PostgreSQL restarted under load, on a private throwaway cluster (never the shared server).

While agents keep opening an account (each open is an audited write that goes out on the live
feed) and a customer's PortalClient follows the feed, the cluster is restarted. The service is not
touched. Afterwards: it answers again by itself, nothing answered with success was lost, nothing
was written twice, the hash chains verify, the failures in between were 503 problem JSON with a
Retry-After (not bare 500s), and the customer's feed, whose own connection to the service stays up
while the service's listener reconnects to the database, shows every committed event exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from portal_app.client import PortalClient
from portal_app.client.client import LiveState
from services.audit.service import verify_chains
from services.demo import DEMO_PASSWORD
from tests.support import Service, running_service

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ALEX = "alex.morgan@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> None:
    # No pipes: a (re)started postmaster would hold them open and the call would never return.
    subprocess.run(
        ["su", "postgres", "-c", " ".join(cmd)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture
def private_cluster() -> Iterator[tuple[str, str]]:
    """initdb into a temp folder, start on an ephemeral port; yields (url, data dir); removed after."""
    if not (PG_BIN / "initdb").exists() or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL 15 binaries and root (to run them as the postgres user)")
    root = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    data = root / "data"
    shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    opts = f"'-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off'"
    _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(root / "log"), "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", str(data)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_postgres_restarted_under_load(private_cluster: tuple[str, str], tmp_path: Path) -> None:
    url, data = private_cluster
    with running_service(url, tmp_path) as svc:
        await _scenario(svc, data)


async def _scenario(svc: Service, data: str) -> None:
    account = svc.sql("SELECT id FROM accounts WHERE name = 'Morgan household'")[0][0]
    start_seq = int(svc.sql("SELECT max(seq) FROM audit_events WHERE account_id = :a", a=account)[0][0])
    outcomes: Counter[str] = Counter()
    not_problem: list[str] = []
    stop = threading.Event()

    token = svc.sign_in("agent@portal.example")["access_token"]

    def load() -> None:
        # Given agents opening the account again and again (each open: one audited write)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=svc.url + "/api/v1", timeout=30, headers=headers) as agent:
            while not stop.is_set():
                try:
                    r = agent.get(f"/accounts/{account}")
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
                    continue
                outcomes[str(r.status_code)] += 1
                if r.status_code != 200 and (
                    r.status_code != 503
                    or r.json().get("code") != "server.database_unavailable"
                    or not r.headers.get("retry-after")
                ):
                    not_problem.append(f"{r.status_code} {r.text[:200]}")

    client = PortalClient(svc.url)
    states: list[LiveState] = []
    got: list[int] = []
    await client.sign_in(ALEX, DEMO_PASSWORD)

    async def follow() -> None:
        async for event in client.live_events(account, start_seq, on_state=states.append, max_backoff=1.0):
            got.append(event.seq)

    follower = asyncio.create_task(follow())
    workers = [threading.Thread(target=load) for _ in range(3)]
    try:
        while LiveState.LIVE not in states:
            await asyncio.sleep(0.05)
        for t in workers:
            t.start()
        await asyncio.sleep(2.0)
        # When PostgreSQL restarts underneath (fast shutdown: every connection is dropped)
        ok_before = outcomes["200"]
        await asyncio.to_thread(
            _as_postgres, str(PG_BIN / "pg_ctl"), "-D", data, "-m", "fast", "-w", "restart"
        )
        restarted_at = time.monotonic()
        # Then the service answers again by itself
        while outcomes["200"] < ok_before + 20 and time.monotonic() - restarted_at < 60:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        for t in workers:
            await asyncio.to_thread(t.join, 60)
    recovered_in = time.monotonic() - restarted_at
    committed = [
        int(r[0])
        for r in svc.sql(
            "SELECT seq FROM audit_events WHERE account_id = :a AND seq > :s ORDER BY seq",
            a=account,
            s=start_seq,
        )
    ]
    for _ in range(200):
        if len(got) >= len(committed):
            break
        await asyncio.sleep(0.1)
    follower.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await follower
    await client.aclose()
    viewed = svc.sql(
        "SELECT count(*) FROM audit_events WHERE account_id = :a AND seq > :s AND action = 'account.viewed'",
        a=account,
        s=start_seq,
    )[0][0]
    with svc.container.db.read() as session:
        report = verify_chains(session)

    print(
        f"\nPostgreSQL restart under load: outcomes {dict(outcomes)}, {viewed} opens audited, "
        f"back in {recovered_in:.1f} s; feed {len(got)}/{len(committed)} events, "
        f"states {[s.value for s in states]}; chains {report.chains}, events {report.events}, ok={report.ok}"
    )
    assert outcomes["200"] > ok_before + 20, "the service came back without a restart of its own"
    # Every open answered 200 was committed once; failed ones left nothing (no 2xx other than 200)
    assert viewed == outcomes["200"]
    assert not not_problem, not_problem[:3]
    assert report.ok, [p.describe() for p in report.problems]
    # The customer's feed: every committed event, once, in order, after a visible interruption
    assert got == committed
    assert states[-1] is LiveState.LIVE

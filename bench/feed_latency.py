"""Commit-to-subscriber latency of the live change feed, next to a bare-WebSocket baseline.

Scenarios (same process, same clock, loopback only; bounded: it stops by itself):
  baseline     bare Starlette WebSocket broadcast (no database), 1 and 200 subscribers
  sqlite       one Portal instance on SQLite, 1 and 200 subscribers
  postgresql   two Portal instances sharing PostgreSQL: writes on B, subscribers on A

Latency is measured from the moment the writer's transaction has committed (or, for the
baseline, the moment the broadcast is requested) to the moment each subscriber has decoded
the message. Prints p50 / p99 / max in milliseconds and the ratio to the baseline.

"agent UI model" rows (issue 7) measure commit -> the staff window's change-log model holding
the event (rowsInserted), with 1 and 200 agent account views open at once (see agent_ui_process).

Usage: python bench/feed_latency.py [--events 100] [--subscribers 1,200] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from portal_app.embedded import EmbeddedService
from services.accounts.models import AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.config import ServiceSettings
from services.db.database import Database

SPACING_S = 0.05  # events are written one at a time, 50 ms apart: latency, not a throughput burst


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the baseline: a bare WebSocket broadcast ---------------------------------------------


class BareBroadcast:
    """A minimal Starlette WebSocket server; `send(i)` broadcasts from any thread."""

    def __init__(self) -> None:
        self.clients: set[WebSocket] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        app = Starlette(routes=[WebSocketRoute("/ws", self.endpoint)])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    async def endpoint(self, ws: WebSocket) -> None:
        self.loop = asyncio.get_running_loop()
        await ws.accept()
        self.clients.add(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            self.clients.discard(ws)

    def send(self, i: int) -> None:
        assert self.loop is not None
        message = json.dumps({"type": "event", "event": {"entity_id": str(i)}})

        async def broadcast() -> None:
            for ws in list(self.clients):
                await ws.send_text(message)

        asyncio.run_coroutine_threadsafe(broadcast(), self.loop)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


# --- measuring -----------------------------------------------------------------------------
# Subscribers run in a child process so that decoding 200 streams does not share the GIL with
# the server being measured. Both processes read CLOCK_MONOTONIC (time.monotonic), which is
# system-wide on Linux, so receive and commit times compare directly.


def subscriber_process(
    url: str, headers: dict[str, str], subscribers: int, expected: int, ready: bool, conn: Any
) -> None:
    async def run() -> list[tuple[int, float]]:
        received: list[tuple[int, float]] = []
        done = asyncio.Event()
        opened = 0

        async def one() -> None:
            nonlocal opened
            async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
                if ready:
                    while json.loads(await ws.recv())["type"] != "ready":
                        pass
                opened += 1
                if opened == subscribers:
                    conn.send("ready")
                async for raw in ws:
                    at = time.monotonic()
                    message = json.loads(raw)
                    key = message.get("event", {}).get("entity_id") or ""
                    if message.get("type") == "event" and key.isdigit():
                        received.append((int(key), at))
                        if len(received) >= expected:
                            done.set()

        tasks = [asyncio.create_task(one()) for _ in range(subscribers)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=120)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return received

    conn.send(asyncio.run(run()))


async def measure(
    url: str,
    headers: dict[str, str],
    subscribers: int,
    events: int,
    write: Callable[[int], None],
    *,
    ready: bool,
) -> list[float]:
    """Open the subscribers, write `events` one by one, return every delivery latency (ms)."""
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=subscriber_process,
        args=(url, headers, subscribers, subscribers * events, ready, child),
        daemon=True,
    )
    proc.start()
    if not await asyncio.to_thread(parent.poll, 120):
        raise RuntimeError("subscribers did not connect")
    assert parent.recv() == "ready"
    await asyncio.sleep(0.3)
    committed: dict[int, float] = {}

    def writer() -> None:
        for i in range(events):
            write(i)
            committed[i] = time.monotonic()
            time.sleep(SPACING_S)

    await asyncio.to_thread(writer)
    received = await asyncio.to_thread(parent.recv)
    proc.join(10)
    missing = subscribers * events - len(received)
    if missing:
        print(f"  warning: {missing} deliveries missing", file=sys.stderr)
    return [(at - committed[i]) * 1000 for i, at in received]


# --- commit to the agent's UI model ------------------------------------------------------
# The staff window feeds each open account's change-log model (ui.staff.changelog) from the
# client's live feed. Here `views` such panels (one WebSocket each, one signed-in agent, as in
# a staff window with that many account tabs) run in a child process on a qasync loop with an
# offscreen QApplication; the time taken is when the model's rowsInserted fires for the event.


def agent_ui_process(url: str, account: str, since: int, views: int, expected: int, conn: Any) -> None:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from portal_app.client import LiveState, PortalClient
    from ui.qt_compat import guard_singleton_refcounts
    from ui.staff.changelog import ChangeLogPanel

    guard_singleton_refcounts()  # PySide6 6.12 on 3.11: see ui/qt_compat.py
    QApplication([])

    async def run() -> list[tuple[int, float]]:
        client = PortalClient(url)
        await client.sign_in("agent@portal.example", "portal-demo-2026")
        received: list[tuple[int, float]] = []
        done = asyncio.Event()
        live = 0
        panels: list[Any] = []
        tasks: list[asyncio.Task[None]] = []

        def view(panel: Any) -> Any:
            model = panel.model
            pending: list[Any] = []
            # Like AccountView: events of one loop turn are flushed into the model together.
            flush = QTimer()
            flush.setSingleShot(True)
            flush.setInterval(0)

            def on_flush() -> None:
                events, pending[:] = list(pending), []
                panel.add_events(events, highlight=True)

            def on_rows(_parent: Any, first: int, last: int) -> None:
                at = time.monotonic()
                for row in range(first, last + 1):
                    event = model.event_at(row)
                    if event.action == "bench.write" and (event.entity_id or "").isdigit():
                        received.append((int(event.entity_id or 0), at))
                if len(received) >= expected:
                    done.set()

            flush.timeout.connect(on_flush)
            model.rowsInserted.connect(on_rows)

            def on_state(state: Any) -> None:
                nonlocal live
                if state is LiveState.LIVE:
                    live += 1
                    if live == views:
                        conn.send("ready")

            async def feed() -> None:
                async for event in client.live_events(account, since, on_state=on_state):
                    pending.append(event)
                    if not flush.isActive():
                        flush.start()

            panels.append((panel, flush))
            return feed()

        for _ in range(views):
            tasks.append(asyncio.ensure_future(view(ChangeLogPanel())))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=180)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
        return received

    conn.send(qasync.run(run()))


async def measure_agent_ui(
    url: str, db: Database, account: str, views: int, events: int, write: Callable[[int], None]
) -> list[float]:
    """Open `views` agent change-log panels, write `events` one by one, return latencies (ms)."""
    with db.read() as s:
        since = audit.max_seq(s)
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=agent_ui_process, args=(url, account, since, views, views * events, child), daemon=True
    )
    proc.start()
    if not await asyncio.to_thread(parent.poll, 180):
        raise RuntimeError("agent views did not open")
    assert parent.recv() == "ready"
    await asyncio.sleep(1.0)  # let every view settle (presence notices) before measuring
    committed: dict[int, float] = {}

    def writer() -> None:
        for i in range(events):
            write(i)
            committed[i] = time.monotonic()
            time.sleep(SPACING_S)

    await asyncio.to_thread(writer)
    received = await asyncio.to_thread(parent.recv)
    proc.join(10)
    missing = views * events - len(received)
    if missing:
        print(f"  warning: {missing} model updates missing", file=sys.stderr)
    return [(at - committed[i]) * 1000 for i, at in received]


def portal_writer(db: Database, account_id: str) -> Callable[[int], None]:
    """A real audited change: the same call path a service function uses."""
    holder_id = None
    with db.read() as s:
        holder_id = s.query(AccountHolder.id).filter(AccountHolder.account_id == account_id).first()[0]
    actor = Actor(user_id=None, role="system", name="bench", channel="system")

    def write(i: int) -> None:
        with db.write() as s:
            holder = s.get(AccountHolder, holder_id)
            holder.phone = f"+1 555 {i:07d}"
            audit.record(
                s,
                actor,
                _clock,
                action="bench.write",
                account_id=account_id,
                entity_type="bench",
                entity_id=str(i),
                after={"i": i},
            )

    return write


class _UTC:
    def now(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime.now(UTC)


_clock = _UTC()


def sign_in_headers(url: str) -> dict[str, str]:
    import httpx

    r = httpx.post(
        f"{url}/api/v1/auth/sign-in",
        json={"email": "alex.morgan@example.com", "password": "portal-demo-2026"},
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def live_url(base_url: str, db: Database, account: str) -> str:
    """Subscribe from the newest event on: the bench measures live delivery, not the backlog."""
    with db.read() as s:
        last = audit.max_seq(s)
    return base_url.replace("http", "ws") + f"/api/v1/accounts/{account}/events/live?since={last}"


def account_of(db: Database) -> str:
    with db.read() as s:
        return (
            s.query(AccountHolder.account_id)
            .filter(AccountHolder.email == "alex.morgan@example.com")
            .first()[0]
        )


def report(name: str, subs: int, lat: list[float], base: dict[int, float]) -> None:
    p50, p99 = statistics.median(lat), pct(lat, 99)
    ratio = f"{p99 / base[subs]:5.1f}x" if subs in base and base[subs] > 0 else "   --"
    print(f"{name:<28} {subs:>4} {len(lat):>8} {p50:>9.2f} {p99:>9.2f} {max(lat):>9.2f}   {ratio}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--subscribers", default="1,200")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    counts = [int(x) for x in args.subscribers.split(",")]
    print(
        f"feed latency: {args.events} events, {SPACING_S * 1000:.0f} ms apart, commit -> subscriber decoded; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'scenario':<28} {'subs':>4} {'samples':>8} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
        "   p99 vs baseline"
    )

    baseline_p99: dict[int, float] = {}
    bare = BareBroadcast()
    for subs in counts:
        lat = await measure(f"ws://127.0.0.1:{bare.port}/ws", {}, subs, args.events, bare.send, ready=False)
        baseline_p99[subs] = pct(lat, 99)
        report("baseline bare WebSocket", subs, lat, {})
    bare.stop()

    with tempfile.TemporaryDirectory() as tmp:
        svc = EmbeddedService(ServiceSettings(data_dir=Path(tmp), jwt_secret="b" * 48))
        url = svc.start()
        assert svc.container is not None
        db = svc.container.db
        account = account_of(db)
        headers = sign_in_headers(url)
        for subs in counts:
            lat = await measure(
                live_url(url, db, account), headers, subs, args.events, portal_writer(db, account), ready=True
            )
            report("portal sqlite, 1 instance", subs, lat, baseline_p99)
        for views in counts:
            lat = await measure_agent_ui(url, db, account, views, args.events, portal_writer(db, account))
            report("agent UI model, sqlite", views, lat, baseline_p99)
        svc.stop()

    if not args.skip_postgres:
        await postgres_two_instances(args, counts, baseline_p99)


async def postgres_two_instances(args: argparse.Namespace, counts: list[int], base: dict[int, float]) -> None:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"bench_{int(time.time())}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        print(f"portal postgresql: skipped ({exc})")
        return
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            common = {"database_url": url, "jwt_secret": "c" * 48}
            a = EmbeddedService(ServiceSettings(data_dir=Path(tmp) / "a", **common))
            b = EmbeddedService(ServiceSettings(data_dir=Path(tmp) / "b", **common), seed_demo=False)
            url_a = a.start()
            b.start()
            assert b.container is not None
            account = account_of(b.container.db)
            headers = sign_in_headers(url_a)
            for subs in counts:
                # Written through instance B's database connection; subscribers sit on instance A.
                lat = await measure(
                    live_url(url_a, b.container.db, account),
                    headers,
                    subs,
                    args.events,
                    portal_writer(b.container.db, account),
                    ready=True,
                )
                report("portal postgresql, 2 inst.", subs, lat, base)
            for views in counts:
                # The customer's change lands on instance B; the agent's views read instance A.
                lat = await measure_agent_ui(
                    url_a, b.container.db, account, views, args.events, portal_writer(b.container.db, account)
                )
                report("agent UI model, pg 2 inst.", views, lat, base)
            a.stop()
            b.stop()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    asyncio.run(main())

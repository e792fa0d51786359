"""Load on loopback: N simulated customers and agents against one and two service instances on
PostgreSQL, next to a bare Starlette JSON endpoint driven the same way (prints; never asserts).

    .venv/bin/python bench/load.py [--customers 20] [--agents 4] [--seconds 15]

Each phase is bounded (`--seconds`) and stops by itself. Customers loop over what the desktop app
does after sign-in (me, overview, payments, documents, change log); agents open customer accounts
(each open is an audited write that goes out on the live feed). One WebSocket subscriber per
instance measures feed latency: event committed (occurred_at) -> received by the subscriber.
With two instances the clients alternate between them and share one database and JWT secret.
Figures: requests/s, p50/p99 per endpoint, feed latency p50/p99, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal_app.serving import new_secrets  # noqa: E402
from services.bootstrap import build  # noqa: E402
from services.clock import SystemClock  # noqa: E402
from services.config import ServiceSettings  # noqa: E402
from services.demo import DEMO_PASSWORD  # noqa: E402
from services.runtime import prepare  # noqa: E402
from tests.support import postgres_schema  # noqa: E402

CUSTOMERS = ["alex.morgan@example.com", "jamie.morgan@example.com", "priya.shah@example.com"]
AGENTS = ["agent@portal.example", "supervisor@portal.example", "admin@portal.example"]
JWT_SECRET = "bench-load-" + "s" * 40
SHARED_SECRETS = new_secrets()
BASELINE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def hello(request):
    return JSONResponse({"status": "ok", "version": "0.1.0"})
app = Starlette(routes=[Route("/api/v1/health", hello)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def serve(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, PORTAL_DATA_DIR=str(data_dir))
    env.update(SHARED_SECRETS)  # `portal serve` refuses PostgreSQL without the shared keys
    env["PORTAL_JWT_SECRET"] = JWT_SECRET
    cmd = [sys.executable, "-m", "portal_app.cli", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_up(url)
    return proc, url


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.feed: list[float] = []

    def total(self) -> int:
        return sum(len(v) for v in self.latency.values())


async def timed(stats: Stats, name: str, call: object) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        r = await call  # type: ignore[misc]
    except httpx.HTTPError:
        stats.errors[name] += 1
        return None
    stats.latency[name].append((time.perf_counter() - t0) * 1000)
    if r.status_code >= 400:
        stats.errors[name] += 1
    return r


def sign_in_all(url: str, accounts: list[str]) -> dict[str, dict]:
    """Tokens for every simulated user, taken before the clock starts (argon2 is slow on purpose),
    and each account's documents generated once (they are made lazily on the first list)."""
    tokens = {}
    with httpx.Client(base_url=url + "/api/v1", timeout=60) as c:
        for email in CUSTOMERS + AGENTS:
            tokens[email] = c.post("/auth/sign-in", json={"email": email, "password": DEMO_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tokens[AGENTS[0]]['access_token']}"}
        for account in accounts:
            c.get(f"/accounts/{account}/documents", headers=headers)
    return tokens


async def customer(url: str, tok: dict, stop: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=30) as c:
        c.headers["Authorization"] = f"Bearer {tok['access_token']}"
        account = tok["user"]["accounts"][0]["id"]
        since = 0
        while time.monotonic() < stop:
            await timed(stats, "GET /me", c.get("/me"))
            await timed(stats, "GET /accounts/{id}", c.get(f"/accounts/{account}"))
            await timed(stats, "GET /accounts/{id}/payments", c.get(f"/accounts/{account}/payments"))
            await timed(stats, "GET /accounts/{id}/documents", c.get(f"/accounts/{account}/documents"))
            r = await timed(
                stats,
                "GET /accounts/{id}/events",
                c.get(f"/accounts/{account}/events", params={"since": since}),
            )
            if r is not None and r.status_code == 200:
                since = r.json()["next_since"]


async def agent(url: str, tok: dict, accounts: list[str], stop: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=30) as c:
        c.headers["Authorization"] = f"Bearer {tok['access_token']}"
        n = 0
        while time.monotonic() < stop:
            # Opening an account is an audited write: it reaches every feed subscriber of it.
            opened = c.get(f"/accounts/{accounts[n % len(accounts)]}")
            await timed(stats, "GET /accounts/{id} (agent)", opened)
            n += 1


async def feed(url: str, tok: dict, account: str, stop: float, stats: Stats) -> None:
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + f"/api/v1/accounts/{account}/events/live?since=0"
    ready = False
    async with connect(ws_url, additional_headers={"Authorization": f"Bearer {tok['access_token']}"}) as ws:
        while time.monotonic() < stop:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, stop - time.monotonic()))
            except TimeoutError:
                break
            message = json.loads(raw)
            if message["type"] == "ready":
                ready = True
            elif message["type"] == "event" and ready:
                at = datetime.fromisoformat(message["event"]["occurred_at"].replace("Z", "+00:00"))
                stats.feed.append((datetime.now(UTC) - at).total_seconds() * 1000)


async def phase(
    urls: list[str], tokens: dict[str, dict], customers: int, agents: int, seconds: float, accounts: list[str]
) -> Stats:
    stats = Stats()
    stop = time.monotonic() + seconds
    # The feed subscribers watch the Morgans' account, which the agents keep opening.
    watch = tokens[CUSTOMERS[0]]["user"]["accounts"][0]["id"]
    tasks = [feed(u, tokens[CUSTOMERS[0]], watch, stop, stats) for u in urls]
    for i in range(customers):
        tasks.append(customer(urls[i % len(urls)], tokens[CUSTOMERS[i % len(CUSTOMERS)]], stop, stats))
    for i in range(agents):
        tasks.append(agent(urls[i % len(urls)], tokens[AGENTS[i % len(AGENTS)]], accounts, stop, stats))
    await asyncio.gather(*tasks)
    return stats


async def baseline_phase(url: str, clients: int, seconds: float) -> Stats:
    stats = Stats()
    stop = time.monotonic() + seconds

    async def loop() -> None:
        async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=30) as c:
            while time.monotonic() < stop:
                await timed(stats, "GET /health (bare Starlette)", c.get("/health"))

    await asyncio.gather(*(loop() for _ in range(clients)))
    return stats


def report(title: str, stats: Stats, seconds: float, baseline_rps: float | None) -> float:
    rps = stats.total() / seconds
    print(f"\n== {title}: {stats.total()} requests in {seconds:.0f} s = {rps:.0f} req/s", end="")
    print(f" ({rps / baseline_rps:.2f}x the bare Starlette baseline)" if baseline_rps else "")
    print(f"   {'endpoint':36} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, values in sorted(stats.latency.items()):
        print(
            f"   {name:36} {len(values):7d} {pct(values, 0.5):8.1f} {pct(values, 0.99):8.1f} "
            f"{stats.errors.get(name, 0):7d}"
        )
    if stats.feed:
        print(
            f"   feed latency (commit -> subscriber): {len(stats.feed)} events, "
            f"p50 {pct(stats.feed, 0.5):.1f} ms, p99 {pct(stats.feed, 0.99):.1f} ms"
        )
    return rps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20)
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    clients = args.customers + args.agents
    print(
        f"load: {args.customers} customers + {args.agents} agents, {args.seconds:.0f} s per phase, "
        f"PostgreSQL, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )

    port = free_port()
    base = subprocess.Popen([sys.executable, "-c", BASELINE_APP, str(port)])
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wait_up(f"http://127.0.0.1:{port}")
        bstats = asyncio.run(baseline_phase(f"http://127.0.0.1:{port}", clients, args.seconds))
        baseline_rps = report(f"baseline, {clients} clients", bstats, args.seconds, None)
        base.terminate()

        with postgres_schema() as db_url, __import__("tempfile").TemporaryDirectory() as tmp:
            container = build(ServiceSettings(database_url=db_url, data_dir=Path(tmp)), clock=SystemClock())
            prepare(container, seed=True)
            with container.db.engine.connect() as conn:
                accounts = [r[0] for r in conn.exec_driver_sql("SELECT id FROM accounts ORDER BY name")]
            container.db.dispose()
            urls: list[str] = []
            for instances in (1, 2):
                while len(urls) < instances:
                    proc, url = serve(db_url, Path(tmp))
                    procs.append(proc)
                    urls.append(url)
                tokens = sign_in_all(urls[0], accounts)
                stats = asyncio.run(phase(urls, tokens, args.customers, args.agents, args.seconds, accounts))
                title = f"{instances} instance{'s' if instances > 1 else ''}"
                report(title, stats, args.seconds, baseline_rps)
    finally:
        base.terminate()
        for p in procs:
            p.terminate()
            p.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

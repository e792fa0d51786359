"""Sequential hot reads on one `portal serve` (SQLite by default): GET /health, GET /me and the
account overview, one request at a time, next to a bare Starlette JSON endpoint served the same
way in the same run (prints; never asserts).

    .venv/bin/python bench/hot_path.py [--requests 500] [--database-url URL] [--pid-file PATH]

`--pid-file` writes the service's pid so a profiler (`py-spy record -p PID -f raw`) can attach
while the requests run; `--pause` waits that many seconds before measuring, to let it attach.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import BASELINE_APP, JWT_SECRET, free_port, pct, wait_up  # noqa: E402
from services.demo import DEMO_PASSWORD  # noqa: E402

CUSTOMER = "alex.morgan@example.com"


def timings(client: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:200]}")
    return out


def line(name: str, values: list[float], baseline: float | None) -> None:
    p50 = pct(values, 0.5)
    ratio = f"  ({p50 / baseline:.1f}x the bare Starlette p50)" if baseline else ""
    print(f"   {name:28} p50 {p50:6.2f} ms   p99 {pct(values, 0.99):6.2f} ms{ratio}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--pid-file", default="")
    ap.add_argument("--pause", type=float, default=0.0)
    args = ap.parse_args()
    n = args.requests
    print(
        f"hot path: {n} sequential requests each, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (shared machine: absolute figures are noisy)"
    )

    port = free_port()
    base = subprocess.Popen([sys.executable, "-c", BASELINE_APP, str(port)])
    try:
        wait_up(f"http://127.0.0.1:{port}")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1") as c:
            timings(c, "/health", 50)
            bare = timings(c, "/health", n)
    finally:
        base.terminate()
        base.wait(10)
    bare_p50 = pct(bare, 0.5)
    print("\n== bare Starlette (same run)")
    line("GET /health", bare, None)

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        db_url = args.database_url or f"sqlite:///{tmp}/portal.db"
        env = dict(os.environ, PORTAL_DATABASE_URL=db_url, PORTAL_DATA_DIR=tmp, PORTAL_JWT_SECRET=JWT_SECRET)
        cmd = [sys.executable, "-m", "portal_app.cli", "serve", "--port", str(port), "--seed-demo"]
        cmd += ["--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(url)
            if args.pid_file:
                Path(args.pid_file).write_text(str(proc.pid))
            with httpx.Client(base_url=url + "/api/v1", timeout=30) as c:
                tok = c.post("/auth/sign-in", json={"email": CUSTOMER, "password": DEMO_PASSWORD}).json()
                c.headers["Authorization"] = f"Bearer {tok['access_token']}"
                account = tok["user"]["accounts"][0]["id"]
                for path in ("/health", "/me", f"/accounts/{account}"):
                    timings(c, path, 50)  # warm up connections, caches and the JIT-free paths
                time.sleep(args.pause)
                health = timings(c, "/health", n)
                me = timings(c, "/me", n)
                overview = timings(c, f"/accounts/{account}", n)
        finally:
            proc.terminate()
            proc.wait(10)
    dialect = db_url.split(":", 1)[0].split("+", 1)[0]
    print(f"\n== portal serve ({dialect})")
    line("GET /health", health, bare_p50)
    line("GET /me", me, bare_p50)
    line("GET /accounts/{id} (overview)", overview, bare_p50)
    print(f"   load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Start a Portal deployment on one host: N `portal serve` instances and M `portal jobs` runners on
PostgreSQL and an object store, behind nginx (unprivileged, high port, WebSocket upgrade).

    python deploy/launch.py --run-dir /srv/portal/run --port 8080 --instances 2 --runners 2

Settings come from the environment (deploy/portal.env.example lists them): PORTAL_DATABASE_URL
(PostgreSQL), PORTAL_BLOB_URL (s3://...), the shared secrets, Stripe keys. With `--stripe-sandbox`
(no real Stripe keys: trials and tests) it starts one localstripe that every process shares and
registers its webhook at nginx's address. It migrates once, starts everything, waits until every
instance is ready, writes `<run-dir>/deployment.json` (pids, ports, URLs), prints `READY <url>`,
then watches: it reports a process that died and stops everything on SIGTERM/SIGINT. Each process
logs to `<run-dir>/logs/`. On a real host, run the same commands under systemd instead; this is
also what tests/e2e/test_deployment.py starts.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NGINX_TEMPLATE = HERE / "nginx.conf.template"
REQUIRED = (
    "PORTAL_DATABASE_URL",
    "PORTAL_JWT_SECRET",
    "PORTAL_IDCARD_SIGNING_KEY",
    "PORTAL_AUDIT_SIGNING_KEY",
)
SANDBOX_SECRET_KEY = "sk_test_portal_localstripe"
SANDBOX_PUBLISHABLE_KEY = "pk_test_portal_localstripe"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render_nginx(run_dir: Path, listen: str, upstreams: list[int]) -> Path:
    """nginx.conf for this run dir, its upstream block listing every instance."""
    for sub in ("logs", "tmp"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    # {{name}} placeholders: nginx's own $variables stay as they are.
    text = NGINX_TEMPLATE.read_text()
    pinned = "\n".join(
        f"    upstream portal_{i} {{\n        server 127.0.0.1:{p};\n        keepalive 8;\n    }}"
        for i, p in enumerate(upstreams, 1)
    )
    pin_map = "\n".join(f'        "{i}" portal_{i};' for i in range(1, len(upstreams) + 1))
    values = {
        "run_dir": str(run_dir),
        "listen": listen,
        "upstream_servers": servers,
        "pinned_upstreams": pinned,
        "pin_map": pin_map,
    }
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before it was ready (see its log)")
        try:
            status, body = get(url)
            if status == 200:
                return
            last = body.decode(errors="replace")[:300]
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise SystemExit(f"{what} was not ready within {timeout:.0f} s: {last}")


class Deployment:
    """The processes of one deployment. Driven from the main thread only."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_dir = Path(args.run_dir).resolve()
        self.logs = self.run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.state: dict[str, Any] = {"instances": [], "runners": []}
        self.portal = [sys.executable, "-m", "portal_app.cli"]

    def spawn(self, name: str, cmd: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.procs[name] = proc
        return proc

    def check_settings(self) -> None:
        missing = [n for n in REQUIRED if not self.env.get(n)]
        if missing:
            raise SystemExit("launch: set these first (see deploy/portal.env.example): " + ", ".join(missing))
        if not self.env["PORTAL_DATABASE_URL"].startswith("postgresql"):
            raise SystemExit("launch: PORTAL_DATABASE_URL must be PostgreSQL (postgresql+psycopg://...)")
        if not self.env.get("PORTAL_BLOB_URL"):
            raise SystemExit(
                "launch: set PORTAL_BLOB_URL (s3://bucket?endpoint=...): instances share no disk"
            )
        if not self.args.stripe_sandbox and not self.env.get("PORTAL_STRIPE_SECRET_KEY"):
            raise SystemExit("launch: set PORTAL_STRIPE_SECRET_KEY, or pass --stripe-sandbox for a trial")

    def start_sandbox(self, public_url: str) -> None:
        """One localstripe for the whole deployment, its webhook posted to nginx's address."""
        proc = self.spawn(
            "localstripe",
            [
                sys.executable,
                "-m",
                "services.payments.localstripe_main",
                "--port",
                "0",
                "--state-file",
                str(self.run_dir / "localstripe" / "state.pickle"),
            ],
        )
        (self.run_dir / "localstripe").mkdir(exist_ok=True)
        log = self.logs / "localstripe.log"
        deadline = time.monotonic() + 30
        port = None
        while time.monotonic() < deadline and port is None:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("LISTENING "):
                    port = int(line.split()[1])
            if proc.poll() is not None:
                raise SystemExit("localstripe did not start (see logs/localstripe.log)")
            time.sleep(0.05)
        if port is None:
            raise SystemExit("localstripe did not say where it listens")
        base = f"http://127.0.0.1:{port}"
        webhook_secret = "whsec_" + secrets.token_urlsafe(24)
        self.env.update(
            PORTAL_STRIPE_SECRET_KEY=SANDBOX_SECRET_KEY,
            PORTAL_STRIPE_PUBLISHABLE_KEY=SANDBOX_PUBLISHABLE_KEY,
            PORTAL_STRIPE_API_BASE=base,
            PORTAL_STRIPE_WEBHOOK_SECRET=webhook_secret,
        )
        while time.monotonic() < deadline:
            try:
                data = f"url={public_url}/api/v1/stripe/webhook&secret={webhook_secret}".encode()
                urllib.request.urlopen(
                    urllib.request.Request(f"{base}/_config/webhooks/portal", data=data), timeout=2
                )
                break
            except OSError:
                time.sleep(0.1)
        self.state["stripe"] = {"pid": proc.pid, "api_base": base}

    def run_portal(self, *args: str) -> None:
        done = subprocess.run([*self.portal, *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"portal {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        a = self.args
        self.check_settings()
        listen_port = a.port or free_port()
        public_url = f"http://127.0.0.1:{listen_port}"
        if a.stripe_sandbox:
            self.start_sandbox(public_url)
        # Migrate (and seed) once, before N instances would race to do it.
        self.run_portal("db", "upgrade")
        if a.seed_demo:
            self.run_portal("demo-seed")
        ports = [free_port() for _ in range(a.instances)]
        for i, port in enumerate(ports, 1):
            data_dir = self.run_dir / f"instance-{i}"
            cmd = [
                *self.portal,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ]
            cmd += ["--workers", str(a.workers), "--log-level", a.log_level]
            proc = self.spawn(f"instance-{i}", cmd)
            self.state["instances"].append(
                {"name": f"instance-{i}", "pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}"}
            )
        for i in range(1, a.runners + 1):
            metrics_port = free_port()
            cmd = [*self.portal, "jobs", "--data-dir", str(self.run_dir / f"runner-{i}")]
            cmd += ["--poll", str(a.poll), "--metrics-port", str(metrics_port)]
            proc = self.spawn(f"runner-{i}", cmd)
            self.state["runners"].append(
                {
                    "name": f"runner-{i}",
                    "pid": proc.pid,
                    "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
                }
            )
        for inst in self.state["instances"]:
            wait_ready(
                inst["url"] + "/api/v1/health/ready", self.procs[inst["name"]], a.timeout, inst["name"]
            )
        conf = render_nginx(self.run_dir, f"127.0.0.1:{listen_port}", ports)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = self.spawn("nginx", [nginx, "-p", str(self.run_dir), "-c", str(conf)])
        wait_ready(public_url + "/api/v1/health/ready", proc, a.timeout, "nginx")
        self.state.update(
            url=public_url, nginx={"pid": proc.pid, "conf": str(conf)}, launcher_pid=os.getpid()
        )
        (self.run_dir / "deployment.json").write_text(json.dumps(self.state, indent=2))
        print(f"READY {public_url}", flush=True)

    def watch(self) -> None:
        stop = False

        def on_signal(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        reported: set[str] = set()
        while not stop:
            for name, proc in self.procs.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"EXITED {name} pid {proc.pid} code {proc.returncode}", flush=True)
            time.sleep(0.2)

    def stop(self) -> None:
        # nginx first (no new requests), then the instances and runners, the sandbox last.
        order = ["nginx"] + [n for n in self.procs if n not in ("nginx", "localstripe")] + ["localstripe"]
        for name in order:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        for name in order:
            proc = self.procs.get(name)
            if proc is None:
                continue
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--run-dir", required=True, help="logs, nginx.conf, deployment.json, per-process data dirs"
    )
    p.add_argument("--port", type=int, default=0, help="nginx's port on 127.0.0.1 (default: a free one)")
    p.add_argument("--instances", type=int, default=2, help="`portal serve` processes (default 2)")
    p.add_argument("--workers", type=int, default=1, help="worker processes per instance (default 1)")
    p.add_argument("--runners", type=int, default=2, help="`portal jobs` runners (default 2)")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between a runner's passes")
    p.add_argument("--stripe-sandbox", action="store_true", help="one shared localstripe instead of Stripe")
    p.add_argument("--seed-demo", action="store_true", help="create the demo world (trials and tests)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    args = p.parse_args(argv)
    deployment = Deployment(args)
    try:
        deployment.start()
        deployment.watch()
    finally:
        deployment.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

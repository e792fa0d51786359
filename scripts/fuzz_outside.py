"""Run schemathesis from outside against a seeded `portal serve`, as a policyholder and an agent.

What a partner's client or a fuzzer sees: a real `portal serve --seed-demo` in a subprocess (its
own data directory, an ephemeral port, SQLite unless --database-url), the schemathesis CLI with
every check, signed in as each demo role in turn. Prints the failures per role and exits 1 on any.

    .venv/bin/python scripts/fuzz_outside.py [--max-examples 20] [--database-url URL] [--role EMAIL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROLES = ("alex.morgan@example.com", "agent@portal.example")
PASSWORD = "portal-demo-2026"
# Which operations may refuse schema-valid input for a rule JSON Schema cannot express, and why.
CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"portal serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("portal serve did not become healthy")


def _fuzz(url: str, email: str, args: argparse.Namespace, out: Path) -> dict[str, object]:
    token = httpx.post(url + "/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD}).json()[
        "access_token"
    ]
    report = out / f"{email.split('@')[0]}.json"
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        url + "/api/v1/openapi.json",
        "--checks",
        "all",
        "--phases",
        args.phases,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--no-color",
        "-H",
        f"Authorization: Bearer {token}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--suppress-health-check",
        "all",
    ]
    started = time.monotonic()
    # In the report folder: schemathesis keeps a crash cache in its working directory.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=out)
    elapsed = time.monotonic() - started
    (out / f"{email.split('@')[0]}.log").write_text(proc.stdout + proc.stderr)
    return {
        "email": email,
        "exit": proc.returncode,
        "seconds": round(elapsed, 1),
        "tail": proc.stdout[-6000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--role", action="append", help="sign-in email (default: policyholder and agent)")
    parser.add_argument("--keep", help="write logs and reports to this folder")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="portal-fuzz-"))
    out = Path(args.keep) if args.keep else data / "reports"
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [str(Path(sys.executable).with_name("portal")), "serve", "--seed-demo", "--host", "127.0.0.1"]
    serve += ["--port", str(port), "--data-dir", str(data / "data"), "--log-level", "warning"]
    if args.database_url:
        serve += ["--database-url", args.database_url]
    env = {**os.environ, "PORTAL_DATA_DIR": str(data / "data")}
    log = (out / "serve.log").open("wb")
    proc = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    failed = False
    try:
        _wait_healthy(url, proc)
        for email in args.role or ROLES:
            result = _fuzz(url, email, args, out)
            failed |= result["exit"] != 0
            print(f"=== {email}: exit {result['exit']} in {result['seconds']} s")
            print(result["tail"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Running the service as a server: the shared-secrets check that refuses to start a multi-instance
deployment with per-process keys, and `portal serve --workers N` (a supervisor and N worker
processes on one listening socket).

Threading rule: `serve_workers` owns the calling (main) thread until the supervisor stops; each
worker is its own process with its own container, event loop and PostgreSQL listener.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

JWT_ENV = "PORTAL_JWT_SECRET"
IDCARD_KEY_ENV = "PORTAL_IDCARD_SIGNING_KEY"
AUDIT_KEY_ENV = "PORTAL_AUDIT_SIGNING_KEY"
# Where each worker learns the public base URL it serves (localstripe posts webhooks there).
SERVE_URL_ENV = "PORTAL_SERVE_URL"
SUPERVISOR_PID_ENV = "PORTAL_SERVE_SUPERVISOR_PID"
MIN_JWT_SECRET_CHARS = 32


def shared_secret_problems(jwt_secret: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """What is missing or unusable among the secrets every instance must share (empty when fine).

    With more than one instance a per-process key silently breaks things: tokens signed by one
    instance are refused by the next, ID cards and checkpoints verify as forged after a restart."""
    env = os.environ if environ is None else environ
    problems = []
    if not jwt_secret:
        problems.append(f"{JWT_ENV} (signs access tokens; random text, {MIN_JWT_SECRET_CHARS}+ characters)")
    elif len(jwt_secret) < MIN_JWT_SECRET_CHARS:
        problems.append(
            f"{JWT_ENV} is too short ({len(jwt_secret)} characters; use {MIN_JWT_SECRET_CHARS} or more)"
        )
    keys = ((IDCARD_KEY_ENV, "signs ID-card QR codes"), (AUDIT_KEY_ENV, "signs audit checkpoints"))
    for name, what in keys:
        value = env.get(name, "")
        if not value:
            problems.append(f"{name} ({what}; base64 of a 32-byte Ed25519 private key)")
            continue
        reason = _key_problem(value)
        if reason:
            problems.append(f"{name} is not usable: {reason}")
    return problems


def _key_problem(value: str) -> str | None:
    import base64
    import binascii

    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "not valid base64"
    return None if len(raw) == 32 else f"{len(raw)} bytes, an Ed25519 private key is 32"


def refusal_message(command: str, problems: list[str]) -> str:
    lines = [
        f"portal {command}: refusing to start on PostgreSQL without the secrets every instance must share:",
        *(f"  - missing: {p}" if " is " not in p else f"  - {p}" for p in problems),
        "Set them (the same values on every instance; `portal secrets new` prints a fresh set), or pass",
        "--single-instance if this is the only process using the database.",
    ]
    return "\n".join(lines)


def new_secrets() -> dict[str, str]:
    """A fresh set of the shared secrets, as environment assignments."""
    import secrets

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.idcards.keys import encode_private

    return {
        JWT_ENV: secrets.token_urlsafe(48),
        IDCARD_KEY_ENV: encode_private(Ed25519PrivateKey.generate()),
        AUDIT_KEY_ENV: encode_private(Ed25519PrivateKey.generate()),
    }


def app_from_environment() -> Any:
    """The ASGI app of one worker process (uvicorn factory): settings from PORTAL_* variables.

    The supervisor has already migrated (and seeded) the database, so workers only wire and serve."""
    from services.api.app import create_app
    from services.bootstrap import build
    from services.observability.logs import configure_logging, log_format

    if log_format() == "json":
        configure_logging(os.environ.get("PORTAL_LOG_LEVEL", "info").upper(), "json")
    _exit_with_supervisor()
    container = build()
    base = os.environ.get(SERVE_URL_ENV)
    if base:
        container.extras["payments"].on_serving(base)  # type: ignore[attr-defined]
    return create_app(container)


def _exit_with_supervisor() -> None:
    """A worker whose supervisor died (even by SIGKILL) shuts down gracefully instead of serving on
    unsupervised, holding the port a restarted supervisor needs."""
    import signal
    import threading
    import time

    supervisor = int(os.environ.get(SUPERVISOR_PID_ENV) or 0)
    if not supervisor or os.getppid() != supervisor:
        return

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown: feeds closed, pools released

    threading.Thread(target=watch, name="portal-supervisor-watch", daemon=True).start()


def serve_workers(*, host: str, port: int, workers: int, log_level: str, log_config: Any) -> int:
    """Bind once, then run `workers` uvicorn processes on the socket under a supervisor that
    replaces a worker that dies (and drops its live gauges from the metrics)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from services.observability.metrics import worker_exited

    class Supervisor(Multiprocess):
        def keep_subprocess_alive(self) -> None:
            before = {p.pid for p in self.processes}
            super().keep_subprocess_alive()
            for pid in before - {p.pid for p in self.processes}:
                if pid is not None:
                    worker_exited(pid)

    config = uvicorn.Config(
        "portal_app.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config,
        ws="websockets-sansio",
        timeout_graceful_shutdown=10,
    )
    sock = config.bind_socket()
    os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
    supervisor = Supervisor(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        for proc in supervisor.processes:
            if proc.pid is not None:
                worker_exited(proc.pid)
        sock.close()
    return 0


def prepare_multiprocess_metrics() -> str:
    """Point prometheus_client at a fresh folder for this supervisor's workers (before it is imported)."""
    import shutil
    import tempfile

    from_env = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if from_env:
        # The operator's folder: stale files from an earlier run would add old counts to the new.
        for entry in os.scandir(from_env):
            if entry.name.endswith(".db"):
                os.unlink(entry.path)
        return from_env
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the multi-process folder was set")
    folder = tempfile.mkdtemp(prefix="portal-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    import atexit

    atexit.register(shutil.rmtree, folder, True)
    return folder

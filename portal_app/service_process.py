"""The embedded default as a child process: the app's own Portal service, owned by the app.

`portal run` without `--server` starts `python -m portal_app.service_process` (the same
interpreter and package) on 127.0.0.1 with an ephemeral port. Why a process and not a thread: the
service's CPU work then never competes with painting under one GIL, and no service thread can run
Python's garbage collector over Qt wrappers (ui/qt_compat.py).

The contract between the two sides:
- Lifetime pipe: the child's stdin is a pipe whose write end only the app holds. When the app
  exits, crashes or is killed with SIGKILL, the kernel closes it; the child reads EOF and shuts
  down (gracefully, with a hard exit after a grace period). This works whichever thread started
  the child, unlike PR_SET_PDEATHSIG, which fires when the starting *thread* ends.
- Ready line: once uvicorn listens, the child prints one line `PORTAL-SERVICE-READY {json}` with
  its URL on stdout, then points its stdout at its log; everything else it writes goes to
  `service.log` in the data directory.
- Launch key: a secret made per app launch reaches the child in its environment (removed from it
  at once, so nothing the service starts inherits it); every request and WebSocket must present it
  in the `X-Portal-Launch-Key` header, so other local users and programs cannot use this service.
  The Stripe webhook path stays open: localstripe cannot present it, and webhooks are signed.
- The JWT signing secret is per launch too, so a restarted child accepts the access tokens the
  previous one issued (refresh tokens are in the database anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
import select
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LAUNCH_KEY_HEADER = "X-Portal-Launch-Key"
LAUNCH_KEY_ENV = "PORTAL_LAUNCH_KEY"
READY_PREFIX = "PORTAL-SERVICE-READY "
LOG_NAME = "service.log"
# A log larger than this is moved to service.log.1 when the next child starts.
LOG_ROTATE_BYTES = 5_000_000
# After the lifetime pipe closes, the child gets this long to finish requests and stop its jobs.
SHUTDOWN_GRACE_SECONDS = 6.0
# Restarts after crashes: at most this many within RESTART_WINDOW_SECONDS, then the app gives up.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


class ServiceStartError(RuntimeError):
    """The child exited or stayed silent before it reported its URL (the log says why)."""


class ServiceProcess:
    """Parent side: start, supervise and stop the service child.

    Threading/async rule: `spawn()` and `stop()` are quick or bounded and may run on any thread;
    `wait_ready()` blocks (run it via asyncio.to_thread); `start()` and `supervise()` are
    coroutines for the app's loop and never block it.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        seed_demo: bool = True,
        jobs_in_process: bool = True,
        host: str = "127.0.0.1",
        python: str = sys.executable,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.seed_demo = seed_demo
        self.jobs_in_process = jobs_in_process
        self.host = host
        self.python = python
        self.launch_key = secrets.token_urlsafe(32)
        self._jwt_secret = secrets.token_urlsafe(48)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.port = 0
        self.restarts = 0
        self._stopping = False

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def headers(self) -> dict[str, str]:
        """What every request to the child must carry."""
        return {LAUNCH_KEY_HEADER: self.launch_key}

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- start -----------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the child (fork + exec: milliseconds); `wait_ready()` then reads its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._rotate_log()
        env = dict(os.environ)
        env[LAUNCH_KEY_ENV] = self.launch_key
        env.setdefault("PORTAL_JWT_SECRET", self._jwt_secret)
        env["PYTHONUNBUFFERED"] = "1"
        # The child runs in the data directory: make this package importable there too (a source
        # checkout run without installing it).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
        command = [
            self.python,
            "-m",
            "portal_app.service_process",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            # The last port first: the app's client and live feed then find it where it was.
            "--port",
            str(self.port),
        ]
        if self.seed_demo:
            command.append("--seed-demo")
        if self.jobs_in_process:
            command.append("--jobs")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,  # the lifetime pipe: never written, closed to stop the child
                stdout=subprocess.PIPE,  # the ready line
                stderr=log,
                env=env,
                close_fds=True,
                cwd=str(self.data_dir),
            )
        self.url = None

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size > LOG_ROTATE_BYTES:
                self.log_path.replace(self.log_path.with_name(LOG_NAME + ".1"))

    def wait_ready(self, timeout: float = 60.0) -> str:
        """Block until the child reports its URL; raise ServiceStartError if it dies or stays silent."""
        proc = self.proc
        if proc is None or proc.stdout is None:
            raise ServiceStartError("the service was not started")
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise ServiceStartError(f"the service did not start within {timeout:.0f} s{self._log_tail()}")
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait(5)
                raise ServiceStartError(
                    f"the service stopped while starting (exit {proc.returncode}){self._log_tail()}"
                )
            buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode(errors="replace")
        if not line.startswith(READY_PREFIX):
            self.kill()
            raise ServiceStartError(f"the service said {line[:200]!r} instead of its address")
        info = json.loads(line[len(READY_PREFIX) :])
        proc.stdout.close()  # the child points its stdout at the log after this line
        self.port = int(info["port"])
        self.url = str(info["url"])
        return self.url

    def _log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return (":\n" + "\n".join(tail)) if tail else ""

    async def start(self, timeout: float = 60.0) -> str:
        """Spawn (unless already spawned) and return the URL once the child listens."""
        if self.proc is None or self.proc.poll() is not None:
            self.spawn()
        if self.url is not None:
            return self.url
        return await asyncio.to_thread(self.wait_ready, timeout)

    # --- supervise -------------------------------------------------------------------------

    async def supervise(
        self,
        on_down: Callable[[int | None], None],
        on_up: Callable[[str], Awaitable[None] | None],
        on_gave_up: Callable[[BaseException], None],
        poll_seconds: float = 0.25,
    ) -> None:
        """Restart the child whenever it exits on its own; report down/up to the app.

        A poll on the app's loop (no thread): `Popen.poll()` is one non-blocking waitpid.
        """
        crashes: list[float] = []
        while not self._stopping:
            await asyncio.sleep(poll_seconds)
            proc = self.proc
            if self._stopping or proc is None or proc.poll() is None:
                continue
            on_down(proc.returncode)
            now = time.monotonic()
            crashes = [t for t in crashes if now - t < RESTART_WINDOW_SECONDS] + [now]
            if len(crashes) > MAX_RESTARTS:
                on_gave_up(ServiceStartError(f"the service stopped {len(crashes)} times in a minute"))
                return
            try:
                self.spawn()
                url = await asyncio.to_thread(self.wait_ready)
            except (ServiceStartError, OSError) as exc:
                if self._stopping:
                    return
                if len(crashes) >= MAX_RESTARTS:
                    on_gave_up(exc)
                    return
                continue  # the next pass sees the dead child again and counts it
            self.restarts += 1
            result = on_up(url)
            if result is not None:
                await result

    # --- stop ------------------------------------------------------------------------------

    def stop(self, timeout: float = SHUTDOWN_GRACE_SECONDS + 4) -> int | None:
        """Close the lifetime pipe and wait for the child to finish; kill it if it will not."""
        self._stopping = True
        proc = self.proc
        if proc is None:
            return None
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()
        finally:
            if proc.stdout is not None:
                with contextlib.suppress(OSError):
                    proc.stdout.close()

    def kill(self) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        return proc.wait(10)


# --- the child -------------------------------------------------------------------------------


class LaunchKeyGate:
    """ASGI middleware: only requests carrying this launch's key reach the service.

    Enabled only in the child process (the embedded default); `portal serve` has no such gate.
    """

    def __init__(self, app: Any, key: str, open_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.key = key.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("path") not in self.open_paths:
            presented = dict(scope.get("headers") or []).get(LAUNCH_KEY_HEADER.lower().encode(), b"")
            if not hmac.compare_digest(presented, self.key):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 4403})  # refused before accept: HTTP 403
                    return
                from services.api.problems import problem

                response = problem(
                    403,
                    "auth.launch_key_invalid",
                    "Not this app's service",
                    "This Portal service belongs to one running desktop app and answers only to it.",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _watch_lifetime_pipe(on_eof: Callable[[], None]) -> None:
    """Block on stdin until the app closes it (or dies), then ask for shutdown and set a hard stop."""

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        on_eof()
        # Whatever hangs (a stuck request, a job), the service does not outlive its app for long.
        timer = threading.Timer(SHUTDOWN_GRACE_SECONDS, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    threading.Thread(target=watch, name="portal-lifetime-pipe", daemon=True).start()


def _bind(host: str, port: int) -> Any:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((host, 0))  # the old port is taken: the app follows the new URL
    return sock


def child_main(argv: list[str] | None = None) -> int:
    """Entry of the child: migrate, seed, serve behind the launch-key gate until the pipe closes."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="portal_app.service_process")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed-demo", action="store_true")
    parser.add_argument("--jobs", action="store_true", help="run background jobs in this process")
    args = parser.parse_args(argv)
    # Out of the environment at once: localstripe and anything else started from here must not see it.
    key = os.environ.pop(LAUNCH_KEY_ENV, "")
    if not key:
        print(f"{LAUNCH_KEY_ENV} is not set: this entry is for the desktop app only", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("portal.service_process")

    server_box: list[Any] = []
    stop_requested = threading.Event()

    def request_stop() -> None:
        stop_requested.set()
        if server_box:
            server_box[0].should_exit = True

    _watch_lifetime_pipe(request_stop)
    started = time.perf_counter()

    import uvicorn

    from services.api.app import create_app
    from services.bootstrap import build
    from services.config import ServiceSettings
    from services.payments.runtime import WEBHOOK_PATH
    from services.runtime import prepare

    settings = ServiceSettings.load(data_dir=Path(args.data_dir), jobs_in_process=args.jobs)
    container = build(settings)
    prepare(container, seed=args.seed_demo)
    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    url = f"http://{args.host}:{port}"
    payments = container.extras.get("payments")
    if payments is not None:
        payments.on_serving(url)  # type: ignore[attr-defined]
    app = LaunchKeyGate(create_app(container), key, open_paths=frozenset({WEBHOOK_PATH}))

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                # Now the app may connect: tell it where, then stdout goes to the log like stderr.
                ready = {"url": url, "port": port, "pid": os.getpid()}
                sys.stdout.write(READY_PREFIX + json.dumps(ready) + "\n")
                sys.stdout.flush()
                os.dup2(2, 1)
                log.warning("serving %s (ready in %.2f s)", url, time.perf_counter() - started)

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        timeout_graceful_shutdown=3,
    )
    server = Server(config)
    server_box.append(server)
    if stop_requested.is_set():
        return 0
    try:
        server.run(sockets=[sock])
    finally:
        if payments is not None:
            payments.close()  # type: ignore[attr-defined]
        container.db.dispose()
    log.warning("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(child_main())

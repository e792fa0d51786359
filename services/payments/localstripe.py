"""Start and stop a localstripe process on an ephemeral loopback port (its own state file).

Threading rule: `start`/`stop` block (process start ~0.5 s); call them from a worker thread or
at start-up, never from the event loop of a running service.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the kernel sends SIGTERM to localstripe when its parent dies, even by SIGKILL.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalStripe:
    """One localstripe process. `url` is its API base once started."""

    def __init__(self, state_file: Path | None = None, *, from_scratch: bool = False) -> None:
        self.state_file = state_file
        self.from_scratch = from_scratch
        self.port: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("localstripe is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> str:
        """Launch it and wait until it answers; returns the API base URL."""
        with self._lock:
            if self.running:
                return self.url
            cmd = [sys.executable, "-m", "services.payments.localstripe_main", "--port", "0"]
            if self.state_file is not None:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                cmd += ["--state-file", str(self.state_file)]
            if self.from_scratch:
                cmd.append("--from-scratch")
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.startswith("LISTENING "):
                proc.kill()
                raise RuntimeError(f"localstripe did not start (said {line!r})")
            self._proc = proc
            self.port = int(line.split()[1])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    # 401 means it is serving (no key sent): good enough.
                    httpx.get(f"{self.url}/v1/customers", timeout=1)
                    return self.url
                except httpx.TransportError:
                    time.sleep(0.05)
            self.stop()
            raise TimeoutError("localstripe did not answer")

    def register_webhook(self, webhook_id: str, url: str, secret: str) -> None:
        """Ask localstripe to post its events to our webhook endpoint, signed with `secret`."""
        r = httpx.post(f"{self.url}/_config/webhooks/{webhook_id}", data={"url": url, "secret": secret})
        r.raise_for_status()

    def clear(self) -> None:
        """Forget every customer, card and charge (DELETE /_config/data)."""
        httpx.delete(f"{self.url}/_config/data").raise_for_status()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
            if proc.stdout is not None:
                proc.stdout.close()

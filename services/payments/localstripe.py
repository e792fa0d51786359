"""Start, stop and supervise localstripe: the Stripe sandbox of the embedded default.

`LocalStripe` is one localstripe process on an ephemeral loopback port (its own state file). It
is tied to the *process* that started it by a lifetime pipe: the child holds the read end and
exits when it reads EOF, which happens once every write end is closed, i.e. when this process
dies (even by SIGKILL) or stops it. (PR_SET_PDEATHSIG is not used: it fires when the starting
*thread* exits, so a sandbox started from a threadpool worker died when that worker retired.)

`SharedSandbox` makes it one sandbox per data directory: every process on that directory
(`portal serve` workers, `portal jobs`, the embedded app) runs a supervisor thread; the one that
holds `owner.lock` starts localstripe, records its port in `port`, and restarts it if it dies;
the others read the recorded port and take over (lock, start) if the owner goes away.

Threading rule: `LocalStripe.start`/`stop` block (process start ~0.5 s); call them from a
worker thread or at start-up, never from the event loop of a running service. `SharedSandbox`
may be used from any thread; its supervisor thread lives as long as the process (or `close`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

log = logging.getLogger(__name__)


class LocalStripe:
    """One localstripe process. `url` is its API base once started."""

    def __init__(self, state_file: Path | None = None, *, from_scratch: bool = False) -> None:
        self.state_file = state_file
        self.from_scratch = from_scratch
        self.port: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lifetime: int | None = None  # our end of the lifetime pipe
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("localstripe is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0, *, port: int = 0) -> str:
        """Launch it and wait until it answers; returns the API base URL. `port` asks for that
        port (a restart keeps the address clients were given) and falls back to any free one."""
        with self._lock:
            if self.running:
                return self.url
            self._reap()
            try:
                proc, bound = self._spawn(port)
            except RuntimeError:
                if not port:
                    raise
                proc, bound = self._spawn(0)  # the old port is taken: any free one
            self._proc, self.port = proc, bound
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    # 401 means it is serving (no key sent): good enough.
                    httpx.get(f"{self.url}/v1/customers", timeout=1)
                    return self.url
                except httpx.TransportError:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.05)
        self.stop()
        raise TimeoutError("localstripe did not answer")

    def _spawn(self, port: int) -> tuple[subprocess.Popen[str], int]:
        cmd = [sys.executable, "-m", "services.payments.localstripe_main", "--port", str(port)]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state-file", str(self.state_file)]
        if self.from_scratch:
            cmd.append("--from-scratch")
        # The lifetime pipe: the child gets the read end; our write end is not inheritable, so
        # only this process keeps it open, and the child sees EOF the moment we are gone.
        read_end, write_end = os.pipe()
        cmd += ["--lifetime-fd", str(read_end)]
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
                pass_fds=(read_end,),
                start_new_session=True,  # a Ctrl-C in the terminal is for us; we stop it ourselves
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            os.close(write_end)
            proc.kill()
            proc.wait()
            raise RuntimeError(f"localstripe did not start (said {line!r})")
        self._lifetime = write_end
        return proc, int(line.split()[1])

    def _reap(self) -> None:
        """Collect a child that died on its own (no zombie) and close its pipes."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._lifetime is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifetime)
            self._lifetime = None

    def register_webhook(self, webhook_id: str, url: str, secret: str) -> None:
        """Ask localstripe to post its events to our webhook endpoint, signed with `secret`."""
        r = httpx.post(f"{self.url}/_config/webhooks/{webhook_id}", data={"url": url, "secret": secret})
        r.raise_for_status()

    def clear(self) -> None:
        """Forget every customer, card and charge (DELETE /_config/data)."""
        httpx.delete(f"{self.url}/_config/data").raise_for_status()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout)
            self._reap()


class SharedSandbox:
    """One localstripe per data directory, shared by every process that uses that directory.

    Files in `folder`: `state.pickle` (localstripe's state), `owner.lock` (held with flock by the
    process that runs localstripe; the kernel releases it when that process dies) and `port`
    (the owner's localstripe port, rewritten after every (re)start). `url` is always the current
    address, so a gateway that asks per call follows restarts and takeovers.
    """

    def __init__(self, folder: Path, *, check_seconds: float = 0.5) -> None:
        self.folder = Path(folder)
        self.check_seconds = check_seconds
        self._local = LocalStripe(self.folder / "state.pickle")
        self._lock_fd: int | None = None
        self._url: str | None = None
        self._failure: str | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[str], None]] = []

    @property
    def owner(self) -> bool:
        """True when this process runs the sandbox (the others use it)."""
        return self._lock_fd is not None

    @property
    def local(self) -> LocalStripe:
        """The process this supervisor runs while it is the owner."""
        return self._local

    @property
    def url(self) -> str:
        """The sandbox's current API base; starts the supervisor and waits on first use."""
        url = self._url
        return url if url is not None else self.start()

    @property
    def running_url(self) -> str | None:
        """The current address if the supervisor knows one (never waits)."""
        return self._url

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call `listener(url)` (on the supervisor thread) whenever the sandbox's address changes."""
        self._listeners.append(listener)

    def start(self, timeout: float = 30.0) -> str:
        """Start the supervisor thread (once) and wait until a sandbox is known; returns its URL."""
        with self._cond:
            if self._thread is None:
                self._stop.clear()
                # A plain thread lives until the process ends, whichever thread created it.
                self._thread = threading.Thread(target=self._run, name="localstripe-supervisor", daemon=True)
                self._thread.start()
            if not self._cond.wait_for(lambda: self._url is not None, timeout):
                raise TimeoutError(f"the Stripe sandbox did not start: {self._failure or 'no answer'}")
            assert self._url is not None
            return self._url

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._check()
            except Exception as exc:  # keep supervising: the next check tries again
                self._failure = str(exc) or type(exc).__name__
                log.exception("Stripe sandbox check failed")
            self._stop.wait(self.check_seconds)

    def _check(self) -> None:
        if self._lock_fd is None:
            self._try_to_own()
        if self._lock_fd is not None:
            if not self._local.running:
                if self._local.port is not None:
                    log.warning("the Stripe sandbox (localstripe) stopped; starting it again")
                self._local.start(port=self._local.port or self._recorded_port() or 0)
                self._record_port(self._local.port)
            url = self._local.url
        else:
            port = self._recorded_port()
            if port is None:
                return  # the owner is starting it
            url = f"http://127.0.0.1:{port}"
        self._publish(url)

    def _try_to_own(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        self._lock_fd = fd

    def _recorded_port(self) -> int | None:
        try:
            text = (self.folder / "port").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def _record_port(self, port: int | None) -> None:
        tmp = self.folder / f"port.{os.getpid()}.tmp"
        tmp.write_text(f"{port}\n")
        os.replace(tmp, self.folder / "port")  # readers never see a half-written number

    def _publish(self, url: str) -> None:
        with self._cond:
            changed = url != self._url
            self._url = url
            self._cond.notify_all()
        if changed:
            for listener in list(self._listeners):
                try:
                    listener(url)
                except Exception:
                    log.exception("Stripe sandbox listener failed")

    def close(self) -> None:
        """Stop supervising; the owner stops localstripe and lets another process take over."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        if self._lock_fd is not None:
            self._local.stop()
            with contextlib.suppress(OSError):
                (self.folder / "port").unlink()
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None
        self._url = None

"""Journey tests: the real app on a real X server (Xvfb, Qt's xcb plugin) against a real service.

A QApplication picks its platform plugin once per process, and tests/ui runs offscreen, so the
journeys need a process of their own: `make test` runs `pytest tests/journeys` separately. Collected
together with other tests (a bare `pytest`), the journeys are skipped with that reason rather than
turn every other widget test into an on-screen one.

Fixtures for every role's journey:
- `x_display`: starts Xvfb on a free display (`-displayfd`: no guessed numbers, no clash with a
  developer's own server), exports DISPLAY and QT_QPA_PLATFORM=xcb before the QApplication exists,
  and stops the server at the end of the session.
- the qasync loop, the in-memory keyring, `make_app`, `run` and `wait_until` from tests/ui, so a
  journey drives the same PortalApp controller `portal run` builds.
- `journey_service`: one real service (`portal serve`'s code) for a journey module.
- `journey_log`: every log record of the test, to assert that nothing raised behind the user's back.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCREEN = "1366x850x24"
JOURNEYS_DIR = Path(__file__).parent


def start_xvfb(screen: str = SCREEN, timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb on the first free display and return (its keeper process, ":N").

    Xvfb runs under a tiny shell that holds our end of a pipe and kills Xvfb when the pipe
    closes, that is when this test process exits, whatever way it exits. Stopping Xvfb any
    earlier breaks Qt: the QApplication outlives the fixtures and Qt ends the process when its X
    connection drops ("The X11 connection broke").
    """
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is missing: run scripts/ensure-system-deps.sh (make test does) to install xvfb")
    read_end, write_end = os.pipe()
    keeper = 'Xvfb "$@" & x=$!; trap "kill $x 2>/dev/null" EXIT; cat >/dev/null'
    proc = subprocess.Popen(
        ["sh", "-c", keeper, "sh", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PATH": f"{Path(xvfb).parent}:{os.environ.get('PATH', '')}"},
    )
    os.close(write_end)
    number = b""
    try:
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], timeout)
            chunk = os.read(read_end, 16) if ready else b""
            if not chunk:
                stop_xvfb(proc)
                pytest.fail("Xvfb did not start (is another X server misbehaving?)")
            number += chunk
    finally:
        os.close(read_end)
    return proc, f":{int(number.strip())}"


def stop_xvfb(proc: subprocess.Popen[bytes]) -> None:
    """Close the keeper's pipe: it kills Xvfb and exits."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the journeys when other tests share the process (their QApplication is offscreen)."""
    ours = [item for item in items if JOURNEYS_DIR in Path(str(item.path)).parents]
    if len(ours) == len(items):
        return
    skip = pytest.mark.skip(
        reason="journeys run on their own X server in their own process: `pytest tests/journeys` "
        "(make test runs them)"
    )
    for item in ours:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A private Xvfb for this test process; Qt is told to use it through the xcb plugin."""
    proc, display = start_xvfb()
    assert proc.stdin is not None
    # A raw duplicate of the keeper's pipe, never closed: only the kernel closes it, when this
    # process has exited (after Qt let go of the display), and then the keeper stops Xvfb.
    os.dup(proc.stdin.fileno())
    previous = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.pop("WAYLAND_DISPLAY", None)
    # Not stopped here: the QApplication outlives session fixtures (see start_xvfb); the keeper
    # stops Xvfb when this process exits.
    yield display
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# The QApplication must be created after Xvfb is up and the platform chosen: pytest-qt builds it
# from `qapp_cls`, so depending on `x_display` here orders the two.
@pytest.fixture(scope="session")
def qapp_cls(x_display: str) -> type[Any]:
    from PySide6.QtWidgets import QApplication

    return QApplication


@pytest.fixture(scope="session", autouse=True)
def _on_xcb(qapp: Any, x_display: str) -> None:
    """Fail loudly if Qt did not really come up on the X server (the point of these tests)."""
    assert qapp.platformName() == "xcb", f"Qt runs on {qapp.platformName()!r}, not on Xvfb {x_display}"


@pytest.fixture(scope="module")
def journey_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service (the code `portal serve` runs, demo data) on an ephemeral loopback port."""
    from portal_app.embedded import EmbeddedService
    from services.config import ServiceSettings

    service = EmbeddedService(ServiceSettings(data_dir=tmp_path_factory.mktemp("journey-service")))
    url = service.start()
    yield url
    service.stop()


class LogRecords(logging.Handler):
    """Keeps every record at WARNING and above, with its traceback, for the test to inspect."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [
            f"{r.name}: {r.getMessage()}\n{self.format(r)}"
            for r in self.records
            if r.exc_info is not None or "Traceback" in r.getMessage()
        ]


@pytest.fixture
def journey_log() -> Iterator[LogRecords]:
    """Log records and uncaught exceptions (PySide routes a slot's exception to sys.excepthook)."""
    handler = LogRecords()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        handler.handle(
            logging.LogRecord("excepthook", logging.ERROR, __file__, 0, "uncaught", None, (kind, value, tb))
        )
        previous_hook(kind, value, tb)

    sys.excepthook = excepthook
    try:
        yield handler
    finally:
        sys.excepthook = previous_hook
        root.removeHandler(handler)


# The widget-test machinery (one session qasync loop, in-memory keyring, PortalApp factory).
# Imported after the fixtures above so `qapp_cls` here wins for this directory.
from tests.ui.conftest import (  # noqa: E402, F401
    make_app,
    memory_keyring,
    qasync_loop,
    qasync_running,
)

"""UI tests: real widgets (pytest-qt, offscreen) against a real embedded service.

One qasync loop for the whole session (see docs in STACK-NOTES: stopping it per test breaks
every later qtbot wait); tests are synchronous and drive Qt + asyncio with qtbot.waitUntil.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest
import qasync
from PySide6.QtWidgets import QApplication

from portal_app.embedded import EmbeddedService
from services.config import ServiceSettings
from tests.ui.memory_keyring import MemoryKeyring
from ui.app import PortalApp, create_application
from ui.qt_compat import collect_garbage_on_gui_thread, guard_singleton_refcounts

# Before pytest-qt creates the QApplication: PySide6 6.12 on 3.11 over-releases None.
guard_singleton_refcounts()

T = TypeVar("T")
PASSWORD = "portal-demo-2026"


@pytest.fixture(scope="session")
def qapp_cls() -> type[QApplication]:
    return QApplication


@pytest.fixture(scope="session")
def qasync_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    create_application()  # theme, font, quit policy: the same set-up as `portal run`
    # Unlike `portal run`, these tests host services in this process (EmbeddedService threads):
    # the collector must not run in those threads over Qt wrappers (ui/qt_compat.py).
    collect_garbage_on_gui_thread(qapp)
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(None)  # claimed per test by `qasync_running`
    yield loop
    asyncio.events._set_running_loop(loop)
    for task in asyncio.all_tasks(loop):
        task.cancel()
    # Only now, at session end: stopping earlier sets Qt's quit flag for every later wait.
    loop.stop()
    asyncio.events._set_running_loop(None)
    loop.close()


@pytest.fixture(autouse=True)
def qasync_running(qtbot: Any, qasync_loop: qasync.QEventLoop) -> Iterator[None]:
    """Mark the qasync loop as the running loop only while a UI test runs.

    The loop is never stopped between tests (that would set Qt's quit flag), but tests outside
    tests/ui call asyncio.run(), which refuses to start while another loop claims to run.
    Tasks a test leaves behind are cancelled and finished here, while the loop still counts
    as running: pytest-qt processes Qt events between tests, and a task resumed then would
    find no running loop.
    """
    asyncio.events._set_running_loop(qasync_loop)
    asyncio.set_event_loop(qasync_loop)
    yield
    leftovers = [t for t in asyncio.all_tasks(qasync_loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    qtbot.waitUntil(lambda: all(t.done() for t in leftovers), timeout=10_000)
    asyncio.events._set_running_loop(None)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every test gets an empty in-memory keyring; the developer's real one is never touched."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service = EmbeddedService(ServiceSettings(data_dir=tmp_path_factory.mktemp("service")))
    url = service.start()
    yield url
    service.stop()


# Generous: a shared 2-core machine under a full parallel test load answers slowly, and a
# wait that times out early fails a test for the wrong reason. A broken feature still fails.
WAIT_MS = 30_000


def wait_until(qtbot: Any, condition: Any, timeout: int = WAIT_MS) -> None:
    """qtbot.waitUntil with the patient default above (pumps Qt and asyncio meanwhile)."""
    qtbot.waitUntil(condition, timeout=timeout)


def run(qtbot: Any, awaitable: Awaitable[T], timeout: int = 2 * WAIT_MS) -> T:
    """Run a coroutine on the session loop from a sync test, pumping Qt meanwhile."""
    task = asyncio.ensure_future(awaitable)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


@pytest.fixture
def make_app(qtbot: Any, qasync_loop: qasync.QEventLoop) -> Iterator[Any]:
    """Build PortalApp controllers; each is shut down (windows, client, service) after the test."""
    made: list[PortalApp] = []

    def factory(server_url: str | None, data_dir: Path) -> PortalApp:
        controller = PortalApp(server_url, data_dir)
        made.append(controller)
        return controller

    yield factory
    for controller in made:
        run(qtbot, controller.shutdown(), timeout=30_000)

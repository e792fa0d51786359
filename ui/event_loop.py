"""The asyncio loop of the desktop app: qasync's QEventLoop, never running a callback "outside" itself.

Why this exists (issue 14, "sign out quits the app"): httpx closes and cancels pooled connections
through httpcore, which takes anyio locks and shielded cancel scopes. anyio finds its backend with
sniffio when installed, otherwise with `asyncio.get_running_loop()`; sniffio in turn asks
`asyncio.current_task()`, which also needs the running loop. qasync's `run_until_complete` clears
the running loop when `run_forever` returns and *then* processes the pending Qt events "one last
time". Every asyncio callback that fires during that pass (a task resumed by a socket notifier or a
timer: typically httpx unwinding a cancelled request) runs while no loop is registered as running,
so anyio raises `NoEventLoopError: Not currently running on any asynchronous event loop`. The same
pass runs inside `asyncio.Runner.close()` (cancelling the leftover tasks, shutting down async
generators and the executor), which is where every connection pool is finally closed.

`PortalEventLoop` keeps itself registered as the running loop for that pass, so every callback
qasync runs sees the loop it runs on. `run_app` is `qasync.run` with this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QEventLoop as QtEventLoop
from PySide6.QtWidgets import QApplication

T = TypeVar("T")


class PortalEventLoop(qasync.QEventLoop):
    """qasync's loop; `run_until_complete` keeps the running loop set while it drains Qt events.

    Threading/async rule: created and run on the Qt (GUI) thread only, like qasync's own loop.
    """

    def __init__(self, app: QApplication | None = None) -> None:
        super().__init__(app)
        self._app = app or QApplication.instance()

    def run_until_complete(self, future: Any) -> Any:
        """Run until `future` is done, then drain pending Qt events as the running loop."""
        if self.is_running():
            raise RuntimeError("Event loop already running")
        future = asyncio.ensure_future(future, loop=self)

        def stop(_future: asyncio.Future[Any]) -> None:
            self.stop()

        future.add_done_callback(stop)
        try:
            self.run_forever()
        finally:
            future.remove_done_callback(stop)
        # qasync drains the events here too, but after clearing the running loop (see above).
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self)
        try:
            dispatcher = self._app.eventDispatcher() if self._app is not None else None
            if dispatcher is not None:
                dispatcher.processEvents(QtEventLoop.ProcessEventsFlag.AllEvents)
        finally:
            asyncio.events._set_running_loop(previous)
        if not future.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()


def run_app(main: Coroutine[Any, Any, T], app: QApplication) -> T:
    """Run `main` to completion on a PortalEventLoop (what `qasync.run` does, with our loop)."""
    with asyncio.Runner(loop_factory=lambda: PortalEventLoop(app)) as runner:
        return runner.run(main)

"""The one task-lifetime helper of the client: coroutines owned by a widget.

A page starts network calls (loads, payments, uploads) as asyncio tasks on the qasync loop. When
its window closes (sign-out, switching accounts) those tasks must be cancelled and allowed to
unwind before the client closes; and an answer that arrives after the page was closed has nothing
to be drawn on. `TaskScope` holds a widget's tasks; `owned` marks an async slot as belonging to
its object's scope.

Threading/async rule: everything here is called on the Qt (GUI) thread, the qasync loop's thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import shiboken6

from portal_app.client import PortalError

T = TypeVar("T")


class TaskScope:
    """The tasks one widget started; `cancel()` ends them all and refuses new ones."""

    def __init__(self) -> None:
        self._owned: set[asyncio.Future[Any]] = set()
        self.closed = False

    def __len__(self) -> int:
        return sum(1 for t in self._owned if not t.done())

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T] | None:
        """Run `coro` as a task of this scope; None (and the coroutine closed) once it is closed."""
        if self.closed:
            coro.close()
            return None
        task = asyncio.ensure_future(coro)
        self.adopt(task)
        return task

    def adopt(self, task: asyncio.Future[Any] | None = None) -> bool:
        """Count `task` (default: the running one) as ours; False once the scope is closed."""
        if self.closed:
            return False
        task = task or asyncio.current_task()
        if task is not None and task not in self._owned:
            self._owned.add(task)
            task.add_done_callback(self._owned.discard)
        return True

    def cancel(self) -> list[asyncio.Future[Any]]:
        """Close the scope and cancel what still runs; returns those tasks to await if wanted."""
        self.closed = True
        current = asyncio.current_task() if _loop_running() else None
        running = [t for t in self._owned if not t.done() and t is not current]
        for task in running:
            task.cancel()
        return running

    async def aclose(self, timeout: float = 5.0) -> None:
        """Cancel and wait (bounded) until every task has unwound."""
        running = self.cancel()
        if running:
            await asyncio.wait(running, timeout=timeout)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class HasTasks(Protocol):
    tasks: TaskScope


def owned(fn: Callable[..., Awaitable[None]]) -> Callable[..., Coroutine[Any, Any, None]]:
    """Make an async method a task of `self.tasks`; stack under `@qasync.asyncSlot()`.

    Once the scope is closed the call does nothing; an error that surfaces after the widget was
    deleted (a late answer, a closed connection) is dropped: there is nothing left to show it on.
    """

    @functools.wraps(fn)
    async def run(self: Any, *args: Any, **kwargs: Any) -> None:
        scope: TaskScope = self.tasks
        if not scope.adopt():
            return
        try:
            await fn(self, *args, **kwargs)
        except (RuntimeError, PortalError):
            if scope.closed or not shiboken6.isValid(self):
                return
            raise

    return run

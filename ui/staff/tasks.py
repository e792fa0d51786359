"""Coroutines owned by a widget, so closing the widget cancels what it started."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskOwner:
    """Threading/async rule: call from the Qt thread (the qasync loop's thread) only."""

    def __init__(self) -> None:
        self._owned: set[asyncio.Future[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._owned.add(task)
        task.add_done_callback(self._owned.discard)
        return task

    def cancel_tasks(self) -> list[asyncio.Future[Any]]:
        """Cancel everything still running; returns the tasks so the caller may await them."""
        tasks = [t for t in self._owned if not t.done()]
        for task in tasks:
            task.cancel()
        return tasks

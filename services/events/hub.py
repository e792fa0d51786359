"""Per-account fan-out of committed audit events to live subscribers (WebSockets).

Threading rule: a FeedHub belongs to one asyncio loop. `publish` and `subscribe` must be called
on that loop; code in worker threads wakes the dispatcher through `FeedDispatcher.wake()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

# A subscriber that falls this far behind is dropped; its client reconnects with `since`
# and catches up from the database, so nothing is lost.
MAX_QUEUE = 10_000


class Delivery:
    """One event for one account, serialised once however many subscribers receive it."""

    __slots__ = ("event", "seq", "wire")

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self.seq: int = event["seq"]
        self.wire = orjson.dumps({"type": "event", "event": event}).decode()


class Notice:
    """A non-audit message (presence) for an account's subscribers: no seq, never resumed."""

    __slots__ = ("event", "seq", "wire")

    def __init__(self, wire: str) -> None:
        self.event: dict[str, Any] | None = None
        self.seq = -1  # below every real seq: the live loop sends it without moving its cursor
        self.wire = wire


class Subscription:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.queue: asyncio.Queue[Delivery | Notice | None] = asyncio.Queue(MAX_QUEUE)
        self.overflowed = False


class FeedHub:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

    @asynccontextmanager
    async def subscribe(self, account_id: str) -> AsyncIterator[Subscription]:
        sub = Subscription(account_id)
        self._subs[account_id].add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(account_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[account_id]

    def has_subscribers(self, account_id: str) -> bool:
        return bool(self._subs.get(account_id))

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def publish(self, event: dict[str, Any]) -> None:
        subs = self._subs.get(event["account_id"])
        if not subs:
            return
        delivery = Delivery(event)
        for sub in list(subs):
            try:
                sub.queue.put_nowait(delivery)
            except asyncio.QueueFull:
                sub.overflowed = True
                self._subs[sub.account_id].discard(sub)
                sub.queue = asyncio.Queue(1)
                sub.queue.put_nowait(None)  # tells the consumer to close and let the client resume

    def account_ids(self) -> list[str]:
        return list(self._subs)

    def publish_notice(self, account_id: str, wire: str) -> None:
        """Send a non-audit message (presence) to the account's subscribers on this instance."""
        notice = Notice(wire)
        for sub in list(self._subs.get(account_id, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a full queue is being dropped anyway
                sub.queue.put_nowait(notice)

    def close_all(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                try:
                    sub.queue.put_nowait(None)
                except asyncio.QueueFull:
                    sub.overflowed = True

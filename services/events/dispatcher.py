"""Finds newly committed audit events and hands them to the hub.

The audit table is the outbox: every event is a row written in the same transaction as the
change. After a commit the writer calls `wake()`; other instances are woken by PostgreSQL
NOTIFY (payload-free). A slow poll is the safety net.

Sequence numbers come from the database at insert time, so on PostgreSQL a lower seq can
commit after a higher one (different accounts). Per account the order is safe: writers of one
chain hold its head row lock until commit. The dispatcher therefore keeps a watermark below
which everything was delivered, delivers anything above it as soon as it is visible, and gives
up waiting for a gap only after `gap_timeout` (a rolled-back transaction leaves a permanent
gap). Clients that reconnect read from the database with `since`, so even a gap given up on
is never lost to them.

Threading rule: `run()` and `wake()` execute on the hub's asyncio loop; `wake_threadsafe()` may
be called from any thread (the API's worker threads call it after commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from services.audit import service as audit
from services.db.database import Database
from services.events.hub import FeedHub
from services.events.serialize import event_to_dict

log = logging.getLogger(__name__)


class FeedDispatcher:
    def __init__(
        self,
        db: Database,
        hub: FeedHub,
        *,
        poll_seconds: float = 1.0,
        gap_timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.hub = hub
        self.poll_seconds = poll_seconds
        self.gap_timeout = gap_timeout
        self._monotonic = monotonic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.watermark = 0
        self._delivered_above: set[int] = set()
        self._gap_seen_at: dict[int, float] = {}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.watermark = await asyncio.to_thread(self._max_seq)
        self._task = asyncio.create_task(self._run(), name="feed-dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake_threadsafe(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    def _max_seq(self) -> int:
        with self.db.read() as session:
            return audit.max_seq(session)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not kill the feed; next wake retries
                log.exception("feed dispatch failed; retrying on the next wake-up")
                await asyncio.sleep(0.2)

    async def dispatch_once(self) -> int:
        """Deliver every newly visible event; returns how many were published."""
        rows = await asyncio.to_thread(self._fetch)
        published = 0
        for event in rows:
            seq = event["seq"]
            if seq in self._delivered_above or seq <= self.watermark:
                continue
            if event["account_id"] is not None:
                self.hub.publish(event)
                published += 1
            self._delivered_above.add(seq)
        self._advance()
        return published

    def _fetch(self) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return [event_to_dict(e) for e in audit.events_after(session, since=self.watermark, limit=5000)]

    def _advance(self) -> None:
        now = self._monotonic()
        while True:
            nxt = self.watermark + 1
            if nxt in self._delivered_above:
                self._delivered_above.discard(nxt)
                self._gap_seen_at.pop(nxt, None)
                self.watermark = nxt
                continue
            if not self._delivered_above:
                return
            # A gap below delivered events: an uncommitted or rolled-back transaction.
            first_seen = self._gap_seen_at.setdefault(nxt, now)
            if now - first_seen < self.gap_timeout:
                return
            self._gap_seen_at.pop(nxt, None)
            self.watermark = nxt


class PostgresWakeListener:
    """LISTENs on the feed channel and wakes the dispatcher when any instance commits events.

    Threading rule: runs as one task on the dispatcher's loop, with its own connection.
    """

    def __init__(
        self,
        conninfo: str,
        dispatcher: FeedDispatcher,
        channel: str = audit.FEED_CHANNEL,
        *,
        extra_channels: dict[str, Callable[[str], None]] | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.dispatcher = dispatcher
        self.channel = channel
        # Other channels on the same connection (presence): handler(payload), "" after a reconnect.
        self.extra_channels = dict(extra_channels or {})
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feed-pg-listener")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import psycopg  # only on PostgreSQL deployments

        backoff = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    for extra in self.extra_channels:
                        await conn.execute(f"LISTEN {extra}")
                    self.connected.set()
                    backoff = 0.2
                    # Catch up with anything committed while we were not listening.
                    self.dispatcher.wake_threadsafe()
                    for handler in self.extra_channels.values():
                        handler("")
                    gen = conn.notifies()
                    try:
                        async for note in gen:
                            on_note = self.extra_channels.get(note.channel)
                            if on_note is None:
                                self.dispatcher.wake_threadsafe()
                            else:
                                on_note(note.payload)
                    finally:
                        await gen.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server restart: reconnect; the poll covers the gap
                self.connected.clear()
                log.warning("feed listener lost PostgreSQL (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

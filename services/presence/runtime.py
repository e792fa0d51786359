"""Presence on the live feed: join/leave from the WebSocket endpoint, broadcast to subscribers.

A presence change is published to this instance's subscribers of the account as a non-audit
`{"type": "presence", ...}` message; other instances learn of it through a PostgreSQL NOTIFY on
PRESENCE_CHANNEL (payload: the account id) and publish the same snapshot to their subscribers.

Threading rule: `join`, `leave`, `refresh` and `on_notify` run on the hub's asyncio loop (the
service's loop); database work goes to worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from services.actor import Actor
from services.clock import Clock
from services.db.database import Database
from services.events.hub import FeedHub
from services.presence import service

log = logging.getLogger(__name__)
COALESCE_SECONDS = 0.05


def presence_wire(account_id: str, viewers: list[dict[str, Any]]) -> str:
    people = [{**v, "since": v["since"].isoformat()} for v in viewers]
    return json.dumps(
        {"type": "presence", "account_id": account_id, "viewers": people}, separators=(",", ":")
    )


class PresenceRuntime:
    def __init__(self, db: Database, hub: FeedHub, clock: Clock) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock
        self.instance_id = "ins_" + secrets.token_hex(6)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: set[str] = set()

    def _write(self, fn: Any, **kwargs: Any) -> Any:
        with self.db.write() as session:
            return fn(session, **kwargs)

    async def join(self, actor: Actor, account_id: str) -> str:
        """Record the connection and tell everyone watching the account (here and elsewhere)."""
        pid = await asyncio.to_thread(
            self._write,
            service.join,
            clock=self.clock,
            actor=actor,
            account_id=account_id,
            instance_id=self.instance_id,
        )
        self.on_notify(account_id)
        return pid

    async def leave(self, presence_id: str, account_id: str) -> None:
        with contextlib.suppress(Exception):  # shutting down: the row goes stale on its own
            await asyncio.to_thread(
                self._write, service.leave, presence_id=presence_id, account_id=account_id
            )
            self.on_notify(account_id)

    async def heartbeat(self, presence_id: str) -> None:
        await asyncio.to_thread(self._write, service.heartbeat, clock=self.clock, presence_id=presence_id)

    def _viewers(self, account_id: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return service.viewers(session, self.clock, account_id=account_id)

    async def refresh(self, account_id: str) -> None:
        """Publish the account's current viewers to this instance's subscribers."""
        if not self.hub.has_subscribers(account_id):
            return
        viewers = await asyncio.to_thread(self._viewers, account_id)
        self.hub.publish_notice(account_id, presence_wire(account_id, viewers))

    def on_notify(self, payload: str) -> None:
        """Presence changed here or on another instance; "" means "refresh everything".

        Refreshes are coalesced per account: when many people open an account at once (or one
        agent opens many views), one snapshot goes out per COALESCE_SECONDS, not one per join
        to every subscriber (which would grow with the square of the viewers).
        """
        accounts = [payload] if payload else self.hub.account_ids()
        for account_id in accounts:
            if account_id in self._pending or not self.hub.has_subscribers(account_id):
                continue
            self._pending.add(account_id)
            task = asyncio.ensure_future(self._coalesced_refresh(account_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _coalesced_refresh(self, account_id: str) -> None:
        try:
            await asyncio.sleep(COALESCE_SECONDS)
            # Cleared before reading: a change during the read schedules another refresh.
            self._pending.discard(account_id)
            await self.refresh(account_id)
        except asyncio.CancelledError:
            self._pending.discard(account_id)
            raise
        except Exception:  # a database hiccup: the next change or heartbeat refreshes again
            log.exception("presence refresh failed for %s", account_id)

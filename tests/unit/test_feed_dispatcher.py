"""The dispatcher delivers each committed event once, in order per account, across seq gaps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.accounts.models import Account
from services.actor import Actor
from services.audit import service as audit
from services.clock import FixedClock
from services.db.database import Database, make_engine
from services.db.migrate import upgrade
from services.events.dispatcher import FeedDispatcher
from services.events.hub import FeedHub

CLOCK = FixedClock(datetime(2026, 11, 23, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}"))
    upgrade(database.engine)
    with database.write() as s:
        s.add_all(
            [
                Account(id="acc_a", name="A", created_at=CLOCK.now()),
                Account(id="acc_b", name="B", created_at=CLOCK.now()),
            ]
        )
    return database


def write_event(db: Database, account_id: str, action: str = "thing.done") -> None:
    with db.write() as s:
        audit.record(s, Actor.system(), CLOCK, action=action, account_id=account_id, entity_type="x")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_delivers_to_the_right_account_once(db: Database) -> None:
    hub = FeedHub()
    dispatcher = FeedDispatcher(db, hub)
    await dispatcher.start()
    try:
        async with hub.subscribe("acc_a") as sub_a, hub.subscribe("acc_b") as sub_b:
            write_event(db, "acc_a", "one")
            write_event(db, "acc_b", "two")
            write_event(db, "acc_a", "three")
            assert await dispatcher.dispatch_once() == 3
            assert await dispatcher.dispatch_once() == 0  # nothing twice
            got_a = [sub_a.queue.get_nowait().event["action"] for _ in range(sub_a.queue.qsize())]
            got_b = [sub_b.queue.get_nowait().event["action"] for _ in range(sub_b.queue.qsize())]
        assert got_a == ["one", "three"] and got_b == ["two"]
    finally:
        await dispatcher.stop()


@pytest.mark.asyncio
async def test_waits_for_a_gap_then_gives_up_on_it(db: Database) -> None:
    # Given events 1..3 exist but seq 2 is "not yet committed" (we hide it by deleting it
    # before the dispatcher ever sees it: a rolled-back transaction leaves exactly this gap).
    time = FakeTime()
    hub = FeedHub()
    dispatcher = FeedDispatcher(db, hub, gap_timeout=5.0, monotonic=time)
    await dispatcher.start()
    start = dispatcher.watermark
    for action in ("one", "two", "three"):
        write_event(db, "acc_a", action)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {start + 2}")
    async with hub.subscribe("acc_a") as sub:
        assert await dispatcher.dispatch_once() == 2
        # The event after the gap is delivered at once; the watermark waits below the gap.
        assert dispatcher.watermark == start + 1
        time.now = 4.9
        await dispatcher.dispatch_once()
        assert dispatcher.watermark == start + 1
        time.now = 5.1
        await dispatcher.dispatch_once()
        assert dispatcher.watermark == start + 3
        assert [sub.queue.get_nowait().event["action"] for _ in range(2)] == ["one", "three"]
    await dispatcher.stop()


@pytest.mark.asyncio
async def test_wake_from_another_thread_delivers_promptly(db: Database) -> None:
    hub = FeedHub()
    dispatcher = FeedDispatcher(db, hub, poll_seconds=60)
    db.on_audit_commit(dispatcher.wake_threadsafe)
    await dispatcher.start()
    try:
        async with hub.subscribe("acc_b") as sub:
            await asyncio.to_thread(write_event, db, "acc_b", "from-a-worker-thread")
            event = await asyncio.wait_for(sub.queue.get(), timeout=2)
        assert event is not None and event.event["action"] == "from-a-worker-thread"
    finally:
        await dispatcher.stop()


def test_audit_hooks_run_inside_the_writing_transaction(db: Database) -> None:
    seen: list[tuple[str, bool]] = []

    def hook(session, event) -> None:  # type: ignore[no-untyped-def]
        seen.append((event.action, session.in_transaction()))
        if event.action == "explode":
            raise RuntimeError("a consequence failed")

    db.add_audit_hook(hook)
    write_event(db, "acc_a", "fine")
    with pytest.raises(RuntimeError):
        write_event(db, "acc_a", "explode")
    assert seen == [("fine", True), ("explode", True)]
    # The failing consequence rolled back its cause: the event is not in the trail.
    with db.read() as s:
        assert [e.action for e in audit.list_account_events(s, account_id="acc_a")] == ["fine"]

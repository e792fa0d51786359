"""The durable job runner on SQLite: dedupe, retries with backoff, dead jobs, lease takeover."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.clock import FixedClock
from services.db.database import Database, make_engine
from services.db.migrate import upgrade
from services.jobs.models import Job
from services.jobs.queue import enqueue
from services.jobs.runner import JobInfo, JobRegistry, JobRunner, Retry


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}"))
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


def _job(db: Database, kind: str) -> Job:
    with db.read() as s:
        job = s.query(Job).filter_by(kind=kind).one()
        return job


def test_a_dedupe_key_enqueues_once(db: Database, clock: FixedClock) -> None:
    with db.write() as s:
        assert enqueue(s, clock, "k", {"n": 1}, dedupe_key="once")
        assert not enqueue(s, clock, "k", {"n": 2}, dedupe_key="once")
    with db.read() as s:
        assert s.query(Job).count() == 1


def test_failures_retry_with_growing_backoff_then_stop(db: Database, clock: FixedClock) -> None:
    calls: list[int] = []

    def boom(job: JobInfo) -> None:
        calls.append(job.attempts)
        raise ValueError("nope")

    registry = JobRegistry()
    registry.register("boom", boom, max_attempts=3, backoff_seconds=10)
    runner = JobRunner(db, clock, registry)
    with db.write() as s:
        enqueue(s, clock, "boom", max_attempts=3)
    assert runner.run_once() == 1
    first = _job(db, "boom")
    assert first.status == "queued" and first.run_at == clock.now() + timedelta(seconds=10)
    assert runner.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=10))
    runner.run_once()
    assert _job(db, "boom").run_at == clock.now() + timedelta(seconds=20)  # doubled
    clock.advance(timedelta(seconds=20))
    runner.run_once()
    dead = _job(db, "boom")
    assert dead.status == "dead" and "ValueError" in (dead.last_error or "") and calls == [1, 2, 3]


def test_retry_asks_for_a_later_run_and_success_finishes(db: Database, clock: FixedClock) -> None:
    seen: list[int] = []

    def later_then_done(job: JobInfo) -> None:
        seen.append(job.attempts)
        if job.attempts == 1:
            raise Retry("not settled", timedelta(minutes=5))

    registry = JobRegistry()
    registry.register("settle", later_then_done)
    runner = JobRunner(db, clock, registry)
    with db.write() as s:
        enqueue(s, clock, "settle")
    runner.run_once()
    assert _job(db, "settle").run_at == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    runner.run_once()
    assert _job(db, "settle").status == "done" and seen == [1, 2]


def test_a_dead_runners_job_is_taken_over_after_its_lease(db: Database, clock: FixedClock) -> None:
    ran: list[str] = []
    registry = JobRegistry()
    registry.register("work", lambda job: ran.append(job.id))
    a = JobRunner(db, clock, registry, worker_id="a", lease_seconds=30)
    b = JobRunner(db, clock, registry, worker_id="b", lease_seconds=30)
    with db.write() as s:
        enqueue(s, clock, "work")
    claimed = a.claim()  # runner a claims it and dies (never finishes)
    assert len(claimed) == 1 and b.claim() == []  # held while the lease runs
    clock.advance(timedelta(seconds=31))
    taken = b.claim()
    assert [j.id for j in taken] == [claimed[0].id] and taken[0].attempts == 2
    assert b.run_job(taken[0]) == "done"
    assert a.run_job(claimed[0]) == "done"  # a's late finish changes nothing
    assert _job(db, "work").status == "done" and _job(db, "work").locked_by is None


def test_sweeps_run_before_claiming(db: Database, clock: FixedClock) -> None:
    registry = JobRegistry()
    done: list[str] = []
    registry.register("swept", lambda job: done.append(job.payload["x"]))

    def sweep() -> None:
        with db.write() as s:
            enqueue(s, clock, "swept", {"x": "due"}, dedupe_key="sweep-1")

    registry.add_sweep("test", sweep)
    runner = JobRunner(db, clock, registry, workers=3)
    assert runner.run_once() == 1 and runner.run_once() == 0 and done == ["due"]

"""The durable job runner: claims due jobs with row locks, runs them, retries with backoff.

Jobs live in the `jobs` table. A runner claims a batch in one short transaction (FOR UPDATE SKIP
LOCKED on PostgreSQL, so several runners never take the same job; on SQLite BEGIN IMMEDIATE
serialises the claim), marks them running with a lease, runs each outside any transaction, then
marks it done or schedules a retry. A runner that dies mid-job (even by SIGKILL) leaves its jobs
"running" with a lease that runs out; the next runner claims them again, so handlers must be
idempotent (the payments handlers are: their work is keyed by what is paid).

Adding a job kind is one call: `registry.register("kind", handler)`; periodic producers of work
(due payments, reminders) are `registry.add_sweep(fn)`, run before each claim.

Threading rule: a JobRunner is driven by one thread at a time (it may fan jobs out to its own
worker threads, so handlers must be thread-safe); `InProcessRunner` owns a daemon
thread and is started/stopped from any thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from services.clock import Clock
from services.db.database import Database
from services.jobs import writes
from services.jobs.models import Job

log = logging.getLogger(__name__)


class Retry(Exception):
    """Raised by a handler to run the job again later without counting it as broken."""

    def __init__(self, reason: str, delay: timedelta | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass(frozen=True)
class JobInfo:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


Handler = Callable[[JobInfo], None]
Sweep = Callable[[], object]  # a sweep may return what it enqueued; the runner ignores it


@dataclass
class JobKind:
    name: str
    handler: Handler
    max_attempts: int = 5
    backoff_seconds: float = 30.0


@dataclass
class JobRegistry:
    kinds: dict[str, JobKind] = field(default_factory=dict)
    sweeps: list[tuple[str, Sweep]] = field(default_factory=list)

    def register(
        self, name: str, handler: Handler, *, max_attempts: int = 5, backoff_seconds: float = 30.0
    ) -> None:
        """Make a job kind runnable."""
        self.kinds[name] = JobKind(name, handler, max_attempts, backoff_seconds)

    def add_sweep(self, name: str, sweep: Sweep) -> None:
        """A function run before each claim that enqueues whatever has become due."""
        self.sweeps.append((name, sweep))


class JobRunner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        registry: JobRegistry,
        *,
        worker_id: str | None = None,
        lease_seconds: float = 120.0,
        batch: int = 10,
        workers: int = 1,
    ) -> None:
        self.db = db
        self.clock = clock
        self.registry = registry
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease = timedelta(seconds=lease_seconds)
        self.workers = max(1, workers)
        # Jobs mostly wait on the network (Stripe): a few threads overlap that waiting.
        self.batch = max(batch, self.workers * 4)

    # --- one pass ------------------------------------------------------------------------------

    def sweep(self) -> None:
        for name, fn in self.registry.sweeps:
            try:
                fn()
            except Exception:
                log.exception("job sweep %s failed", name)

    def claim(self, limit: int | None = None) -> list[JobInfo]:
        """Take up to `limit` due jobs for this runner (one short transaction)."""
        now = self.clock.now()
        with writes.write(self.db) as session:
            due = or_(
                and_(Job.status == "queued", Job.run_at <= now),
                # A running job whose lease ran out: its runner died. Take it over.
                and_(Job.status == "running", Job.locked_until < now),
            )
            jobs = list(
                session.scalars(
                    select(Job)
                    .where(due)
                    .order_by(Job.run_at)
                    .limit(limit or self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            claimed = []
            for job in jobs:
                job.status = "running"
                job.locked_by = self.worker_id
                job.locked_until = now + self.lease
                job.attempts += 1
                claimed.append(
                    JobInfo(job.id, job.kind, dict(job.payload or {}), job.attempts, job.max_attempts)
                )
            return claimed

    def run_job(self, job: JobInfo) -> str:
        """Run one claimed job; returns its new status."""
        kind = self.registry.kinds.get(job.kind)
        error: str | None = None
        delay: timedelta | None = None
        if kind is None:
            error, status = f"no handler for job kind {job.kind!r}", "dead"
        else:
            try:
                kind.handler(job)
                status = "done"
            except Retry as exc:
                status, error, delay = "queued", f"retry: {exc}", exc.delay
            except Exception:
                error = traceback.format_exc(limit=8)
                log.warning("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts, exc_info=True)
                status = "dead" if job.attempts >= job.max_attempts else "queued"
                if status == "queued":
                    # Exponential backoff: 30 s, 60 s, 120 s ... capped at six hours.
                    delay = timedelta(seconds=min(kind.backoff_seconds * 2 ** (job.attempts - 1), 6 * 3600))
        now = self.clock.now()
        values: dict[str, Any] = {"status": status, "last_error": error}
        values.update(locked_by=None, locked_until=None)
        if status == "queued":
            values["run_at"] = now + (delay or timedelta(seconds=kind.backoff_seconds if kind else 30))
        else:
            values["finished_at"] = now
        with writes.write(self.db) as session:
            # One statement: finish the job only if it is still ours (the lease check and the
            # write are atomic in the UPDATE; no read-then-write round trip).
            finished = session.execute(
                update(Job).where(Job.id == job.id, Job.locked_by == self.worker_id).values(**values)
            )
            if finished.rowcount != 1:  # type: ignore[attr-defined]
                # Our lease ran out and another runner took it (or the job is gone).
                return session.scalar(select(Job.status).where(Job.id == job.id)) or "gone"
        return status

    def run_once(self, *, max_jobs: int = 100_000) -> int:
        """Sweep, then run every job due now until none is left. Returns how many ran."""
        self.sweep()
        ran = 0
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="portal-job") if self.workers > 1 else None
        try:
            while ran < max_jobs:
                jobs = self.claim()
                if not jobs:
                    break
                if pool is None:
                    for job in jobs:
                        self.run_job(job)
                else:
                    list(pool.map(self.run_job, jobs))
                ran += len(jobs)
        finally:
            if pool is not None:
                pool.shutdown()
        return ran

    def run_forever(self, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        while not stop.is_set():
            try:
                self.run_once(max_jobs=500)
            except Exception:
                log.exception("job runner pass failed")
            stop.wait(poll_seconds)


class InProcessRunner:
    """The runner on a daemon thread inside the service (the embedded default)."""

    def __init__(self, runner: JobRunner, poll_seconds: float) -> None:
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="portal-jobs", daemon=True)

    def _run(self) -> None:
        self.runner.run_forever(self._stop, self.poll_seconds)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

"""Jobs for cases and the evidence trail: escalate missed commitments, seal checkpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from services.audit.checkpoints import SEAL_JOB, seal_bucket, seal_checkpoints
from services.cases.service import CaseContext, escalate_overdue
from services.jobs.queue import enqueue
from services.jobs.runner import JobInfo, JobRegistry

if TYPE_CHECKING:
    from services.bootstrap import Container

ESCALATION_JOB = "cases.escalate_overdue"
ESCALATION_EVERY = timedelta(minutes=5)


def register(registry: JobRegistry, container: Container) -> None:
    """Case escalation and checkpoint sealing, each enqueued once per interval by the sweep."""
    db, clock = container.db, container.clock
    ctx = container.extras["case_context"]
    key = container.extras["audit_key"]
    assert isinstance(ctx, CaseContext)
    seal_every = timedelta(minutes=max(container.settings.audit_checkpoint_minutes, 1))

    def escalate(_: JobInfo) -> None:
        with db.write() as session:
            escalate_overdue(session, clock, ctx)

    def seal(_: JobInfo) -> None:
        with db.write() as session:
            seal_checkpoints(session, clock, key)  # type: ignore[arg-type]

    def sweep() -> None:
        now = clock.now()
        with db.write() as session:
            # Dedupe keys per interval: however many runners sweep, each interval runs once.
            enqueue(
                session,
                clock,
                ESCALATION_JOB,
                dedupe_key=f"cases-escalate:{seal_bucket(now, ESCALATION_EVERY)}",
            )
            enqueue(session, clock, SEAL_JOB, dedupe_key=f"audit-seal:{seal_bucket(now, seal_every)}")

    registry.register(ESCALATION_JOB, escalate, max_attempts=3, backoff_seconds=30)
    registry.register(SEAL_JOB, seal, max_attempts=3, backoff_seconds=30)
    registry.add_sweep("cases", sweep)

"""Putting work on the durable job queue, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.clock import Clock
from services.db.base import new_id
from services.jobs.models import Job


def enqueue(
    session: Session,
    clock: Clock,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    delay: timedelta | None = None,
    max_attempts: int = 5,
) -> bool:
    """Add a job in the caller's transaction. With a dedupe key, a second enqueue is a no-op.

    Returns True when a job was added."""
    now = clock.now()
    when = run_at or (now + delay if delay else now)
    values = {
        "id": new_id("job"),
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload or {},
        "status": "queued",
        "run_at": when,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Job).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]

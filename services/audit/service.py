"""Writing, reading and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit.chain import GENESIS_HASH, event_hash, jsonable
from services.audit.models import SYSTEM_CHAIN, AuditChainHead, AuditEvent
from services.clock import Clock
from services.db.base import new_id
from services.db.database import AUDIT_WRITTEN

FEED_CHANNEL = "portal_feed"


def record(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    action: str,
    account_id: str | None,
    entity_type: str,
    entity_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "success",
) -> AuditEvent:
    """Append one event to the account's chain inside the caller's transaction."""
    chain_key = account_id or SYSTEM_CHAIN
    head = _lock_chain_head(session, chain_key)
    fields: dict[str, Any] = {
        "event_id": new_id("evt"),
        "chain_key": chain_key,
        "chain_index": head.length + 1,
        "account_id": account_id,
        "occurred_at": clock.now(),
        "actor_id": actor.user_id,
        "actor_role": actor.role,
        "actor_name": actor.name,
        "on_behalf_of": actor.on_behalf_of,
        "channel": actor.channel,
        "branch_id": actor.branch_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "outcome": outcome,
        "request_id": actor.request_id,
        "client_address": actor.client_address,
        "prev_hash": head.last_hash,
    }
    event = AuditEvent(**fields, hash=event_hash(fields))
    session.add(event)
    session.flush()  # assigns seq
    head.length += 1
    head.last_seq = event.seq
    head.last_hash = event.hash
    if not session.info.get(AUDIT_WRITTEN):
        session.info[AUDIT_WRITTEN] = True
        if session.get_bind().dialect.name == "postgresql":
            # Payload-free wake-up for other instances; PostgreSQL delivers it at COMMIT and
            # folds duplicates, so a busy transaction costs one tiny notification.
            session.execute(text(f"NOTIFY {FEED_CHANNEL}"))
    return event


def _lock_chain_head(session: Session, chain_key: str) -> AuditChainHead:
    """Fetch the chain head under a row lock, creating it on first use."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            pg_insert(AuditChainHead)
            .values(chain_key=chain_key, length=0, last_seq=0, last_hash=GENESIS_HASH)
            .on_conflict_do_nothing(index_elements=["chain_key"])
        )
        head = session.scalars(
            select(AuditChainHead)
            .where(AuditChainHead.chain_key == chain_key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        return head
    # SQLite: BEGIN IMMEDIATE already serialises writers.
    head = session.get(AuditChainHead, chain_key)
    if head is None:
        head = AuditChainHead(chain_key=chain_key, length=0, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
    return head


def list_account_events(
    session: Session, *, account_id: str, since: int = 0, limit: int = 100
) -> list[AuditEvent]:
    """Events of one account with seq > since, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.account_id == account_id, AuditEvent.seq > since)
            .order_by(AuditEvent.seq)
            .limit(limit)
        )
    )


def events_after(session: Session, *, since: int, limit: int = 1000) -> list[AuditEvent]:
    """Every event with seq > since, oldest first: what the feed dispatcher delivers."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.seq > since).order_by(AuditEvent.seq).limit(limit)
        )
    )


def max_seq(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0


@dataclass(frozen=True)
class ChainProblem:
    chain_key: str
    seq: int | None
    chain_index: int | None
    reason: str

    def describe(self) -> str:
        where = f"event seq {self.seq} (#{self.chain_index})" if self.seq else "chain end"
        return f"chain {self.chain_key}: {where}: {self.reason}"


@dataclass(frozen=True)
class VerifyReport:
    chains: int
    events: int
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


_VERIFY_COLUMNS = [
    AuditEvent.seq,
    AuditEvent.event_id,
    AuditEvent.chain_key,
    AuditEvent.chain_index,
    AuditEvent.account_id,
    AuditEvent.occurred_at,
    AuditEvent.actor_id,
    AuditEvent.actor_role,
    AuditEvent.actor_name,
    AuditEvent.on_behalf_of,
    AuditEvent.channel,
    AuditEvent.branch_id,
    AuditEvent.action,
    AuditEvent.entity_type,
    AuditEvent.entity_id,
    AuditEvent.before,
    AuditEvent.after,
    AuditEvent.outcome,
    AuditEvent.request_id,
    AuditEvent.client_address,
    AuditEvent.prev_hash,
    AuditEvent.hash,
]


def verify_chains(session: Session, *, account_id: str | None = None) -> VerifyReport:
    """Recompute every hash and link; report the first broken event of each chain."""
    heads = {
        h.chain_key: h
        for h in session.scalars(
            select(AuditChainHead).where(AuditChainHead.chain_key == account_id if account_id else True)
        )
    }
    query = select(*_VERIFY_COLUMNS).order_by(AuditEvent.chain_key, AuditEvent.seq)
    if account_id:
        query = query.where(AuditEvent.chain_key == account_id)
    problems: list[ChainProblem] = []
    seen: dict[str, tuple[int, str, int]] = {}  # chain -> (length, last hash, last seq)
    broken: set[str] = set()
    events = 0
    for row in _stream(session, query):
        events += 1
        fields = row._asdict()
        key = fields["chain_key"]
        if key in broken:
            continue
        length, prev, _ = seen.get(key, (0, GENESIS_HASH, 0))
        reason = None
        if fields["chain_index"] != length + 1:
            reason = (
                f"expected position {length + 1}, found {fields['chain_index']} (missing or reordered event)"
            )
        elif fields["prev_hash"] != prev:
            reason = "does not link to the previous event (an event was removed or reordered)"
        elif event_hash(fields) != fields["hash"]:
            reason = "content does not match its hash (the event was edited)"
        if reason:
            problems.append(ChainProblem(key, fields["seq"], fields["chain_index"], reason))
            broken.add(key)
            continue
        seen[key] = (length + 1, fields["hash"], fields["seq"])
    for key, head in heads.items():
        if key in broken:
            continue
        length, last, _ = seen.get(key, (0, GENESIS_HASH, 0))
        if (length, last) != (head.length, head.last_hash):
            problems.append(
                ChainProblem(
                    key,
                    None,
                    None,
                    f"chain head says {head.length} events ending {head.last_hash[:12]}, "
                    f"found {length} ending {last[:12]} (events removed from the end)",
                )
            )
    for key in seen.keys() - heads.keys():
        problems.append(ChainProblem(key, None, None, "events exist but the chain head is missing"))
    return VerifyReport(chains=len(seen.keys() | heads.keys()), events=events, problems=problems)


def _stream(session: Session, query: Any) -> Iterator[Any]:
    result = session.execute(query.execution_options(yield_per=5000))
    yield from result

"""Writing, reading and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, select, text, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, instrumentation

from services.actor import Actor
from services.audit.chain import GENESIS_HASH, HASHED_SCALARS, event_hash, format_utc, hash_parts, jsonable
from services.audit.models import SYSTEM_CHAIN, AuditChainHead, AuditEvent
from services.clock import Clock
from services.db.base import Base, new_id
from services.db.database import AUDIT_HOOKS, AUDIT_WRITTEN

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
    postgres = session.get_bind().dialect.name == "postgresql"
    length, last_hash = _lock_chain_head(session, chain_key, postgres=postgres)
    fields: dict[str, Any] = {
        "event_id": new_id("evt"),
        "chain_key": chain_key,
        "chain_index": length + 1,
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
        "prev_hash": last_hash,
    }
    fields["hash"] = event_hash(fields)
    connection = session.connection()
    if postgres:
        # One round trip: the event insert and the head update ride in one statement (a CTE).
        params = {f"e_{k}": v for k, v in fields.items()}
        params.update(key=chain_key, head_length=length + 1, head_hash=fields["hash"])
        seq = connection.execute(_INSERT_EVENT_MOVE_HEAD, params).scalar_one()
    else:
        seq = connection.execute(_INSERT_EVENT, fields).scalar_one()
        connection.execute(
            _UPDATE_HEAD, {"key": chain_key, "length": length + 1, "seq": seq, "hash": fields["hash"]}
        )
    if not session.info.get(AUDIT_WRITTEN):
        session.info[AUDIT_WRITTEN] = True
        if postgres:
            # Payload-free wake-up for other instances; PostgreSQL delivers it at COMMIT and
            # folds duplicates, so a busy transaction costs one tiny notification.
            session.execute(text(f"NOTIFY {FEED_CHANNEL}"))
    # The event as the hooks see it, built without the ORM's per-attribute instrumentation (it is
    # never added to the session: the row is already written).
    event: AuditEvent = _EVENT_MANAGER.new_instance()
    event.__dict__.update(fields, seq=seq)
    for hook in session.info.get(AUDIT_HOOKS, ()):
        hook(session, event)
    return event


def _table(model: type[Base]) -> Table:
    # Declarative types __table__ as any FromClause; these models are mapped to plain tables.
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Prebuilt table-level statements: this runs inside every audited change, and building ORM
# statements with 21 literal values each time cost more than the SQL itself.
_EVENTS = _table(AuditEvent)
_HEADS = _table(AuditChainHead)
_INSERT_EVENT = _EVENTS.insert().returning(_EVENTS.c.seq)
_UPDATE_HEAD = (
    _HEADS.update()
    .where(_HEADS.c.chain_key == bindparam("key"))
    .values(length=bindparam("length"), last_seq=bindparam("seq"), last_hash=bindparam("hash"))
)
# PostgreSQL: the event insert as a CTE whose seq the head update takes, in one round trip.
_inserted = (
    _EVENTS.insert()
    .values({c.name: bindparam(f"e_{c.name}", type_=c.type) for c in _EVENTS.c if c.name != "seq"})
    .returning(_EVENTS.c.seq)
    .cte("inserted")
)
_INSERT_EVENT_MOVE_HEAD = (
    _HEADS.update()
    .add_cte(_inserted)
    .where(_HEADS.c.chain_key == bindparam("key"))
    .values(
        length=bindparam("head_length"),
        last_seq=select(_inserted.c.seq).scalar_subquery(),
        last_hash=bindparam("head_hash"),
    )
    .returning(_HEADS.c.last_seq)
)
_EVENT_MANAGER = instrumentation.manager_of_class(AuditEvent)
_SELECT_HEAD = select(_HEADS.c.length, _HEADS.c.last_hash).where(_HEADS.c.chain_key == bindparam("key"))
_INSERT_HEAD = _HEADS.insert().values(
    chain_key=bindparam("key"), length=0, last_seq=0, last_hash=GENESIS_HASH
)
# PostgreSQL: one round trip creates the head on first use and, either way, takes the row lock
# that serialises writers of this chain until they commit.
_pg_upsert = pg_insert(_HEADS).values(
    chain_key=bindparam("key"), length=0, last_seq=0, last_hash=GENESIS_HASH
)
_UPSERT_HEAD = _pg_upsert.on_conflict_do_update(
    index_elements=["chain_key"], set_={"chain_key": _pg_upsert.excluded.chain_key}
).returning(_HEADS.c.length, _HEADS.c.last_hash)


def _lock_chain_head(session: Session, chain_key: str, *, postgres: bool) -> tuple[int, str]:
    """Length and last hash of the chain, with its head row locked until commit."""
    connection = session.connection()
    if postgres:
        locked = connection.execute(_UPSERT_HEAD, {"key": chain_key}).one()
        return locked.length, locked.last_hash
    # SQLite: BEGIN IMMEDIATE already serialises writers.
    row = connection.execute(_SELECT_HEAD, {"key": chain_key}).first()
    if row is None:
        connection.execute(_INSERT_HEAD, {"key": chain_key})
        return 0, GENESIS_HASH
    return row.length, row.last_hash


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


# Below this many events one process is quicker than starting workers.
PARALLEL_FROM = 150_000


def verify_chains(session: Session, *, account_id: str | None = None, workers: int = 1) -> VerifyReport:
    """Recompute every hash and link; report the first broken event of each chain.

    With `workers` > 1 (the CLI passes the CPU count) a large trail is split by chain across
    processes, each reading its own chains over its own connection; the report is the same."""
    if workers > 1 and account_id is None:
        parallel = _verify_parallel(session, workers)
        if parallel is not None:
            return parallel
    return _verify(session, account_id=account_id, chain_keys=None)


def _verify(session: Session, *, account_id: str | None, chain_keys: list[str] | None) -> VerifyReport:
    where: ColumnElement[bool]
    if chain_keys is not None:
        where = AuditChainHead.chain_key.in_(chain_keys)
    else:
        where = AuditChainHead.chain_key == account_id if account_id else true()
    heads = {h.chain_key: h for h in session.scalars(select(AuditChainHead).where(where))}
    problems: list[ChainProblem] = []
    seen: dict[str, tuple[int, str, int]] = {}  # chain -> (length, last hash, last seq)
    broken: set[str] = set()
    events = 0
    for row in _raw_rows(session, account_id, chain_keys):
        events += 1
        seq, key, index, prev, stored_hash = row[0], row[2], row[3], row[18], row[21]
        if key in broken:
            continue
        length, last, last_seq = seen.get(key, (0, GENESIS_HASH, 0))
        reason = None
        if index != length + 1:
            reason = f"expected position {length + 1}, found {index} (missing or reordered event)"
        elif seq <= last_seq:
            reason = f"sequence {seq} is not after {last_seq} (events were reordered)"
        elif prev != last:
            reason = "does not link to the previous event (an event was removed or reordered)"
        elif _row_hash(row) != stored_hash:
            reason = "content does not match its hash (the event was edited)"
        if reason:
            problems.append(ChainProblem(key, seq, index, reason))
            broken.add(key)
            continue
        seen[key] = (length + 1, stored_hash, seq)
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


# Raw rows, read without ORM type processing: verification is a hot loop over millions of events.
# Column order: seq, then HASHED_SCALARS, then before and after as their stored text, then hash.
_RAW_SELECT = (
    "SELECT seq, " + ", ".join(HASHED_SCALARS) + ", CAST(before AS TEXT), CAST(after AS TEXT), hash "
    # (chain_key, chain_index) is a unique index: rows come in chain order without a sort.
    "FROM audit_events {where} ORDER BY chain_key, chain_index"
)
_OCCURRED = 1 + HASHED_SCALARS.index("occurred_at")


def _raw_rows(
    session: Session, account_id: str | None, chain_keys: list[str] | None = None
) -> Iterator[tuple[Any, ...]]:
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    where = ("WHERE chain_key = %(key)s" if postgres else "WHERE chain_key = :key") if account_id else ""
    params: dict[str, Any] = {"key": account_id} if account_id else {}
    if chain_keys is not None:
        names = [f"k{i}" for i in range(len(chain_keys))]
        marks = ", ".join(f"%({n})s" if postgres else f":{n}" for n in names)
        where = f"WHERE chain_key IN ({marks})"
        params = dict(zip(names, chain_keys, strict=True))
    if not postgres:
        # SQLite: the DBAPI cursor itself; SQLAlchemy's Row wrapping cost ~15% of the fetch.
        cursor = connection.connection.cursor()
        try:
            cursor.arraysize = 10_000
            cursor.execute(_RAW_SELECT.format(where=where), params)
            while rows := cursor.fetchmany():
                yield from rows
        finally:
            cursor.close()
        return
    result = connection.execution_options(stream_results=True).exec_driver_sql(
        _RAW_SELECT.format(where=where), params
    )
    for partition in result.partitions(10_000):
        yield from partition


def _verify_parallel(session: Session, workers: int) -> VerifyReport | None:
    """Split the chains into `workers` groups of about equal size and verify them in processes."""
    lengths = dict(session.execute(select(AuditChainHead.chain_key, AuditChainHead.length)).all())
    if sum(lengths.values()) < PARALLEL_FROM or len(lengths) < 2:
        return None
    # Chains with events but no head row would escape a split by heads: verify them too.
    keys = set(lengths) | set(
        session.scalars(
            select(AuditEvent.chain_key)
            .distinct()
            .where(AuditEvent.chain_key.not_in(select(AuditChainHead.chain_key)))
        )
    )
    groups: list[list[str]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for key in sorted(keys, key=lambda k: -lengths.get(k, 0)):
        i = sizes.index(min(sizes))
        groups[i].append(key)
        sizes[i] += lengths.get(key, 0) or 1
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: the workers start in milliseconds and need nothing from the parent but the URL.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = list(pool.map(_verify_group, [url] * workers, [g for g in groups if g]))
    problems = sorted((p for r in parts for p in r.problems), key=lambda p: p.chain_key)
    return VerifyReport(
        chains=sum(r.chains for r in parts), events=sum(r.events for r in parts), problems=problems
    )


def _verify_group(url: str, chain_keys: list[str]) -> VerifyReport:
    from services.db.database import Database, make_engine

    db = Database(make_engine(url))
    try:
        with db.read() as session:
            return _verify(session, account_id=None, chain_keys=chain_keys)
    finally:
        db.dispose()


def _row_hash(row: tuple[Any, ...]) -> str:
    scalars = list(row[1 : 1 + len(HASHED_SCALARS)])
    occurred = scalars[_OCCURRED - 1]
    # PostgreSQL hands back a datetime; SQLite the text SQLAlchemy stored ("YYYY-MM-DD HH:MM:SS.ffffff", UTC).
    scalars[_OCCURRED - 1] = (
        format_utc(occurred) if isinstance(occurred, datetime) else occurred.replace(" ", "T") + "Z"
    )
    before, after = row[-3], row[-2]
    return hash_parts(
        scalars, before if before is not None else "null", after if after is not None else "null"
    )

"""`portal db copy`: move an embedded database (and its blobs) to PostgreSQL and an object store.

A practice that outgrows one desktop copies its SQLite file into an empty PostgreSQL database: every
table in foreign-key order, in batches, through the same column types the service uses (aware UTC
datetimes, canonical JSON, so the audit hashes still match the stored text); then the identity
sequences are moved past the copied ids, and the blobs (claim photos, renditions, case attachments)
are streamed to the target store with their SHA-256 checked on read. Nothing is deleted from the
source. The caller checks the audit trail on the target afterwards (same chain heads, checkpoints).

Threading rule: runs on the calling thread; it owns both engines for its duration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text

from services.blobs import BlobStore

BATCH_ROWS = 5000


class CopyRefused(Exception):
    """The copy cannot start (a non-empty target, the same database twice); nothing was written."""


@dataclass
class TableCount:
    name: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass
class CopyReport:
    tables: list[TableCount] = field(default_factory=list)
    blobs: list[TableCount] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0

    @property
    def mismatched(self) -> list[TableCount]:
        return [t for t in (*self.tables, *self.blobs) if not t.matches]


Progress = Callable[[str], None]


def blob_namespaces() -> tuple[str, ...]:
    """Every namespace the service keeps blobs in."""
    from services.cases.service import ATTACHMENTS
    from services.claims.photos import ORIGINALS, RENDITIONS

    return (ORIGINALS, RENDITIONS, ATTACHMENTS)


def _tables(metadata: MetaData, engine: Engine) -> list[Table]:
    """The service's tables in foreign-key order, plus any other table the source holds."""
    known = list(metadata.sorted_tables)
    names = {t.name for t in known}
    extra = MetaData()
    others = [n for n in inspect(engine).get_table_names() if n not in names and n != "alembic_version"]
    if others:
        extra.reflect(engine, only=others)
    return known + [extra.tables[n] for n in others]


def non_empty_tables(engine: Engine) -> list[str]:
    """Tables of `engine`'s database that hold rows (alembic's bookkeeping aside)."""
    found = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            if name == "alembic_version":
                continue
            quoted = conn.dialect.identifier_preparer.quote(name)
            if conn.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first() is not None:
                found.append(name)
    return found


def copy_database(
    source: Engine,
    target: Engine,
    *,
    source_blobs: BlobStore | None = None,
    target_blobs: BlobStore | None = None,
    progress: Progress = lambda _: None,
) -> CopyReport:
    """Copy every row (and blob) from `source` to an empty, migrated `target`; returns the counts."""
    from services.db.models_registry import metadata

    started = time.perf_counter()
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    busy = non_empty_tables(target)
    if busy:
        raise CopyRefused(
            "the target database is not empty (rows in "
            + ", ".join(sorted(busy)[:8])
            + (", ..." if len(busy) > 8 else "")
            + "); copy only into a new, empty database"
        )
    report = CopyReport()
    tables = _tables(metadata, source)
    # One transaction: a failure halfway leaves the target as empty as it was.
    with source.connect() as src, target.begin() as dst:
        for table in tables:
            copied = 0
            for batch in _batches(src, table):
                dst.execute(table.insert(), batch)
                copied += len(batch)
            report.rows += copied
            if copied:
                progress(f"  {table.name}: {copied} rows")
        if target.dialect.name == "postgresql":
            _advance_sequences(dst, tables)
    with source.connect() as src, target.connect() as dst:
        for table in tables:
            report.tables.append(TableCount(table.name, _count(src, table), _count(dst, table)))
    if source_blobs is not None and target_blobs is not None:
        report.blobs = copy_blobs(source_blobs, target_blobs, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def _batches(conn: Any, table: Table) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        select(table).order_by(*order)
    )
    for part in result.mappings().partitions(BATCH_ROWS):
        yield [dict(row) for row in part]


def _count(conn: Any, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _advance_sequences(conn: Any, tables: list[Table]) -> None:
    """Move each serial/identity sequence past the ids copied in, so new rows do not collide."""
    for table in tables:
        for column in table.primary_key.columns:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if seq is None:
                continue
            top = conn.execute(select(func.max(column))).scalar()
            if top is not None:
                conn.execute(text("SELECT setval(:s, :v, true)"), {"s": seq, "v": int(top)})


def copy_blobs(
    source: BlobStore, target: BlobStore, *, progress: Progress = lambda _: None
) -> list[TableCount]:
    """Stream every blob (checked against its SHA-256 as it is read) and every link to `target`;
    returns, per namespace, how many blobs the source has and how many of those the target has."""
    namespaces = blob_namespaces()
    written = source.copy_to(target, namespaces)
    progress(f"  blobs: {written} written to {target.describe()}")
    counts = []
    for namespace in namespaces:
        keys = list(source.keys(namespace))
        present = sum(1 for sha256 in keys if target.exists(namespace, sha256))
        counts.append(TableCount(f"blobs:{namespace}", len(keys), present))
    return counts

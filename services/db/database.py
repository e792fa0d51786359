"""Engine, sessions and the unit of work. Built by bootstrap; nothing here runs at import time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from services.audit.chain import canonical_json

# Session.info key set by anything that wrote audit events; read after commit to wake the feed.
AUDIT_WRITTEN = "portal.audit_written"
# Session.info key holding the hooks run for each audit event inside its transaction.
AUDIT_HOOKS = "portal.audit_hooks"
AuditHook = Callable[[Session, Any], None]


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=canonical_json,
        )
        _configure_sqlite(engine)
        return engine
    # JSON is stored in canonical form: the audit verifier hashes the stored text as it is.
    return create_engine(
        url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=canonical_json
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions defer the write
        # lock, which turns concurrent writers into "database is locked" errors mid-transaction).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front so two writers queue instead of deadlocking.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Owns the engine and hands out units of work. Safe to share across threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Hooks run inside the transaction of every audit event (see add_audit_hook); the list is
        # shared by reference with each session's info, so hooks added later still apply.
        self._audit_hooks: list[AuditHook] = []
        self._writes = sessionmaker(
            bind=engine.execution_options(sqlite_immediate=True),
            expire_on_commit=False,
            info={AUDIT_HOOKS: self._audit_hooks},
        )
        self._reads = sessionmaker(bind=engine, expire_on_commit=False, info={AUDIT_HOOKS: self._audit_hooks})
        self._after_audit_commit: list[Callable[[], None]] = []
        # SQLite has one writer at a time, and a connection that finds the write lock taken sleeps
        # in SQLite's busy handler (1, 2, 5 ... 100 ms steps), wasting most of the wait when
        # threads write in turn. Writers of this process therefore queue on a lock of their own
        # first; other processes still rely on the busy timeout. PostgreSQL needs none (row locks).
        self._writer_queue: threading.Lock | None = threading.Lock() if self.dialect == "sqlite" else None

    def add_flush_listener(self, listener: Callable[[Session, Any], None]) -> None:
        """Run `listener(session, flush_context)` after every flush of this database's sessions.

        Scoped to this Database (not every SQLAlchemy session in the process), so two instances
        or a test's own sessions never see each other's listeners."""
        for factory in (self._writes, self._reads):
            event.listen(factory, "after_flush", listener)

    def add_audit_hook(self, hook: AuditHook) -> None:
        """Run `hook(session, event)` for every audit event, in the transaction that writes it.

        This is how consequences of a change (notices in an outbox, say) are written atomically
        with the change itself, without every domain having to know about them."""
        self._audit_hooks.append(hook)

    def on_audit_commit(self, callback: Callable[[], None]) -> None:
        """Register a callback run after any transaction that wrote audit events commits."""
        self._after_audit_commit.append(callback)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back everything on any exception."""
        if self._writer_queue is None:
            with self._transaction() as session:
                yield session
            return
        with self._writer_queue, self._transaction() as session:
            yield session

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        session = self._writes()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            wrote_audit = session.info.pop(AUDIT_WRITTEN, False)
            session.close()
        if wrote_audit:
            for callback in self._after_audit_commit:
                callback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session. Objects stay readable after it closes (close() does not expire
        them, unlike rollback()); anything pending is discarded with the connection."""
        session = self._reads()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()

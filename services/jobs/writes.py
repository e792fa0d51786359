"""Write transactions that queue politely on SQLite.

SQLite has one writer at a time; a thread that finds the write lock taken sleeps in SQLite's
busy handler (1, 2, 5 ... 100 ms steps), which wastes most of the time when several job
threads write in turn. Threads of one process therefore queue on a lock of their own first;
other processes still rely on the busy timeout. PostgreSQL needs none of this (row locks).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from services.db.database import Database

_locks: weakref.WeakKeyDictionary[Database, threading.Lock] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def _lock_for(db: Database) -> threading.Lock:
    with _guard:
        lock = _locks.get(db)
        if lock is None:
            lock = _locks[db] = threading.Lock()
        return lock


@contextmanager
def write(db: Database) -> Iterator[Session]:
    """`db.write()`, queued on an in-process lock when the database is SQLite."""
    if db.dialect != "sqlite":
        with db.write() as session:
            yield session
        return
    with _lock_for(db), db.write() as session:
        yield session

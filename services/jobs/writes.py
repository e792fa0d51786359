"""Write transactions for the job runner: the one write path, `Database.write()`.

Kept as a name the job code imports; the SQLite writer queue it once added now lives in
`Database.write()` itself, so API threads and job threads queue on the same lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from services.db.database import Database


@contextmanager
def write(db: Database) -> Iterator[Session]:
    """`db.write()`: one transaction, queued behind this process's other SQLite writers."""
    with db.write() as session:
        yield session

"""Start-up steps shared by `portal serve`, the embedded launcher and tests."""

from __future__ import annotations

from sqlalchemy import Engine

from services.bootstrap import Container
from services.db.migrate import upgrade
from services.demo import seed_demo
from services.search.service import ensure_index


def migrate(engine: Engine) -> None:
    """Bring the schema to every head, then fill what a new table needs from existing data."""
    upgrade(engine)
    with engine.begin() as conn:
        ensure_index(conn)


def prepare(container: Container, *, seed: bool = False) -> bool:
    """Migrate the schema; optionally seed the demo world. Returns True when it seeded."""
    migrate(container.db.engine)
    if not seed:
        return False
    with container.db.write() as session:
        return seed_demo(session, container.clock)

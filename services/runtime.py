"""Start-up steps shared by `portal serve`, the embedded launcher and tests."""

from __future__ import annotations

from services.bootstrap import Container
from services.db.migrate import upgrade
from services.demo import seed_demo


def prepare(container: Container, *, seed: bool = False) -> bool:
    """Migrate the schema; optionally seed the demo world. Returns True when it seeded."""
    upgrade(container.db.engine)
    if not seed:
        return False
    with container.db.write() as session:
        return seed_demo(session, container.clock)

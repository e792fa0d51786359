"""The sender on its own: `python -m services.notifications.main [--once]`.

The job runner (`portal jobs`) also sends notices; this entry point runs only the notifications
part (a dedicated sender process), which is what the crash tests kill."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from services.clock import SystemClock
from services.config import ServiceSettings
from services.db import models_registry  # noqa: F401  (every table known to the ORM)
from services.db.database import Database, make_engine
from services.notifications.runtime import NotificationsRuntime


def main(argv: Sequence[str] | None = None, *, fault: Callable[[str], None] | None = None) -> int:
    """Run the sender; `fault` is called at each step of the protocol (the crash tests pass one)."""
    parser = argparse.ArgumentParser(prog="portal-notify", description="send due notifications")
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between passes")
    parser.add_argument(
        "--lease", type=float, default=120.0, help="seconds before a dead sender's work is taken over"
    )
    parser.add_argument(
        "--no-sweep", action="store_true", help="only send; leave date-based notices to another process"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Only what sending needs (not the whole service): a sender starts in well under a second.
    # The schema is the service's to migrate (`portal db upgrade`, or the service's start).
    settings = ServiceSettings.load()
    db = Database(make_engine(settings.database_url))
    rt = NotificationsRuntime(settings, SystemClock(), db)
    sender = rt.sender(lease_seconds=args.lease, fault=fault)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while True:
            if not args.no_sweep:
                rt.sweep()
            stats = sender.run_once()
            if args.once:
                counts = (stats.sent, stats.failed, stats.retried, stats.recovered)
                print("sent {}, failed {}, retried {}, recovered {}".format(*counts))
                return 0
            if stop.wait(args.poll):
                return 0
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())

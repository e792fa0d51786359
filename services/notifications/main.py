"""The sender on its own: `python -m services.notifications.main [--once]`.

The job runner (`portal jobs`) also sends notices; this entry point runs only the notifications
part, which is what the crash tests kill."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from services.bootstrap import build
from services.config import ServiceSettings
from services.db.migrate import upgrade
from services.notifications.sender import fault_from_env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal-notify", description="send due notifications")
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between passes")
    parser.add_argument(
        "--lease", type=float, default=120.0, help="seconds before a dead sender's work is taken over"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    container = build(ServiceSettings.load())
    upgrade(container.db.engine)
    rt = container.extras["notifications"]
    sender = rt.sender(lease_seconds=args.lease, fault=fault_from_env())  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while True:
            rt.sweep()  # type: ignore[attr-defined]
            stats = sender.run_once()
            if args.once:
                counts = (stats.sent, stats.failed, stats.retried, stats.recovered)
                print("sent {}, failed {}, retried {}, recovered {}".format(*counts))
                return 0
            if stop.wait(args.poll):
                return 0
    finally:
        container.db.dispose()


if __name__ == "__main__":
    sys.exit(main())

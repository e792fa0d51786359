"""The notification sender with a kill switch, for the crash tests only:
`python -m tests.notifications_fault POINT:N [sender args]` SIGKILLs the sender the N-th time
it reaches step POINT of the delivery protocol. The hook is injected here, so production code
carries no test switch."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

from services.notifications.main import main


def kill_at(point: str, nth: int) -> Callable[[str], None]:
    """A fault hook that SIGKILLs this process the `nth` time the sender reaches `point`."""
    seen = 0

    def fault(where: str) -> None:
        nonlocal seen
        if where == point:
            seen += 1
            if seen >= nth:
                os.kill(os.getpid(), signal.SIGKILL)

    return fault


if __name__ == "__main__":
    point, _, nth = sys.argv[1].partition(":")
    sys.exit(main(sys.argv[2:], fault=kill_at(point, int(nth or "1"))))

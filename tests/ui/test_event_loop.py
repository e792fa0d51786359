"""The app's asyncio loop: every callback qasync runs sees a running loop (issue 14, sign-out).

Run in a child process: a process has one QApplication, and this test needs its own loop to run
and finish, which the session-wide loop of tests/ui must never do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A chain of callbacks that keeps re-scheduling itself while the app finishes, as a cancelled
# httpx request unwinding does; each asks anyio for its backend the way httpcore does when it
# closes a pooled connection.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    import anyio, qasync
    from PySide6.QtWidgets import QApplication
    from ui.event_loop import run_app

    app = QApplication([])
    outcomes = []

    def ping(n):
        try:
            anyio.current_time()
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        if n < 200:
            asyncio.get_event_loop().call_soon(ping, n + 1)

    async def main():
        asyncio.get_running_loop().call_soon(ping, 0)
        await asyncio.sleep(0)
        return 0

    if sys.argv[1] == "qasync":
        qasync.run(main())
    else:
        run_app(main(), app)
    print(sorted(set(outcomes)), len(outcomes))
    """
)


def run_script(which: str) -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, which], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_plain_qasync_runs_callbacks_with_no_running_loop() -> None:
    # The cause, pinned: if qasync ever fixes it, PortalEventLoop can go.
    outcome = run_script("qasync")
    if "NoEventLoopError" not in outcome:
        pytest.skip(f"this qasync no longer drains events without a running loop: {outcome}")


def test_portal_loop_keeps_anyio_on_its_backend_until_the_end() -> None:
    outcome = run_script("portal")
    assert outcome.startswith("['ok']"), outcome

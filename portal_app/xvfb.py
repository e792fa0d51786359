"""A private Xvfb for on-screen runs without a display (journey tests, the screenshot driver).

Xvfb picks a free display itself (`-displayfd`: no guessed numbers, no clash with anyone else's
server) and runs under a tiny shell that holds our end of a pipe and kills Xvfb when the pipe
closes. Qt keeps its display connection until the process ends and ends the process if the
display goes first ("The X11 connection broke"), so the caller keeps the pipe open until exit:
`keep_until_exit` leaves a duplicate that only the kernel closes, when the process has exited.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from pathlib import Path

KEEPER = 'Xvfb "$@" & x=$!; trap "kill $x 2>/dev/null" EXIT; cat >/dev/null'


class XvfbError(RuntimeError):
    """Xvfb is not installed or did not start."""


def start_xvfb(width: int, height: int, timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb with one screen of width x height; returns (its keeper process, ":N")."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise XvfbError("Xvfb is missing: run scripts/ensure-system-deps.sh (make test/screenshots do)")
    read_end, write_end = os.pipe()
    screen = f"{width}x{height}x24"
    proc = subprocess.Popen(
        ["sh", "-c", KEEPER, "sh", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{Path(xvfb).parent}:{os.environ.get('PATH', '')}"},
    )
    os.close(write_end)
    number = b""
    try:
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], timeout)
            chunk = os.read(read_end, 16) if ready else b""
            if not chunk:
                stop_xvfb(proc)
                raise XvfbError("Xvfb did not start")
            number += chunk
    finally:
        os.close(read_end)
    return proc, f":{int(number.strip())}"


def keep_until_exit(proc: subprocess.Popen[bytes]) -> None:
    """Keep Xvfb up until this process exits (after Qt has let go of the display)."""
    assert proc.stdin is not None
    os.dup(proc.stdin.fileno())


def stop_xvfb(proc: subprocess.Popen[bytes]) -> None:
    """Close the keeper's pipe now: it kills Xvfb and exits."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

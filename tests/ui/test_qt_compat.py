"""The None reference-count guard for PySide6 6.12.0 on CPython 3.11 (ui/qt_compat.py).

Each case runs in a fresh interpreter: the defect only shows before the guard is applied, and
this test process applied it long ago (tests/ui/conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ui.qt_compat import guard_needed

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from ui.qt_compat import guard_singleton_refcounts
    if sys.argv[1] == "guard":
        guard_singleton_refcounts()
    from PySide6.QtWidgets import QApplication, QWidget
    app = QApplication([])
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.setEnabled(True)  # a C++ method returning void
    print("dropped", before - sys.getrefcount(None), flush=True)
    for _ in range(int(sys.argv[2])):
        widget.setEnabled(True)
    print("survived", flush=True)
    """
)


def probe(mode: str, calls: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(calls)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.skipif(not guard_needed(), reason="this binding/interpreter does not over-release None")
def test_void_calls_over_release_none_and_the_guard_keeps_the_process_alive() -> None:
    # Given the installed PySide6 6.12.0 on CPython 3.11, without the guard
    bare = probe("bare", 200_000)
    # Then every void call lowers None's reference count by one, and the process aborts
    assert "dropped 1000" in bare.stdout, bare.stdout + bare.stderr
    assert "survived" not in bare.stdout
    assert bare.returncode != 0 and "none_dealloc" in bare.stderr
    # When the guard is applied first, the same calls still lower the count but never reach zero
    guarded = probe("guard", 200_000)
    assert "dropped 1000" in guarded.stdout, guarded.stdout + guarded.stderr
    assert "survived" in guarded.stdout and guarded.returncode == 0, guarded.stderr

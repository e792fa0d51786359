"""A guard for a defect in the Qt binding: call `guard_singleton_refcounts()` before using Qt.

PySide6 6.12.0 on CPython 3.11 drops a reference to None on every call of a C++ method that
returns void (setText, setVisible, setEnabled, update, ...) without ever taking one. On Python
3.12+ None is immortal (PEP 683) and nothing happens; on 3.11 None's count reaches zero after
some thousands of calls and the interpreter aborts with "Fatal Python error: none_dealloc"
(measured: -1000 per 1000 calls of QWidget.setEnabled; a plain show/hide loop dies at exit).
A desktop app makes that many calls within minutes, so we give the singletons the huge count
3.12 gives immortal objects. They are never freed anyway, so this changes nothing else.
"""

from __future__ import annotations

import ctypes
import sys

# As on 3.12, where immortal objects start near 2**62: far beyond any real number of calls.
_HEADROOM = 1 << 60
# The bindings known to over-release None (pyproject pins this version exactly). A newer binding
# must be re-checked with tests/ui/test_qt_compat.py before it is added here or the guard dropped.
AFFECTED_PYSIDE = frozenset({"6.12.0"})
_guarded = False


def guard_needed() -> bool:
    """True when the installed binding and interpreter have the defect (PySide6 6.12.0, CPython < 3.12)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    import PySide6  # the app imports it anyway; cheaper than reading package metadata

    return PySide6.__version__ in AFFECTED_PYSIDE


def guard_singleton_refcounts() -> bool:
    """Make None, True and False effectively immortal where the defect exists; True if applied."""
    global _guarded
    if _guarded or not guard_needed():
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every PyObject in release builds of CPython.
        refcount = ctypes.c_ssize_t.from_address(id(obj))
        if refcount.value < _HEADROOM:
            refcount.value += _HEADROOM
    _guarded = True
    return True


_gc_timer = None


def collect_garbage_on_gui_thread(app: object, interval_ms: int = 500) -> None:
    """Run Python's cyclic garbage collector only on the GUI thread.

    Only for processes that host a service in threads next to Qt: the UI and journey test
    fixtures (portal_app/embedded.py's EmbeddedService). `portal run` does not need it: its
    service is a child process. Left automatic, the collector runs in whichever thread allocates
    at the wrong moment and may free Qt wrappers there, which crashes (seen: a segfault
    "Garbage-collecting" inside a service worker during a UI test). So automatic collection is
    switched off and a GUI-thread timer collects instead, with the same thresholds.
    """
    global _gc_timer
    import gc

    from PySide6.QtCore import QTimer

    if _gc_timer is not None:
        return
    threshold = gc.get_threshold()[0]
    gc.disable()

    def collect() -> None:
        if gc.get_count()[0] >= threshold:
            gc.collect(0)
        if gc.get_count()[1] >= 10:
            gc.collect()

    _gc_timer = QTimer(app)  # type: ignore[arg-type]
    _gc_timer.setInterval(interval_ms)
    _gc_timer.timeout.connect(collect)
    _gc_timer.start()

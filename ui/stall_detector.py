"""A GUI-thread stall detector: a heartbeat timer that measures how late it fires.

The Qt thread paints only between callbacks, so the time a heartbeat timer fires late is the
time nothing could be painted. Used by bench/startup.py (figures) and tests/ui/test_stalls.py
(behaviour). Not part of a normal run: it costs a timer tick every few milliseconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QTimer


@dataclass
class Stall:
    """One late heartbeat: when it should have fired (monotonic seconds) and how late it was."""

    at: float
    late_ms: float
    label: str


@dataclass
class StallReport:
    longest_ms: float = 0.0
    longest_label: str = ""
    beats: int = 0
    stalls: list[Stall] = field(default_factory=list)
    longest_by_label: dict[str, float] = field(default_factory=dict)


class StallDetector(QObject):
    """Heartbeat every `interval_ms`; a beat later than `threshold_ms` is recorded as a stall.

    Threading/async rule: create, start and read it on the GUI thread only. `mark(label)` names
    what the app is doing, so a report says which step stalled.
    """

    def __init__(
        self, interval_ms: int = 10, threshold_ms: float = 100.0, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.threshold_ms = threshold_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._last = 0.0
        self._label = ""
        self.report = StallReport()

    def start(self, label: str = "") -> None:
        self.report = StallReport()
        self._label = label
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> StallReport:
        self._beat()
        self._timer.stop()
        return self.report

    def mark(self, label: str) -> None:
        """Name the step that follows; a stall is reported under the step it happened in."""
        self._beat()
        self._label = label

    def _beat(self) -> None:
        if not self._timer.isActive():
            return
        now = time.monotonic()
        late_ms = (now - self._last) * 1000 - self.interval_ms
        self._last = now
        report = self.report
        report.beats += 1
        if late_ms > report.longest_by_label.get(self._label, 0.0):
            report.longest_by_label[self._label] = late_ms
        if late_ms > report.longest_ms:
            report.longest_ms = late_ms
            report.longest_label = self._label
        if late_ms > self.threshold_ms:
            report.stalls.append(Stall(now - late_ms / 1000, late_ms, self._label))

"""The account's change log as a Qt item model: newest first, rows revealed lazily."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from portal_app.client import AuditEvent
from ui import wording

COLUMNS = ("When", "Who", "Channel", "What happened", "Outcome")
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


class ActivityTableModel(QAbstractTableModel):
    """Audit events, newest at the top.

    Threading/async rule: Qt thread only. Feed consumers (coroutines on the qasync loop, which is
    the Qt thread) call `add_events`; never call it from a worker thread.

    Years of history can mean many thousands of events: the view is only told about the newest
    `FETCH_BATCH` rows at first and asks for more as the user scrolls (canFetchMore/fetchMore).
    """

    FETCH_BATCH = 200

    def __init__(self) -> None:
        super().__init__()
        self._events: list[AuditEvent] = []  # ascending seq
        self._shown = 0  # how many of the newest events the view knows about
        self._seqs: set[int] = set()

    # --- feeding -------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._events[-1].seq if self._events else 0

    @property
    def total(self) -> int:
        return len(self._events)

    def add_events(self, events: list[AuditEvent]) -> int:
        """Add events (any order, duplicates ignored); new ones appear at the top at once."""
        fresh = sorted((e for e in events if e.seq not in self._seqs), key=lambda e: e.seq)
        if not fresh:
            return 0
        if self._events and fresh[0].seq < self._events[-1].seq:
            # Out-of-order arrival (should not happen with the feed): rebuild rather than misplace.
            self.beginResetModel()
            self._events = sorted(self._events + fresh, key=lambda e: e.seq)
            self._seqs.update(e.seq for e in fresh)
            self._shown = min(len(self._events), max(self._shown + len(fresh), self.FETCH_BATCH))
            self.endResetModel()
            return len(fresh)
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._events.extend(fresh)
        self._seqs.update(e.seq for e in fresh)
        self._shown += len(fresh)
        self.endInsertRows()
        return len(fresh)

    def clear(self) -> None:
        self.beginResetModel()
        self._events.clear()
        self._seqs.clear()
        self._shown = 0
        self.endResetModel()

    def event_at(self, row: int) -> AuditEvent:
        return self._events[len(self._events) - 1 - row]

    # --- lazy fetch ----------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._shown < len(self._events)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid():
            return
        extra = min(self.FETCH_BATCH, len(self._events) - self._shown)
        if extra <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + extra - 1)
        self._shown += extra
        self.endInsertRows()

    # --- model API -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self._shown:
            return None
        event = self.event_at(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return wording.local_time(event.occurred_at)
            if col == 1:
                return wording.who(event)
            if col == 2:
                return wording.channel(event)
            if col == 3:
                return wording.what_happened(event)
            return wording.outcome(event)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"Event #{event.seq}: {event.action}"]
            if event.on_behalf_of:
                parts.append("Acting for the customer")
            if event.request_id:
                parts.append(f"Request {event.request_id}")
            if event.client_address:
                parts.append(f"From {event.client_address}")
            if event.occurred_at is not None:
                parts.append(f"Recorded {event.occurred_at.isoformat()} (UTC)")
            return "\n".join(parts)
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            if event.outcome == "failure":
                return QColor("#A8231B")
            if event.outcome == "denied":
                return QColor("#7D4C00")
            return QColor("#1B6E30")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        if role == EVENT_ROLE:
            return event
        return None

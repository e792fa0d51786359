"""The live change-log panel beside an open account: newest first, fresh events highlighted."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AuditEvent, LiveState
from ui import theme, wording
from ui.widgets import EmptyState, label

Index = QModelIndex | QPersistentModelIndex
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
FRESH_ROLE = Qt.ItemDataRole.UserRole + 2
HIGHLIGHT_SECONDS = 8.0
MAX_ROWS = 2000  # the panel is for what is happening now; the Activity page keeps the full log

LIVE_TEXT = {
    LiveState.CONNECTING.value: "● Connecting",
    LiveState.LIVE.value: "● Live",
    LiveState.RECONNECTING.value: "● Reconnecting",
    LiveState.OFFLINE.value: "● Offline",
}


class ChangeLogModel(QAbstractListModel):
    """Audit events newest first; events that arrive live stay highlighted for a few seconds.

    Threading/async rule: Qt thread only (feed coroutines run on the qasync loop, which is the
    Qt thread); `add_events` is the one way in.
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._events: list[AuditEvent] = []  # newest first
        self._seqs: set[int] = set()
        self._fresh_until: dict[int, float] = {}
        self._clock = clock
        self._fade = QTimer(self)
        self._fade.setInterval(500)
        self._fade.timeout.connect(self._expire)

    def add_events(self, events: list[AuditEvent], *, highlight: bool) -> int:
        """Insert events not seen yet at the top; `highlight` marks them as just happened."""
        fresh = sorted((e for e in events if e.seq not in self._seqs), key=lambda e: e.seq, reverse=True)
        if not fresh:
            return 0
        if self._events and fresh[-1].seq < self._events[0].seq:
            self.beginResetModel()  # older than what we show (a resume): rebuild in order
            self._events = sorted(self._events + fresh, key=lambda e: e.seq, reverse=True)[:MAX_ROWS]
            self._seqs = {e.seq for e in self._events}
            self.endResetModel()
        else:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._events[:0] = fresh
            self._seqs.update(e.seq for e in fresh)
            self.endInsertRows()
            if len(self._events) > MAX_ROWS:
                self.beginRemoveRows(QModelIndex(), MAX_ROWS, len(self._events) - 1)
                for e in self._events[MAX_ROWS:]:
                    self._seqs.discard(e.seq)
                del self._events[MAX_ROWS:]
                self.endRemoveRows()
        if highlight:
            until = self._clock() + HIGHLIGHT_SECONDS
            for e in fresh:
                self._fresh_until[e.seq] = until
            if not self._fade.isActive():
                self._fade.start()
        return len(fresh)

    def is_fresh(self, row: int) -> bool:
        seq = self._events[row].seq
        return self._fresh_until.get(seq, 0.0) > self._clock()

    def fresh_actions(self) -> list[str]:
        now = self._clock()
        return [e.action for e in self._events if self._fresh_until.get(e.seq, 0.0) > now]

    def event_at(self, row: int) -> AuditEvent:
        return self._events[row]

    @property
    def last_seq(self) -> int:
        return self._events[0].seq if self._events else 0

    def _expire(self) -> None:
        now = self._clock()
        expired = [seq for seq, until in self._fresh_until.items() if until <= now]
        if not expired:
            return
        for seq in expired:
            del self._fresh_until[seq]
        gone = set(expired)
        rows = [i for i, e in enumerate(self._events) if e.seq in gone]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), [FRESH_ROLE])
        if not self._fresh_until:
            self._fade.stop()

    # --- model API -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._events)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._events):
            return None
        event = self._events[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{wording.what_happened(event)}. {detail_line(event)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [f"Event #{event.seq}: {event.action}"]
            if event.on_behalf_of:
                parts.append("Done for the customer by staff")
            if event.occurred_at is not None:
                parts.append(f"Recorded {event.occurred_at.isoformat()} (UTC)")
            return "\n".join(parts)
        if role == EVENT_ROLE:
            return event
        if role == FRESH_ROLE:
            return self.is_fresh(index.row())
        return None


def detail_line(event: AuditEvent) -> str:
    """Who, through which channel, when: "Alex Morgan · Online portal · 14:02:11"."""
    who = wording.who(event)
    if event.on_behalf_of and event.actor_role not in ("policyholder", "system"):
        who += " for the customer"
    when = event.occurred_at.astimezone().strftime("%H:%M:%S") if event.occurred_at else ""
    return " · ".join(p for p in (who, wording.channel(event), when) if p)


class ChangeLogDelegate(QStyledItemDelegate):
    """Two lines per event; live arrivals get a warm highlight and a "New" marker."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(option.rect.width(), 58)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        event: AuditEvent = index.data(EVENT_ROLE)
        fresh = bool(index.data(FRESH_ROLE))
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if fresh:
            painter.fillRect(rect, QColor("#FFF3C4"))
            painter.fillRect(QRect(rect.left(), rect.top(), 4, rect.height()), QColor("#E0A100"))
        elif selected:
            painter.fillRect(rect, QColor("#EAF1FB"))
        painter.setPen(QPen(QColor("#E4E9F0")))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        inner = rect.adjusted(14, 8, -12, -8)
        title_font = QFont(option.font)
        title_font.setBold(True)
        title_font.setPointSizeF(max(option.font.pointSizeF(), 9.5))
        painter.setFont(title_font)
        badge_w = 0
        if fresh:
            badge_w = 44
            badge = QRect(inner.right() - badge_w + 4, inner.top(), badge_w - 4, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#E0A100"))
            painter.drawRoundedRect(badge, 9, 9)
            small = QFont(option.font)
            small.setBold(True)
            small.setPointSizeF(max(option.font.pointSizeF() - 1.5, 7.5))
            painter.setFont(small)
            painter.setPen(QColor("#FFFFFF"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "New")
            painter.setFont(title_font)
        outcome_color = {"failure": theme.DANGER, "denied": theme.WARNING}.get(event.outcome, theme.TEXT)
        painter.setPen(QColor(outcome_color))
        title_rect = QRect(inner.left(), inner.top(), inner.width() - badge_w, 20)
        title = wording.what_happened(event)
        if event.outcome in ("failure", "denied"):
            title += f" ({wording.outcome(event).lower()})"
        painter.drawText(
            title_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, title_rect.width()),
        )
        detail_font = QFont(option.font)
        detail_font.setPointSizeF(max(option.font.pointSizeF() - 1, 8))
        painter.setFont(detail_font)
        painter.setPen(QColor(theme.MUTED))
        detail_rect = QRect(inner.left(), inner.top() + 22, inner.width(), 18)
        painter.drawText(
            detail_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(
                detail_line(event), Qt.TextElideMode.ElideRight, detail_rect.width()
            ),
        )
        painter.restore()


class ChangeLogPanel(QWidget):
    """Heading with the live state, then the list (or an empty state until the first event).

    Threading/async rule: Qt thread only; the AccountTab feeds it from AccountView signals.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Change log")
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 12, 14, 12)
        box.setSpacing(8)
        head = QHBoxLayout()
        head.addWidget(label("Change log", name="PanelTitle"))
        head.addStretch(1)
        self.live = label(LIVE_TEXT[LiveState.CONNECTING.value], name="LiveDot")
        self.live.setProperty("state", LiveState.CONNECTING.value)
        head.addWidget(self.live)
        box.addLayout(head)
        box.addWidget(
            label(
                "Every change as it happens, from any channel: the customer's app, phone or branch.",
                name="PanelHint",
                wrap=True,
            )
        )
        self.model = ChangeLogModel()
        self.list = QListView()
        self.list.setObjectName("ChangeLog")
        self.list.setAccessibleName("Change log events")
        self.list.setModel(self.model)
        self.list.setItemDelegate(ChangeLogDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.empty = EmptyState(
            "activity", "No changes yet", "Changes to this account appear here the moment they are made."
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        box.addWidget(self.stack, 1)
        self.model.rowsInserted.connect(lambda *_: self.stack.setCurrentWidget(self.list))
        self.model.modelReset.connect(
            lambda: self.stack.setCurrentWidget(self.list if self.model.rowCount() else self.empty)
        )

    def add_events(self, events: list[AuditEvent], *, highlight: bool) -> None:
        self.model.add_events(events, highlight=highlight)
        if highlight:
            self.list.scrollToTop()

    def set_state(self, state: str) -> None:
        self.live.setText(LIVE_TEXT.get(state, state))
        self.live.setProperty("state", state)
        self.live.setAccessibleName(f"Live updates: {state}")
        theme.repolish(self.live)

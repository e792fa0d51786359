"""The live change-log panel beside an open account: newest first, notices grouped under the
event that sent them, fresh events highlighted."""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AuditEvent, LiveState
from ui import theme, wording
from ui.activity_model import EVENT_ROLE, GROUP_ROLE, EventGroup, GroupedEventsModel, delivery_line
from ui.formatting import zone_label
from ui.widgets import EmptyState, label

Index = QModelIndex | QPersistentModelIndex
FRESH_ROLE = Qt.ItemDataRole.UserRole + 2
HIGHLIGHT_SECONDS = 8.0

LIVE_TEXT = {
    LiveState.CONNECTING.value: "● Connecting",
    LiveState.LIVE.value: "● Live",
    LiveState.RECONNECTING.value: "● Reconnecting",
    LiveState.OFFLINE.value: "● Offline",
}


class ChangeLogModel(GroupedEventsModel):
    """Audit events newest first, notices grouped under their cause (shared with the Activity
    page); events that arrive live stay highlighted for a few seconds.

    Threading/async rule: Qt thread only (feed coroutines run on the qasync loop, which is the
    Qt thread); `add_events` is the one way in.
    """

    COLUMNS = ("Change",)

    def __init__(self, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._fresh_until: dict[int, float] = {}
        self._clock = clock
        self._fade = QTimer(self)
        self._fade.setInterval(500)
        self._fade.timeout.connect(self._expire)

    def add_events(self, events: list[AuditEvent], *, highlight: bool = False) -> list[AuditEvent]:
        """Insert events not seen yet; `highlight` marks them as just happened."""
        fresh = super().add_events(events)
        if highlight and fresh:
            until = self._clock() + HIGHLIGHT_SECONDS
            for e in fresh:
                self._fresh_until[e.seq] = until
            if not self._fade.isActive():
                self._fade.start()
        return fresh

    def is_fresh(self, row: int) -> bool:
        group = self.group_at(row)
        now = self._clock()
        return any(self._fresh_until.get(e.seq, 0.0) > now for e in (group.head, *group.deliveries))

    def fresh_actions(self) -> list[str]:
        now = self._clock()
        return [
            e.action
            for g in self._groups
            for e in (g.head, *g.deliveries)
            if self._fresh_until.get(e.seq, 0.0) > now
        ]

    def _expire(self) -> None:
        now = self._clock()
        expired = [seq for seq, until in self._fresh_until.items() if until <= now]
        if not expired:
            return
        for seq in expired:
            del self._fresh_until[seq]
        if self._shown:
            self.dataChanged.emit(self.index(0, 0), self.index(self._shown - 1, 0), [FRESH_ROLE])
        if not self._fresh_until:
            self._fade.stop()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        found = self.locate(index)
        if found is None:
            return None
        group, delivery = found
        event = delivery or group.head
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if delivery is not None:
                return delivery_line(delivery)
            summary = group.notices_summary()
            return f"{group.title()}. {detail_line(event, self.zone)}" + (f". {summary}" if summary else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [
                delivery_line(delivery) if delivery else group.title(),
                f"Event #{event.seq}: {event.action}",
            ]
            if event.on_behalf_of:
                parts.append("Done for the customer by staff")
            if event.occurred_at is not None:
                parts.append(f"Recorded {event.occurred_at.isoformat()} (UTC)")
            return "\n".join(parts)
        if role == EVENT_ROLE:
            return event
        if role == GROUP_ROLE:
            return group
        if role == FRESH_ROLE:
            return delivery is None and self.is_fresh(index.row())
        return None


def detail_line(event: AuditEvent, zone: tzinfo | None = None) -> str:
    """Who, through which channel, when: "Alex Morgan · Online portal · 14:02:11 CST" (the time in
    the account's policy zone, labelled; this computer's zone when none is known)."""
    who = wording.who(event)
    if event.on_behalf_of and event.actor_role not in ("policyholder", "system"):
        who += " for the customer"
    when = ""
    if event.occurred_at is not None:
        local = event.occurred_at.astimezone(zone) if zone is not None else event.occurred_at.astimezone()
        when = f"{local:%H:%M:%S} {zone_label(local)}"
    return " · ".join(p for p in (who, wording.channel(event), when) if p)


class ChangeLogDelegate(QStyledItemDelegate):
    """An event: its main fact in bold, wrapped to as many lines as it needs (never cut), then
    who/how/when and how many notices it sent; a delivery (child row): one muted line. Live
    arrivals get a warm highlight and a "New" marker."""

    PAD_X, PAD_Y, BADGE_W = 12, 8, 44

    def __init__(self, view: QTreeView) -> None:
        super().__init__(view)
        self.view = view

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        title.setBold(True)
        title.setPointSizeF(max(option.font.pointSizeF(), 9.5))
        detail = QFont(option.font)
        detail.setPointSizeF(max(option.font.pointSizeF() - 1, 8))
        return title, detail

    def _zone(self) -> tzinfo | None:
        model = self.view.model()
        return model.zone if isinstance(model, GroupedEventsModel) else None

    def _text_width(self, index: Index) -> int:
        depth = 1 if index.parent().isValid() else 0
        indent = self.view.indentation() * (depth + int(self.view.rootIsDecorated()))
        return max(self.view.viewport().width() - indent - 2 * self.PAD_X - self.BADGE_W, 60)

    def _title(self, index: Index) -> str:
        group: EventGroup = index.data(GROUP_ROLE)
        event = group.head
        title = group.title()
        if event.outcome in ("failure", "denied") and not group.notices_only:
            title += f" ({wording.outcome(event).lower()})"
        return title

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        title_font, detail_font = self._fonts(option)
        width = self._text_width(index)
        if index.parent().isValid():
            lines = QFontMetrics(detail_font).boundingRect(
                QRect(0, 0, width, 10_000), int(Qt.TextFlag.TextWordWrap), str(index.data())
            )
            return QSize(width, lines.height() + 10)
        title = QFontMetrics(title_font).boundingRect(
            QRect(0, 0, width, 10_000), int(Qt.TextFlag.TextWordWrap), self._title(index)
        )
        group: EventGroup = index.data(GROUP_ROLE)
        detail = QFontMetrics(detail_font)
        extra = sum(
            detail.boundingRect(QRect(0, 0, width, 10_000), int(Qt.TextFlag.TextWordWrap), text).height() + 2
            for text in (detail_line(group.head, self._zone()), group.notices_summary())
            if text
        )
        return QSize(width, title.height() + extra + 2 * self.PAD_Y + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        title_font, detail_font = self._fonts(option)
        if index.parent().isValid():  # a delivery under its cause
            delivery: AuditEvent = index.data(EVENT_ROLE)
            if selected:
                painter.fillRect(rect, QColor("#EAF1FB"))
            painter.setFont(detail_font)
            painter.setPen(QColor(theme.DANGER if delivery.outcome != "success" else theme.MUTED))
            painter.drawText(
                rect.adjusted(4, 5, -self.PAD_X, -5),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
                str(index.data()),
            )
            painter.restore()
            return
        group: EventGroup = index.data(GROUP_ROLE)
        event = group.head
        fresh = bool(index.data(FRESH_ROLE))
        if fresh:
            painter.fillRect(rect, QColor("#FFF3C4"))
            painter.fillRect(QRect(rect.left(), rect.top(), 4, rect.height()), QColor("#E0A100"))
        elif selected:
            painter.fillRect(rect, QColor("#EAF1FB"))
        painter.setPen(QPen(QColor("#E4E9F0")))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        inner = rect.adjusted(4, self.PAD_Y, -self.PAD_X, -self.PAD_Y)
        if fresh:
            badge = QRect(inner.right() - self.BADGE_W + 4, inner.top(), self.BADGE_W - 4, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#E0A100"))
            painter.drawRoundedRect(badge, 9, 9)
            small = QFont(option.font)
            small.setBold(True)
            small.setPointSizeF(max(option.font.pointSizeF() - 1.5, 7.5))
            painter.setFont(small)
            painter.setPen(QColor("#FFFFFF"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "New")
        outcome_color = {"failure": theme.DANGER, "denied": theme.WARNING}.get(event.outcome, theme.TEXT)
        if group.notices_only:
            outcome_color = theme.TEXT
        painter.setFont(title_font)
        painter.setPen(QColor(outcome_color))
        width = self._text_width(index)
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
        title = self._title(index)
        title_rect = painter.fontMetrics().boundingRect(
            QRect(inner.left(), inner.top(), width, 10_000), flags, title
        )
        painter.drawText(QRect(inner.left(), inner.top(), width, title_rect.height()), flags, title)
        painter.setFont(detail_font)
        painter.setPen(QColor(theme.MUTED))
        y = inner.top() + title_rect.height() + 2
        wrap = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap)
        for text in (detail_line(event, self._zone()), group.notices_summary()):
            if not text:
                continue
            box = painter.fontMetrics().boundingRect(QRect(inner.left(), y, width, 10_000), wrap, text)
            painter.drawText(QRect(inner.left(), y, width, box.height()), wrap, text)
            y += box.height() + 2
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
        # A tree: the notices an event sent are its child rows (click the arrow to see them).
        self.list = QTreeView()
        self.list.setObjectName("ChangeLog")
        self.list.setAccessibleName("Change log events")
        self.list.setModel(self.model)
        self.list.setHeaderHidden(True)
        self.list.setItemDelegate(ChangeLogDelegate(self.list))
        self.list.setUniformRowHeights(False)
        self.list.setIndentation(14)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollMode(QTreeView.ScrollMode.ScrollPerPixel)
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

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's name
        super().resizeEvent(event)
        # Row heights follow the wrapped text, which follows the width.
        self.list.doItemsLayout()

    def set_state(self, state: str) -> None:
        self.live.setText(LIVE_TEXT.get(state, state))
        self.live.setProperty("state", state)
        self.live.setAccessibleName(f"Live updates: {state}")
        theme.repolish(self.live)

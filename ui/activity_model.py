"""The account's change log as a Qt item model: newest first, rows revealed lazily, and the
deliveries of notices grouped under the event that caused them.

One action (a payment, a claim filed) sends several notices: email and text, to each holder.
Listing each delivery as its own "Notification sent" row buried the action itself, so a
delivery is a child row of its cause (the service records the cause's seq on the delivery as
`cause_seq`). Deliveries whose cause is not in the log (reminders sent by the calendar, or a
cause older than what is loaded) are grouped by the notice they deliver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTreeView

from portal_app.client import AuditEvent
from ui import wording

COLUMNS = ("When", "What happened", "Who", "Channel", "Outcome")
WHAT_COLUMN = 1
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3
DELIVERY_ACTIONS = ("notification.sent", "notification.failed")

Index = QModelIndex | QPersistentModelIndex


def is_delivery(event: AuditEvent) -> bool:
    return event.action in DELIVERY_ACTIONS


@dataclass
class EventGroup:
    """One row of the log: an event and the notice deliveries it caused (its child rows)."""

    head: AuditEvent
    deliveries: list[AuditEvent] = field(default_factory=list)

    @property
    def seq(self) -> int:
        return self.head.seq

    @property
    def notices_only(self) -> bool:
        """A group of deliveries whose cause is not in the log (its head is a delivery too)."""
        return is_delivery(self.head)

    def all_deliveries(self) -> list[AuditEvent]:
        return [self.head, *self.deliveries] if self.notices_only else list(self.deliveries)

    def title(self) -> str:
        """The row's main fact, in full (views wrap it; they never cut it)."""
        if self.notices_only:
            name = (self.head.after or {}).get("title") or "a notice"
            count = len(self.all_deliveries())
            failed = sum(1 for d in self.all_deliveries() if d.outcome != "success")
            text = f"Notice sent: {name}"
            if count > 1:
                text += f" ({count} deliveries" + (f", {failed} failed" if failed else "") + ")"
            return text
        return wording.what_happened(self.head)

    def notices_summary(self) -> str:
        """ "3 notices sent (1 failed)": the grouped deliveries in a few words, or ""."""
        if self.notices_only or not self.deliveries:
            return ""
        count = len(self.deliveries)
        failed = sum(1 for d in self.deliveries if d.outcome != "success")
        text = f"{count} notice{'s' if count != 1 else ''} sent"
        return text + (f" ({failed} failed)" if failed else "")


def delivery_line(event: AuditEvent) -> str:
    """One delivery as a child row says it: "Email to alex@example.com: Payment received"."""
    after = event.after or {}
    channel = {"email": "Email", "sms": "Text message", "push": "App notice", "in_app": "In the app"}.get(
        str(after.get("channel") or ""), str(after.get("channel") or "Notice").capitalize()
    )
    to = f" to {after['to']}" if after.get("to") else ""
    title = f": {after['title']}" if after.get("title") else ""
    failed = " (not delivered)" if event.outcome != "success" else ""
    return f"{channel}{to}{title}{failed}"


class GroupedEventsModel(QAbstractItemModel):
    """Audit events as groups, newest group at the top; deliveries are the groups' children.

    Threading/async rule: Qt thread only. Feed consumers (coroutines on the qasync loop, which is
    the Qt thread) call `add_events`; never call it from a worker thread.

    Years of history can mean many thousands of events: the view is only told about the newest
    `FETCH_BATCH` groups at first and asks for more as the user scrolls (canFetchMore/fetchMore).
    """

    FETCH_BATCH = 200
    COLUMNS: tuple[str, ...] = COLUMNS

    def __init__(self) -> None:
        super().__init__()
        self._groups: list[EventGroup] = []  # ascending head seq
        self._shown = 0  # how many of the newest groups the view knows about
        self._seqs: set[int] = set()
        self._by_seq: dict[int, EventGroup] = {}  # every head
        self._by_notice: dict[str, EventGroup] = {}  # notices-only groups by notification id
        self.zone: tzinfo | None = None  # the account's policy zone; None: this computer's

    def set_zone(self, zone: tzinfo | None) -> None:
        """Show times in `zone` (the policies' zone), labelled with its abbreviation."""
        if zone == self.zone:
            return
        self.zone = zone
        if self._shown:
            self.dataChanged.emit(self.index(0, 0), self.index(self._shown - 1, self.columnCount() - 1))

    # --- feeding -------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return max(self._seqs) if self._seqs else 0

    @property
    def total(self) -> int:
        """Events held (deliveries included)."""
        return len(self._seqs)

    def held_seqs(self) -> list[int]:
        """The sequence numbers of every event held, deliveries included, ascending."""
        return sorted(self._seqs)

    def add_events(self, events: list[AuditEvent]) -> list[AuditEvent]:
        """Add events (any order, duplicates ignored); new ones appear at once. Returns them."""
        fresh = sorted((e for e in events if e.seq not in self._seqs), key=lambda e: e.seq)
        if not fresh:
            return []
        newest_head = self._groups[-1].seq if self._groups else 0
        fresh_seqs = {e.seq for e in fresh}

        def starts_a_group(e: AuditEvent) -> bool:
            if not is_delivery(e):
                return True
            cause = (e.after or {}).get("cause_seq")
            return self._group_for_delivery(e) is None and cause not in fresh_seqs

        if any(e.seq < newest_head and starts_a_group(e) for e in fresh):
            # Older than what we show (a resume): rebuild rather than misplace.
            everything = [e for g in self._groups for e in (g.head, *g.deliveries)] + fresh
            self.beginResetModel()
            shown = self._shown
            self._groups, self._seqs, self._by_seq, self._by_notice = [], set(), {}, {}
            for e in sorted(everything, key=lambda e: e.seq):
                self._place(e)
            self._shown = min(len(self._groups), max(shown + len(fresh), self.FETCH_BATCH))
            self.endResetModel()
            return fresh
        for e in fresh:
            group = self._group_for_delivery(e) if is_delivery(e) else None
            if group is not None:
                row = self._row_of(group)
                if row is None:  # not shown yet (lazy): nothing for the view to hear
                    group.deliveries.append(e)
                else:
                    parent = self.createIndex(row, 0, None)
                    n = len(group.deliveries)
                    self.beginInsertRows(parent, n, n)
                    group.deliveries.append(e)
                    self.endInsertRows()
                    self.dataChanged.emit(parent, self.index(row, self.columnCount() - 1))
                self._seqs.add(e.seq)
                continue
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._place(e)
            self._shown += 1
            self.endInsertRows()
        return fresh

    def _group_for_delivery(self, e: AuditEvent) -> EventGroup | None:
        cause = (e.after or {}).get("cause_seq")
        group = self._by_seq.get(cause) if isinstance(cause, int) else None
        if group is None and e.entity_id:
            group = self._by_notice.get(e.entity_id)
        return group

    def _place(self, e: AuditEvent) -> None:
        """Book-keeping only (callers tell the view): add `e` to its group or start one."""
        self._seqs.add(e.seq)
        if is_delivery(e):
            group = self._group_for_delivery(e)
            if group is not None:
                group.deliveries.append(e)
                return
        group = EventGroup(e)
        self._groups.append(group)
        self._by_seq[e.seq] = group
        if is_delivery(e) and e.entity_id:
            self._by_notice[e.entity_id] = group

    def _row_of(self, group: EventGroup) -> int | None:
        """The group's top-level row (0 = newest), or None while it is not shown yet."""
        lo, hi = 0, len(self._groups)
        while lo < hi:  # binary search by seq (groups ascend)
            mid = (lo + hi) // 2
            if self._groups[mid].seq < group.seq:
                lo = mid + 1
            else:
                hi = mid
        row = len(self._groups) - 1 - lo
        return row if 0 <= row < self._shown else None

    def clear(self) -> None:
        self.beginResetModel()
        self._groups, self._seqs, self._by_seq, self._by_notice = [], set(), {}, {}
        self._shown = 0
        self.endResetModel()

    def group_at(self, row: int) -> EventGroup:
        return self._groups[len(self._groups) - 1 - row]

    def event_at(self, row: int) -> AuditEvent:
        """The event a top-level row is about."""
        return self.group_at(row).head

    def row_actions(self) -> list[str]:
        """The actions of the shown top-level rows, newest first (tests read the log this way)."""
        return [self.event_at(i).action for i in range(self._shown)]

    # --- lazy fetch ----------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._shown < len(self._groups)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid():
            return
        extra = min(self.FETCH_BATCH, len(self._groups) - self._shown)
        if extra <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + extra - 1)
        self._shown += extra
        self.endInsertRows()

    # --- tree structure --------------------------------------------------------------------
    # Top-level indexes carry no pointer; a child's internal id is its group's head seq + 1.

    def index(self, row: int, column: int = 0, parent: Index = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= self.columnCount() or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < self._shown else QModelIndex()
        if parent.internalId() or parent.row() >= self._shown:
            return QModelIndex()  # deliveries have no children
        group = self.group_at(parent.row())
        if row >= len(group.deliveries):
            return QModelIndex()
        return self.createIndex(row, column, group.seq + 1)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not child.isValid() or not child.internalId():
            return QModelIndex()
        group = self._by_seq.get(int(child.internalId()) - 1)
        if group is None:
            return QModelIndex()
        row = self._row_of(group)
        return QModelIndex() if row is None else self.createIndex(row, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if not parent.isValid():
            return self._shown
        if parent.internalId() or parent.column() != 0 or parent.row() >= self._shown:
            return 0
        return len(self.group_at(parent.row()).deliveries)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0 if parent.isValid() else self._shown > 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def locate(self, index: Index) -> tuple[EventGroup, AuditEvent | None] | None:
        """(group, None) for a top-level row, (group, delivery) for a child row."""
        if not index.isValid():
            return None
        if not index.internalId():
            if index.row() >= self._shown:
                return None
            return self.group_at(index.row()), None
        group = self._by_seq.get(int(index.internalId()) - 1)
        if group is None or index.row() >= len(group.deliveries):
            return None
        return group, group.deliveries[index.row()]


def tooltip(event: AuditEvent) -> str:
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


class ActivityTableModel(GroupedEventsModel):
    """The Activity page's log: When, What happened, Who, Channel, Outcome."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        found = self.locate(index)
        if found is None:
            return None
        group, delivery = found
        event = delivery or group.head
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if col == 0:
                return wording.local_time(event.occurred_at, self.zone)
            if col == WHAT_COLUMN:
                if delivery is not None:
                    return delivery_line(delivery)
                summary = group.notices_summary()
                return group.title() + (f" · {summary}" if summary else "")
            if col == 2:
                return wording.who(event)
            if col == 3:
                return wording.channel(event)
            return wording.outcome(event)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = tooltip(event)
            if col == WHAT_COLUMN:
                text = f"{self.data(index)}\n{text}"
            return text
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            if event.outcome == "failure":
                return QColor("#A8231B")
            if event.outcome == "denied":
                return QColor("#7D4C00")
            return QColor("#1B6E30")
        if role == Qt.ItemDataRole.ForegroundRole and delivery is not None:
            return QColor("#5A6678")
        if role == EVENT_ROLE:
            return event
        if role == GROUP_ROLE:
            return group
        return None


class WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their wrapped text in the view's current column width, so the main fact
    shows in full at any window size (Qt's own hint does not know the column width)."""

    def __init__(self, view: QTreeView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not text:
            return size
        width = self.view.columnWidth(index.column()) - 16
        if index.column() == 0:
            depth = 1 if index.parent().isValid() else 0
            width -= self.view.indentation() * (depth + int(self.view.rootIsDecorated()))
        rect = option.fontMetrics.boundingRect(
            QRect(0, 0, max(width, 40), 10_000), int(Qt.TextFlag.TextWordWrap), str(text)
        )
        return QSize(size.width(), max(size.height(), rect.height() + 14))

"""Customer search as you type: ranked results from the service's index, keyboard first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import PortalClient, PortalError
from portal_app.client.models import CustomerHit
from ui import theme
from ui.staff.wording import error_text
from ui.widgets import EmptyState, label

Index = QModelIndex | QPersistentModelIndex
HIT_ROLE = Qt.ItemDataRole.UserRole + 1
DEBOUNCE_MS = 120  # one request per pause in typing, not per key
MATCHED = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "postcode": "Postcode",
    "policy": "Policy",
    "claim": "Claim",
}


def searchable(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class SearchResultsModel(QAbstractListModel):
    """Threading/async rule: Qt thread only."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[CustomerHit] = []

    def set_hits(self, hits: list[CustomerHit]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        hit = self.hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{hit.full_name}, {hit.account_name}. {MATCHED.get(hit.matched_kind, '')} {hit.matched}"
        if role == HIT_ROLE:
            return hit
        return None


class SearchResultDelegate(QStyledItemDelegate):
    """Name and household, the policies, and what matched (so the agent sees why it is here)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(option.rect.width(), 66)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        hit: CustomerHit = index.data(HIT_ROLE)
        painter.save()
        rect = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, QColor("#EAF1FB"))
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), QColor(theme.BLUE))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, QColor("#F5F8FC"))
        painter.setPen(QPen(QColor("#E4E9F0")))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        inner = rect.adjusted(14, 8, -12, -6)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor(theme.NAVY))
        line = QRect(inner.left(), inner.top(), inner.width(), 18)
        painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, hit.full_name)
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() - 1, 8))
        painter.setFont(small)
        painter.setPen(QColor(theme.MUTED))
        second = " · ".join(p for p in (hit.account_name, ", ".join(hit.policy_numbers)) if p)
        line2 = QRect(inner.left(), inner.top() + 19, inner.width(), 16)
        painter.drawText(
            line2,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(second, Qt.TextElideMode.ElideRight, line2.width()),
        )
        painter.setPen(QColor(theme.BLUE))
        third = f"{MATCHED.get(hit.matched_kind, 'Match')}: {hit.matched}"
        line3 = QRect(inner.left(), inner.top() + 36, inner.width(), 16)
        painter.drawText(
            line3,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(third, Qt.TextElideMode.ElideRight, line3.width()),
        )
        painter.restore()


class SearchPanel(QFrame):
    """Threading/async rule: Qt thread; each search is a task on the qasync loop. A newer query
    cancels the one in flight, so results never arrive out of order."""

    openRequested = Signal(object)  # CustomerHit
    searched = Signal(str, int)  # query, result count (tests and the status bar listen)

    def __init__(self, client: PortalClient, *, hint: str = "") -> None:
        super().__init__()
        self.client = client
        self.setObjectName("SearchPanel")
        self.setFixedWidth(340)
        self._task: asyncio.Task[None] | None = None
        self.last_query = ""
        self.last_ms = 0.0
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 16, 16, 12)
        box.setSpacing(8)
        box.addWidget(label("Find a customer", name="PanelTitle"))
        self.box = QLineEdit()
        self.box.setObjectName("SearchBox")
        self.box.setPlaceholderText("Name, policy or claim no., phone, email, postcode")
        self.box.setAccessibleName("Search customers")
        self.box.setClearButtonEnabled(True)
        self.box.addAction(theme.icon("search", theme.MUTED), QLineEdit.ActionPosition.LeadingPosition)
        self.box.textChanged.connect(self._on_text)
        self.box.returnPressed.connect(self._open_first)
        self.box.installEventFilter(self)
        box.addWidget(self.box)
        self.status = label(hint or "Results appear as you type.", name="PanelHint", wrap=True)
        box.addWidget(self.status)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        self.model = SearchResultsModel()
        self.list = QListView()
        self.list.setObjectName("SearchResults")
        self.list.setAccessibleName("Matching customers")
        self.list.setModel(self.model)
        self.list.setItemDelegate(SearchResultDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setMouseTracking(True)
        self.list.activated.connect(self._open_index)
        self.list.clicked.connect(self._open_index)
        self.empty = EmptyState(
            "search", "Search the customer base", "Start typing: two letters or digits are enough."
        )
        self.stack = QStackedWidget()
        # The hint sits under the box rather than stretched over the whole panel.
        holder = QWidget()
        holder_box = QVBoxLayout(holder)
        holder_box.setContentsMargins(0, 0, 0, 0)
        holder_box.addWidget(self.empty)
        holder_box.addStretch(1)
        self.empty_holder = holder
        self.stack.addWidget(holder)
        self.stack.addWidget(self.list)
        box.addWidget(self.stack, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_search)

    # --- typing ----------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.box.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down arrow from the box walks into the results; Enter there opens the account.
        if (
            watched is self.box
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Down
            and self.model.rowCount()
        ):
            self.list.setFocus()
            self.list.setCurrentIndex(self.model.index(0))
            return True
        return super().eventFilter(watched, event)

    def _on_text(self, text: str) -> None:
        self._show_error("")
        if len(searchable(text)) < 2:
            self._debounce.stop()
            if self._task is not None:
                self._task.cancel()
            self.model.set_hits([])
            self.stack.setCurrentWidget(self.empty_holder)
            self.status.setText(
                "Results appear as you type." if not text else "Keep typing: two letters or digits."
            )
            return
        self._debounce.start()

    def _start_search(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self.search(self.box.text()))

    async def search(self, query: str) -> None:
        """Ask the service; show ranked results with how long the answer took."""
        self.status.setText("Searching…")
        started = time.perf_counter()
        try:
            hits = await self.client.search_customers(query)
        except asyncio.CancelledError:
            raise
        except PortalError as exc:
            self._show_error(error_text(exc))
            self.status.setText("")
            return
        self.last_ms = (time.perf_counter() - started) * 1000
        self.last_query = query
        self.model.set_hits(hits)
        if hits:
            self.stack.setCurrentWidget(self.list)
            self.status.setText(
                f"{len(hits)} customer{'s' if len(hits) != 1 else ''} · {self.last_ms:.0f} ms"
            )
        else:
            self.stack.setCurrentWidget(self.empty_holder)
            self.status.setText(f"No customer matches “{query.strip()}”. Check the spelling or try a number.")
        self.searched.emit(query, len(hits))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        self.box.setProperty("invalid", bool(text))
        theme.repolish(self.box)

    # --- opening -----------------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.openRequested.emit(self.model.hits[index.row()])

    def _open_first(self) -> None:
        if self.model.hits and searchable(self.box.text()) and self.last_query == self.box.text():
            self.openRequested.emit(self.model.hits[0])

    def aclose(self) -> None:
        self._debounce.stop()
        if self._task is not None:
            self._task.cancel()

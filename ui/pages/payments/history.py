"""Payment history as an item model: every payment, with a receipt for each that went through.

Times are shown in the policy's zone and labelled (ui.formatting); the Receipt column is a link
the person clicks or activates with Enter.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from portal_app.client.models import PaymentRow, PaymentsOverview
from ui.formatting import money, time_in
from ui.pages.payments.common import KINDS, STATUS
from ui.widgets import Card, label

COLUMNS = ("Date", "Policy", "Amount", "How", "Status", "Receipt")
RECEIPT = COLUMNS.index("Receipt")
AMOUNT = COLUMNS.index("Amount")
Index = QModelIndex | QPersistentModelIndex


class PaymentHistoryModel(QAbstractTableModel):
    """Rows of PaymentRow; their display text is worked out once per load. Qt thread only."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PaymentRow] = []
        self._text: list[tuple[str, ...]] = []

    def set_rows(self, rows: list[PaymentRow], zones: dict[str, str]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._text = [self._cells(r, zones.get(r.policy_id)) for r in self.rows]
        self.endResetModel()

    @staticmethod
    def _cells(h: PaymentRow, zone: str | None) -> tuple[str, ...]:
        status, _ = STATUS.get(h.status, (h.status, ""))
        if h.refunded_minor:
            status += f" · {money(h.refunded_minor, h.currency)} refunded"
        receipt = "Save PDF" if h.status == "succeeded" and h.receipt_number else ""
        return (
            time_in(h.completed_at or h.created_at, zone),
            h.policy_number,
            money(h.amount_minor, h.currency),
            KINDS.get(h.kind, h.kind.replace("_", " ").capitalize()),
            status,
            receipt,
        )

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        text = self._text[row][col]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            h = self.rows[row]
            return f"Save receipt {h.receipt_number}" if col == RECEIPT and text else text
        if role == Qt.ItemDataRole.TextAlignmentRole and col == AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col == RECEIPT and text:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#1F4E99")
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setUnderline(True)
                return font
        return None

    def receipt_of(self, row: int) -> PaymentRow | None:
        if 0 <= row < len(self.rows) and self._text[row][RECEIPT]:
            return self.rows[row]
        return None


class HistoryCard(Card):
    """Threading/async rule: Qt thread only."""

    receiptRequested = Signal(str, str)  # payment id, receipt number

    def __init__(self) -> None:
        super().__init__(
            "Payment history",
            "Every payment, with a receipt for each one that went through",
            icon_name="clock",
        )
        self.model = PaymentHistoryModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setAccessibleName("Payment history")
        self.view.verticalHeader().setVisible(False)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.verticalHeader().setDefaultSectionSize(36)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Status"), QHeaderView.ResizeMode.Stretch)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        self.empty = label("No payments yet.", "muted")
        self.body.addWidget(self.view)
        self.body.addWidget(self.empty)
        self.note = label("", "muted", wrap=True)
        self.note.setObjectName("ReceiptNote")
        self.body.addWidget(self.note)

    def fill(self, data: PaymentsOverview) -> None:
        zones = {p.policy_id: p.time_zone for p in data.policies}
        self.model.set_rows(data.history, zones)
        rows = len(data.history)
        self.view.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        # Tall enough for every row up to ten, then it scrolls.
        self.view.setFixedHeight(42 + 36 * min(max(rows, 1), 10))

    def _clicked(self, index: QModelIndex) -> None:
        if index.column() != RECEIPT:
            return
        row = self.model.receipt_of(index.row())
        if row is not None:
            self.receiptRequested.emit(row.id, row.receipt_number or row.id)

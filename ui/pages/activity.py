"""Activity: the account's change log, straight from the live feed."""

from __future__ import annotations

import time
from datetime import tzinfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QTreeView, QVBoxLayout, QWidget

from portal_app.client import AuditEvent, LiveState
from ui.activity_model import WHAT_COLUMN, ActivityTableModel, WrappingDelegate
from ui.widgets import EmptyState, label

STATE_TEXT = {
    LiveState.CONNECTING: "Connecting to the live feed…",
    LiveState.LIVE: "Live: changes appear here the moment they happen.",
    LiveState.RECONNECTING: "Connection dropped: reconnecting. Nothing will be missed.",
    LiveState.OFFLINE: "Offline: we keep trying and will catch up when the service is back.",
}


class ActivityPage(QWidget):
    """Threading/async rule: Qt thread only; AccountView's feed task (on the qasync loop, i.e.
    the Qt thread) calls `add_events` and `set_state`."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("PageArea")
        self.setAccessibleName("Activity")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(36, 28, 36, 24)
        outer.setSpacing(6)
        outer.addWidget(label("Activity", name="PageTitle"))
        outer.addWidget(
            label(
                "Every change to this account, who made it and where: online, by phone or at a branch.",
                name="PageSubtitle",
                wrap=True,
            )
        )
        status_row = QHBoxLayout()
        status_row.setContentsMargins(0, 8, 0, 6)
        self.state_label = label(STATE_TEXT[LiveState.CONNECTING], "muted")
        self.state_label.setAccessibleName("Live feed status")
        self.count_label = label("", "muted")
        status_row.addWidget(self.state_label, 1)
        status_row.addWidget(self.count_label)
        outer.addLayout(status_row)

        self.model = ActivityTableModel()
        # A tree: notices an action sent are its child rows (expand to see each delivery).
        self.table = QTreeView()
        self.table.setObjectName("ActivityTable")
        self.table.setAccessibleName("Account change log")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setUniformRowHeights(False)
        # The main fact wraps onto a second line rather than being cut.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = self.table.header()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for col in range(self.model.columnCount()):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHAT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegate(WrappingDelegate(self.table))
        header.sectionResized.connect(lambda *_: self.table.doItemsLayout())
        outer.addWidget(self.table, 1)

        self.empty = EmptyState(
            "activity",
            "No activity yet",
            "Sign-ins, payments, changes and calls on this account will be listed here.",
        )
        self.empty.setVisible(False)
        outer.addWidget(self.empty)
        self.footnote = label(
            "Newest first. Times are shown in your computer's time zone "
            f"({time.strftime('%Z')}). Hover a row for its reference.",
            "muted",
            wrap=True,
        )
        outer.addWidget(self.footnote)
        self._ready = False

    def set_zone(self, zone: tzinfo) -> None:
        """Times in the policies' zone (AccountView passes it with the overview), labelled."""
        self.model.set_zone(zone)
        name = getattr(zone, "key", None) or str(zone)
        self.footnote.setText(
            f"Newest first. Times are in the policy's time zone ({name}), labelled on each row. "
            "Expand a row to see the notices it sent; hover a row for its reference."
        )

    @property
    def last_seq(self) -> int:
        return self.model.last_seq

    def add_events(self, events: list[AuditEvent]) -> None:
        self.model.add_events(events)
        self._refresh_counts()

    def set_state(self, state: LiveState) -> None:
        self.state_label.setText(STATE_TEXT.get(state, str(state)))
        if state is LiveState.LIVE:
            self._ready = True
            self._refresh_counts()

    def _refresh_counts(self) -> None:
        total = self.model.total
        self.count_label.setText(f"{total} event{'s' if total != 1 else ''}")
        # Only claim "no activity" once the backlog has been delivered.
        self.empty.setVisible(self._ready and total == 0)
        self.table.setVisible(not (self._ready and total == 0))

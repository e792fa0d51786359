"""Activity: the account's change log, straight from the live feed."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QTableView, QVBoxLayout, QWidget

from portal_app.client import AuditEvent, LiveState
from ui.activity_model import ActivityTableModel
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
        self.table = QTableView()
        self.table.setObjectName("ActivityTable")
        self.table.setAccessibleName("Account change log")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(36)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for col, width in enumerate((190, 230, 130, 0, 90)):
            if width:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        outer.addWidget(self.table, 1)
        self._wide = True

        self.empty = EmptyState(
            "activity",
            "No activity yet",
            "Sign-ins, payments, changes and calls on this account will be listed here.",
        )
        self.empty.setVisible(False)
        outer.addWidget(self.empty)
        outer.addWidget(
            label(
                "Newest first. Times are shown in your computer's time zone "
                f"({time.strftime('%Z')}). Hover a row for its reference.",
                "muted",
            )
        )
        self._ready = False

    # Narrow windows (1024 px) gave "What happened" ~50 px ("Issu…"): the fixed columns shrink
    # there so the main fact keeps at least half the table.
    WIDE_COLUMNS = (190, 230, 130, 0, 90)
    NARROW_COLUMNS = (180, 120, 90, 0, 72)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        wide = self.table.viewport().width() >= 900
        if wide != self._wide:
            self._wide = wide
            for col, width in enumerate(self.WIDE_COLUMNS if wide else self.NARROW_COLUMNS):
                if width:
                    self.table.setColumnWidth(col, width)

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

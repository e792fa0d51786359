"""Supervisors: service figures with charts, and the case queue with deadlines counting down.

Charts are drawn with QPainter: QtCharts is not part of PySide6-Essentials (checked: importing
PySide6.QtCharts fails), and a plotting library would add tens of megabytes for six small charts.

Mount anywhere a staff tool has a client:

    dashboard = SupervisorDashboard(client)   # figures + the queue; call dashboard.reload()
    queue = CaseQueue(client)                 # the queue alone (agents); call queue.reload()

Threading/async rule: Qt-thread widgets; fetches are coroutines on the qasync loop started from
slots; a one-second QTimer only repaints the countdown column (no network).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import qasync
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, PortalClient, PortalError
from portal_app.client.case_models import Case, ServiceDashboard
from ui import theme
from ui.formatting import time_in
from ui.widgets import Card, Page, label

SERIES_BLUE = QColor("#1F4E99")
SERIES_TEAL = QColor("#2E9C8F")
SERIES_AMBER = QColor("#D08A00")
SERIES_RED = QColor("#C0392B")
GRID = QColor("#E3E8F0")
AXIS_TEXT = QColor("#5A6678")
REASONS = {
    "deadline_missed:acknowledge": "missed 24 h acknowledgement",
    "deadline_missed:target_resolution": "missed 24 h target",
    "deadline_missed:summary_resolution": "missed 3-day resolution",
    "deadline_missed:final_response": "missed final response",
    "repeated_contact": "3rd contact",
    "customer_says_unresolved": "customer says unresolved",
    "category_needs_legal": "needs legal",
    "category_needs_supervisor": "needs a supervisor",
    "staff_request": "front line asked",
}


def _short_day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%b}"


class Chart(QWidget):
    """A small chart: grouped bars, or a line against a target line. Painted, not a library."""

    def __init__(self, kind: str = "bars") -> None:
        super().__init__()
        self.kind = kind
        self.labels: list[str] = []
        self.series: list[tuple[str, QColor, Sequence[float | None]]] = []
        self.target: float | None = None
        self.setMinimumHeight(190)

    def set_data(
        self,
        labels: list[str],
        series: list[tuple[str, QColor, Sequence[float | None]]],
        target: float | None = None,
    ) -> None:
        self.labels, self.series, self.target = labels, series, target
        self.setAccessibleDescription(
            "; ".join(
                f"{name}: {', '.join('-' if v is None else f'{v:g}' for v in values)}"
                for name, _, values in series
            )
        )
        self.update()

    def paintEvent(self, _event: object) -> None:  # Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        left, right, top, bottom = 34, 10, 24, 26
        plot = QRectF(left, top, max(w - left - right, 10), max(h - top - bottom, 10))
        values = [v for _, _, vals in self.series for v in vals if v is not None]
        peak = max([*values, self.target or 0, 1])
        step = _nice_step(peak)
        top_value = step * max(1, int(-(-peak // step)))
        small = QFont(theme.FONT_FAMILY, 8)
        p.setFont(small)
        # Grid and axis labels.
        for i in range(5):
            tick = top_value * i / 4
            y = plot.bottom() - plot.height() * i / 4
            p.setPen(QPen(GRID, 1))
            p.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
            p.setPen(AXIS_TEXT)
            p.drawText(
                QRectF(0, y - 7, left - 6, 14),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{tick:g}",
            )
        n = max(len(self.labels), 1)
        slot = plot.width() / n
        # Label every k-th slot so neighbouring labels never overlap, whatever the width.
        widest = max((p.fontMetrics().horizontalAdvance(t) for t in self.labels), default=0) + 8
        every = max(1, -(-widest // max(int(slot), 1)))
        for i, text in enumerate(self.labels):
            if i % every == 0:
                centre = plot.left() + (i + 0.5) * slot
                p.drawText(
                    QRectF(centre - widest / 2, plot.bottom() + 4, widest, 16),
                    Qt.AlignmentFlag.AlignHCenter,
                    text,
                )
        if not values or not any(values):
            p.setPen(AXIS_TEXT)
            p.setFont(QFont(theme.FONT_FAMILY, 9))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Nothing fell due in this period")
        elif self.kind == "bars":
            groups = max(len(self.series), 1)
            bar = max(slot * 0.7 / groups, 2)
            for g, (_, color, vals) in enumerate(self.series):
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(color)
                for i, v in enumerate(vals):
                    if not v:
                        continue
                    bh = plot.height() * v / top_value
                    x = plot.left() + i * slot + slot * 0.15 + g * bar
                    p.drawRoundedRect(QRectF(x, plot.bottom() - bh, bar - 1, bh), 2, 2)
        else:
            for _, color, vals in self.series:
                p.setPen(QPen(color, 2.2))
                path = QPainterPath()
                started = False
                for i, v in enumerate(vals):
                    if v is None:
                        continue
                    pt = (plot.left() + (i + 0.5) * slot, plot.bottom() - plot.height() * v / top_value)
                    if not started:
                        path.moveTo(*pt)
                        started = True
                    else:
                        path.lineTo(*pt)
                    p.setBrush(color)
                    p.drawEllipse(QRectF(pt[0] - 3, pt[1] - 3, 6, 6))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(path)
        if self.target is not None:
            y = plot.bottom() - plot.height() * self.target / top_value
            p.setPen(QPen(SERIES_RED, 1.5, Qt.PenStyle.DashLine))
            p.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
            p.drawText(
                QRectF(plot.right() - 120, y - 16, 120, 14),
                Qt.AlignmentFlag.AlignRight,
                f"target {self.target:g} h",
            )
        # Legend.
        x = plot.left()
        for name, color, _ in self.series:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(QRectF(x, 6, 10, 10), 2, 2)
            p.setPen(AXIS_TEXT)
            p.drawText(QRectF(x + 14, 2, 160, 16), Qt.AlignmentFlag.AlignVCenter, name)
            x += 26 + p.fontMetrics().horizontalAdvance(name)
        p.end()


class Donut(QWidget):
    """A share as a ring with the percentage in the middle."""

    def __init__(self, color: QColor) -> None:
        super().__init__()
        self.color = color
        self.part = 0
        self.whole = 0
        self.caption = ""
        self.setMinimumSize(150, 150)

    def set_share(self, part: int, whole: int, caption: str) -> None:
        self.part, self.whole, self.caption = part, whole, caption
        share = f"{100 * part / whole:.0f}%" if whole else "no data"
        self.setAccessibleDescription(f"{caption}: {share} ({part} of {whole})")
        self.update()

    def paintEvent(self, _event: object) -> None:  # Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height() - 22) - 16
        rect = QRectF((self.width() - side) / 2, 8, side, side)
        p.setPen(QPen(GRID, 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
        p.drawArc(rect, 0, 360 * 16)
        if self.whole:
            p.setPen(QPen(self.color, 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            p.drawArc(rect, 90 * 16, -int(360 * 16 * self.part / self.whole))
        p.setPen(QColor(theme.TEXT))
        p.setFont(QFont(theme.FONT_FAMILY, 15, QFont.Weight.Bold))
        text = f"{100 * self.part / self.whole:.0f}%" if self.whole else "—"
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.setFont(QFont(theme.FONT_FAMILY, 8))
        p.setPen(AXIS_TEXT)
        p.drawText(
            QRectF(0, rect.bottom() + 4, self.width(), 16),
            Qt.AlignmentFlag.AlignHCenter,
            f"{self.part} of {self.whole}" if self.whole else "none in this period",
        )
        p.end()


def _nice_step(peak: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000):
        if peak / step <= 5:
            return float(step)
    return float(10 ** len(str(int(peak))) / 10)


# --- the case queue ------------------------------------------------------------------------------


def countdown(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    left = int((due - now).total_seconds())
    sign = "-" if left < 0 else ""
    left = abs(left)
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"


class CaseQueueModel(QAbstractTableModel):
    HEADERS = ("Case", "Customer's words", "Status", "Next deadline", "Time left", "Owner", "Why escalated")

    def __init__(self) -> None:
        super().__init__()
        self.cases: list[Case] = []
        self.now = datetime.now(UTC)

    def set_cases(self, cases: list[Case]) -> None:
        self.beginResetModel()
        self.cases = cases
        self.endResetModel()

    def tick(self) -> None:
        self.now = datetime.now(UTC)
        if self.cases:
            self.dataChanged.emit(self.index(0, 4), self.index(len(self.cases) - 1, 4))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.cases)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        case = self.cases[index.row()]
        col = index.column()
        due = case.next_due_at
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{case.number}"
            if col == 1:
                return case.subject
            if col == 2:
                return case.status.replace("_", " ")
            if col == 3:
                pending = [d for d in case.deadlines if d.met_at is None]
                name = pending[0].name.replace("_", " ") if pending else ""
                # In the case's own zone (where its business days are counted), labelled.
                return f"{name} · {time_in(due, case.time_zone)}" if due else "—"
            if col == 4:
                return countdown(due, self.now)
            if col == 5:
                return case.assigned_name or {"front_line": "front line"}.get(case.team, case.team)
            if col == 6:
                return ", ".join(REASONS.get(r, r) for r in case.escalation_reasons)
        if role == Qt.ItemDataRole.ToolTipRole and col in (1, 3, 6):
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        if role == Qt.ItemDataRole.ForegroundRole and col == 4 and due is not None:
            left = (due - self.now).total_seconds()
            if left < 0:
                return QColor(theme.DANGER)
            if left < 4 * 3600:
                return QColor(theme.WARNING)
        if role == Qt.ItemDataRole.FontRole and col == 4:
            font = QFont(theme.FONT_FAMILY)
            font.setBold(True)
            return font
        return None


class CaseQueue(QWidget):
    """Open cases, the most urgent promise first, each counting down to its next deadline.

    It stays current without anyone pressing anything: `note_events` reloads it when a case
    event arrives on any live account feed the window has open, a timer reloads it every
    `REFRESH_MS` while it is on screen (complaints on accounts nobody has open), and showing
    it after a while reloads it at once. `reload` (F5) never runs two fetches at a time.
    """

    loaded = Signal(int)
    REFRESH_MS = 10_000

    def __init__(self, client: PortalClient) -> None:
        super().__init__()
        self.client = client
        self.model = CaseQueueModel()
        self.loaded_at: float | None = None  # time.monotonic() of the last successful load
        self._loading = False
        self._again = False
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.status = label("Loading the queue…", "muted")
        self.status.setAccessibleName("Case queue status")
        box.addWidget(self.status)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Open cases with their deadlines")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        head = self.table.horizontalHeader()
        for c in range(len(CaseQueueModel.HEADERS)):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        # The customer's words get a fair width (elided, in full in the tooltip); the reasons take
        # what is left; below that the table scrolls sideways rather than squeezing a column away.
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 260)
        head.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        head.setMinimumSectionSize(60)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setWordWrap(False)
        box.addWidget(self.table)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.model.tick)
        self.timer.start()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(self.REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_if_shown)
        self.refresh_timer.start()

    @property
    def loading(self) -> bool:
        """True while a fetch (and any follow-up fetch it owes) is in flight."""
        return self._loading

    def stop(self) -> None:
        """Stop the countdown and the periodic refresh (the window is closing)."""
        self.timer.stop()
        self.refresh_timer.stop()

    def note_events(self, events: list[Any]) -> None:
        """Live feed events from an open account: any case change reloads the queue now."""
        if any(str(getattr(e, "action", "")).startswith("case.") for e in events):
            self.reload()

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.reload()

    def showEvent(self, event: Any) -> None:  # Qt's name
        super().showEvent(event)
        stale = self.loaded_at is None or time.monotonic() - self.loaded_at > self.REFRESH_MS / 1000
        if stale and not self._loading:
            self.reload()

    @qasync.asyncSlot()
    async def reload(self) -> None:
        if self._loading:
            self._again = True  # a change arrived mid-fetch: fetch once more afterwards
            return
        self._loading = True
        try:
            while True:
                self._again = False
                try:
                    cases = await self.client.case_queue()
                except (ApiError, PortalError) as exc:
                    self.error.setText(f"The case queue could not be loaded ({exc}).")
                    self.error.setVisible(True)
                    return
                self.error.setVisible(False)
                self._show(cases)
                if not self._again:
                    return
        finally:
            self._loading = False

    def _show(self, cases: list[Case]) -> None:
        selected = self.table.currentIndex()
        keep = self.model.cases[selected.row()].id if selected.isValid() else None
        self.model.set_cases(cases)
        if keep is not None:
            row = next((i for i, c in enumerate(cases) if c.id == keep), None)
            if row is not None:
                self.table.selectRow(row)
        self.loaded_at = time.monotonic()
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        count = f"{len(cases)} open case{'s' if len(cases) != 1 else ''}"
        self.status.setText(f"{count} · updates by itself · last checked {stamp}")
        self.loaded.emit(len(cases))


# --- the dashboard -------------------------------------------------------------------------------


class SupervisorDashboard(Page):
    """Figures for the last two weeks and the live case queue."""

    loaded = Signal(object)  # ServiceDashboard

    def __init__(self, client: PortalClient, days: int = 14) -> None:
        super().__init__("Service dashboard", "Complaints, claims and payments over the last two weeks.")
        self.client = client
        self.days = days
        self.figures: ServiceDashboard | None = None
        self.setAccessibleName("Service dashboard")

        top = QHBoxLayout()
        self.tiles: dict[str, tuple[object, object]] = {}
        for key, caption in (
            ("open", "Open cases"),
            ("overdue", "Past a deadline"),
            ("escalated", "Escalated, open"),
            ("within", "Resolved within 24 h"),
        ):
            tile = Card()
            value = label("—", "big-number")
            tile.body.addWidget(label(caption, "label"))
            tile.body.addWidget(value)
            top.addWidget(tile, 1)
            self.tiles[key] = (tile, value)
        self.refresh_button = QPushButton(theme.icon("refresh", theme.BLUE), "Refresh")
        self.refresh_button.setAccessibleName("Refresh the dashboard")
        self.refresh_button.clicked.connect(self.reload)
        top.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        self.content.addLayout(top)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        self.content.addWidget(self.error)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(16)
        self.cases_chart = Chart("bars")
        self.resolution_chart = Chart("line")
        self.escalation_chart = Chart("bars")
        self.claims_chart = Chart("bars")
        for i, (title, subtitle, chart) in enumerate(
            (
                ("Cases opened and resolved", "per day", self.cases_chart),
                ("Resolution time", "median hours, against the 24-hour target", self.resolution_chart),
                ("Escalations", "per day", self.escalation_chart),
                ("Claims on time", "acknowledged (1 day) and reviewed (3 days)", self.claims_chart),
            )
        ):
            card = Card(title, subtitle)
            card.body.addWidget(chart)
            grid.addWidget(card, i // 2, i % 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.content.addLayout(grid)

        shares = QHBoxLayout()
        self.autopay = Donut(SERIES_TEAL)
        self.outside = Donut(SERIES_AMBER)
        for title, subtitle, donut in (
            ("Autopay adoption", "policies in force paying by autopay", self.autopay),
            ("Paid outside business hours", "customer payments, Mon–Fri 9–17 local excluded", self.outside),
        ):
            card = Card(title, subtitle)
            card.body.addWidget(donut)
            shares.addWidget(card, 1)
        self.content.addLayout(shares)

        self.section("Open cases and their deadlines")
        self.queue = CaseQueue(client)
        self.queue.setMinimumHeight(260)
        self.content.addWidget(self.queue)

    @qasync.asyncSlot()
    async def reload(self) -> None:
        self.refresh_button.setEnabled(False)
        try:
            figures = await self.client.service_dashboard(self.days)
        except ApiError as exc:
            text = (
                "The service dashboard is for supervisors."
                if exc.code == "dashboard.supervisor_only"
                else f"The figures could not be loaded ({exc.detail or exc.code})."
            )
            self.error.setText(text)
            self.error.setVisible(True)
            return
        except PortalError as exc:
            self.error.setText(f"Portal could not be reached ({exc}).")
            self.error.setVisible(True)
            return
        finally:
            self.refresh_button.setEnabled(True)
        self.error.setVisible(False)
        self.show_figures(figures)
        self.queue.reload()

    def show_figures(self, d: ServiceDashboard) -> None:
        self.figures = d
        days = [_short_day(x) for x in d.days]
        self.tiles["open"][1].setText(str(d.open_cases))  # type: ignore[attr-defined]
        self.tiles["overdue"][1].setText(str(d.open_overdue))  # type: ignore[attr-defined]
        self.tiles["escalated"][1].setText(str(d.open_escalated))  # type: ignore[attr-defined]
        within = f"{100 * d.resolved_within_target / d.resolved_total:.0f}%" if d.resolved_total else "—"
        self.tiles["within"][1].setText(within)  # type: ignore[attr-defined]
        self.cases_chart.set_data(
            days, [("Opened", SERIES_BLUE, d.cases_opened), ("Resolved", SERIES_TEAL, d.cases_resolved)]
        )
        self.resolution_chart.set_data(
            days, [("Median hours to resolve", SERIES_BLUE, d.median_resolution_hours)], target=d.target_hours
        )
        self.escalation_chart.set_data(days, [("Escalated", SERIES_AMBER, d.escalations)])
        c = d.claims
        self.claims_chart.set_data(
            ["Acknowledged", "Reviewed"],
            [
                ("On time", SERIES_TEAL, [c.get("acknowledged_on_time", 0), c.get("reviewed_on_time", 0)]),
                ("Late", SERIES_RED, [c.get("acknowledged_late", 0), c.get("reviewed_late", 0)]),
            ],
        )
        self.autopay.set_share(
            int(d.autopay.get("enrolled", 0)), int(d.autopay.get("policies", 0)), "autopay"
        )
        o = d.payments_outside_hours
        self.outside.set_share(o.get("outside", 0), o.get("outside", 0) + o.get("inside", 0), "outside hours")
        self.loaded.emit(d)

"""Staff: the evidence for a dispute on one account. "Export evidence" saves the signed pack
(PDF, events, checkpoints, verifier); the dispute answers list, for a policy, what happened
between a missed due date and a cancellation, or every charge of a period with its Stripe ids.

Mount it anywhere a staff tool has a client and an account id:

    panel = EvidencePanel(client, account_id)
    panel.show_overview(overview)        # fills the policy chooser (AccountView.overviewLoaded)

Threading/async rule: a Qt-thread widget; every network call is a coroutine on the qasync loop
started from a slot; the Export button shows progress and stays usable after an error.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import qasync
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, PortalClient, PortalError
from ui import theme
from ui.widgets import Card, label

ERRORS = {
    "evidence.staff_only": "Only call-centre staff and supervisors can export evidence.",
    "evidence.no_events": "Nothing was recorded on this account in that period. Widen the dates.",
    "evidence.period_invalid": "The period must start before it ends.",
    "dispute.period_invalid": "The period must start before it ends.",
    "dispute.period_too_long": "Choose a period of at most 400 days.",
    "dispute.staff_only": "Dispute answers are for staff.",
    "branch.verification_required": "Verify the customer at the counter first.",
}


STACK_BELOW = 520  # px: narrower than this, the rows of controls stack


def _money(minor: Any) -> str:
    if not isinstance(minor, int):
        return ""
    return f"${minor // 100:,}.{minor % 100:02d}"


CHARGE_KINDS = {
    "pay_now": "Paid now",
    "autopay": "Autopay",
    "scheduled": "Scheduled payment",
    "recorded": "Recorded as paid (no Portal charge)",
}


def _zone_name(iso: str, time_zone: str | None) -> str | None:
    """The abbreviation (CST, EDT) of `time_zone` at that instant, for labelling a time."""
    if not time_zone:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone(ZoneInfo(time_zone)).tzname()
    except (ValueError, KeyError):
        return None


def _local(iso: str, zone: str | None = None) -> str:
    """'2026-10-13T22:59:10-04:00' -> '13 Oct 2026 22:59:10 EDT' (the policy's own clock)."""
    stamp = datetime.fromisoformat(iso)
    return f"{stamp.day} {stamp:%b %Y %H:%M:%S} {zone or stamp.strftime('%z')}"


class EvidencePanel(QWidget):
    """Export evidence, and the two dispute answers, for one account."""

    exported = Signal(str)  # folder the pack was written to

    def __init__(self, client: PortalClient, account_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.account_id = account_id
        self.last_pack: Path | None = None
        self.answer: dict[str, Any] | None = None
        self._narrow_keep: tuple[int, ...] = (0, 2)
        self.setObjectName("EvidencePanel")
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 14, 16, 14)
        box.setSpacing(12)

        export = Card("Evidence pack", "A signed record anyone can check.")
        export.setProperty("icon", "lock")
        # One control a line: the panel beside an open account is ~360 px wide.
        dates = QGridLayout()
        dates.setHorizontalSpacing(8)
        self.limit = QCheckBox("Only a period")
        self.limit.setAccessibleName("Limit the export to a period")
        self.date_from = QDateEdit(QDate.currentDate().addDays(-90))
        self.date_to = QDateEdit(QDate.currentDate())
        for w, name in ((self.date_from, "From"), (self.date_to, "To")):
            w.setCalendarPopup(True)
            w.setDisplayFormat("d MMM yyyy")
            w.setAccessibleName(f"Period {name.lower()}")
            w.setEnabled(False)
        self.limit.toggled.connect(self.date_from.setEnabled)
        self.limit.toggled.connect(self.date_to.setEnabled)
        dates.addWidget(self.limit, 0, 0, 1, 3)
        dates.addWidget(label("From", "muted"), 1, 0)
        dates.addWidget(self.date_from, 1, 1)
        dates.addWidget(label("to", "muted"), 2, 0)
        dates.addWidget(self.date_to, 2, 1)
        dates.setColumnStretch(2, 1)
        export.body.addLayout(dates)
        row = QHBoxLayout()
        self.export_button = QPushButton(theme.icon("documents", "#FFFFFF"), "Export evidence…")
        self.export_button.setProperty("kind", "primary")
        self.export_button.setAccessibleName("Export evidence")
        self.export_button.clicked.connect(self._choose_folder)
        row.addWidget(self.export_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(120)
        self.progress.setVisible(False)
        self.progress.setAccessibleName("Exporting")
        row.addWidget(self.progress)
        row.addStretch(1)
        export.body.addLayout(row)
        self.export_status = label("", "muted", wrap=True)
        export.body.addWidget(self.export_status)
        self.export_error = label("", "field-error", wrap=True)
        self.export_error.setVisible(False)
        export.body.addWidget(self.export_error)
        box.addWidget(export)

        answers = Card("Dispute answers", "Straight from the audit trail and the payment records.")
        self.policy = QComboBox()
        self.policy.setAccessibleName("Policy")
        answers.body.addWidget(self.policy)
        # Stacked by default, so the panel's minimum width is the stacked one (a splitter never
        # hands back width it gave to a wider minimum); side by side once it is wide (resizeEvent).
        pick = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.pick_row = pick
        self.cancel_button = QPushButton("Paid before cancellation?")
        self.cancel_button.setAccessibleName("Show everything between the due date and the cancellation")
        self.cancel_button.clicked.connect(lambda: self.load_answer("cancellation"))
        self.charges_button = QPushButton("Charged twice?")
        self.charges_button.setAccessibleName("Show every charge with its Stripe ids")
        self.charges_button.clicked.connect(lambda: self.load_answer("charges"))
        pick.addWidget(self.cancel_button)
        pick.addWidget(self.charges_button)
        answers.body.addLayout(pick)
        self.summary = label("Choose a policy and a question.", "muted", wrap=True)
        answers.body.addWidget(self.summary)
        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("Dispute answer")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.setMinimumHeight(260)
        answers.body.addWidget(self.table, 1)
        self.answer_error = label("", "field-error", wrap=True)
        self.answer_error.setVisible(False)
        answers.body.addWidget(self.answer_error)
        box.addWidget(answers, 1)
        for subtitle in self.findChildren(QLabel, "CardSubtitle"):
            subtitle.setWordWrap(True)  # a narrow side panel wraps the card's subtitle

    # --- data --------------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        current = self.policy.currentData()
        self.policy.clear()
        for p in overview.policies:
            self.policy.addItem(f"{p.number} · {p.status.replace('_', ' ')}", p.id)
        self.policy.setCurrentIndex(max(self.policy.findData(current), 0))

    def _period(self) -> tuple[date | None, date | None]:
        if not self.limit.isChecked():
            return None, None
        return self.date_from.date().toPython(), self.date_to.date().toPython()  # type: ignore[return-value]

    # --- export ------------------------------------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the evidence pack in", str(Path.home()))
        if folder:
            self.export_to(Path(folder))

    @qasync.asyncSlot(object)
    async def export_to(self, folder: Path) -> None:
        """Fetch the pack and unpack it into `folder`/evidence-<account> (tests call this directly)."""
        self.export_error.setVisible(False)
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.export_status.setText("Sealing the trail and building the pack…")
        start, end = self._period()
        try:
            data = await self.client.evidence_pack(self.account_id, date_from=start, date_to=end)
        except ApiError as exc:
            self._fail(ERRORS.get(exc.code, exc.detail or exc.code))
            return
        except PortalError as exc:
            self._fail(f"Portal could not be reached ({exc}). Try again.")
            return
        finally:
            self.export_button.setEnabled(True)
            self.progress.setVisible(False)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            zf.extractall(folder)
            top = zf.namelist()[0].split("/")[0]
        self.last_pack = folder / top
        events = len(json.loads((self.last_pack / "events.json").read_text())["events"])
        self.export_status.setText(
            f"Saved {events} signed events, the PDF and a verifier in {self.last_pack}. "
            "Anyone can check it with: python verify_pack.py"
        )
        self.exported.emit(str(self.last_pack))

    def _fail(self, text: str) -> None:
        self.export_status.setText("")
        self.export_error.setText(text)
        self.export_error.setVisible(True)

    # --- dispute answers ---------------------------------------------------------------------

    @qasync.asyncSlot(str)
    async def load_answer(self, kind: str) -> None:
        policy_id = self.policy.currentData()
        if not policy_id:
            return
        self.answer_error.setVisible(False)
        self.summary.setText("Reading the trail…")
        try:
            answer = await self.client.dispute_answer(policy_id, kind)
        except ApiError as exc:
            self.summary.setText("")
            self.answer_error.setText(ERRORS.get(exc.code, exc.detail or exc.code))
            self.answer_error.setVisible(True)
            return
        except PortalError as exc:
            self.summary.setText("")
            self.answer_error.setText(f"Portal could not be reached ({exc}).")
            self.answer_error.setVisible(True)
            return
        self.answer = answer
        if kind == "cancellation":
            self._show_cancellation(answer)
        else:
            self._show_charges(answer)
        self._bring_answer_into_view()

    def _bring_answer_into_view(self) -> None:
        """In a scrolling side panel the answer lands below the buttons: scroll it into view."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            parent.ensureWidgetVisible(self.summary, 0, 40)

    def _fill(
        self,
        header: list[str],
        rows: list[list[str]],
        danger_rows: set[int] | None = None,
        narrow_keep: tuple[int, ...] = (0, 2),
        stretch: int = 2,
    ) -> None:
        """`stretch`: the column that takes the remaining width and wraps (kept when narrow)."""
        self._narrow_keep = narrow_keep
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if danger_rows and r in danger_rows:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, c, item)
        head = self.table.horizontalHeader()
        for c in range(len(header)):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        self._fit_columns()
        self.table.resizeRowsToContents()

    def _fit_columns(self) -> None:
        """Beside an open account the panel is narrow: keep time and what happened, the rest is
        in each row's tooltip."""
        narrow = self.width() < 720
        columns = self.table.columnCount()
        for c in range(columns):
            keep = c in self._narrow_keep or not narrow
            self.table.setColumnHidden(c, not keep)
        if narrow:
            for r in range(self.table.rowCount()):
                cells = [self.table.item(r, c) for c in range(columns)]
                full = " · ".join(i.text() for i in cells if i is not None and i.text())
                for item in cells:
                    if item is not None:
                        item.setToolTip(full)

    def resizeEvent(self, event: object) -> None:  # Qt's name
        super().resizeEvent(event)  # type: ignore[arg-type]
        # Beside an open account the panel is ~340 px: rows of controls stack instead of clipping.
        stack = self.width() < STACK_BELOW
        direction = QBoxLayout.Direction.TopToBottom if stack else QBoxLayout.Direction.LeftToRight
        if self.pick_row.direction() != direction:
            self.pick_row.setDirection(direction)
        if self.table.columnCount():
            self._fit_columns()
            self.table.resizeRowsToContents()

    def _show_cancellation(self, a: dict[str, Any]) -> None:
        if not a.get("applies"):
            self.summary.setText(f"Policy {a.get('policy_number')} has no missed payment on record.")
            self._fill(["Local time", "Kind", "What happened", "Who / how"], [])
            return
        paid = "yes" if a.get("succeeded_before_cancellation") else "no"
        end = "cancellation" if a.get("cancelled_at") else "now (not cancelled)"
        self.summary.setText(
            f"{a['policy_number']}: {_money(a.get('amount_due_minor'))} was due {a['due_date']}. "
            f"From then to {end}: {a['payment_attempts']} payment event(s); a payment succeeded: {paid}. "
            f"Times are {a['time_zone']}."
        )
        rows = [
            [_local(e["local_time"], e.get("local_zone")), e["category"], e["what"], e["who"]]
            for e in a["events"]
        ]
        failed = {i for i, e in enumerate(a["events"]) if e["outcome"] != "success"}
        self._fill(["Local time", "Kind", "What happened", "Who / how"], rows, failed)

    def _show_charges(self, a: dict[str, Any]) -> None:
        dupes = set(a.get("possible_duplicates") or [])
        count = int(a["succeeded_count"])
        recorded = int(a.get("recorded_count") or 0)
        how = ""
        if recorded:
            cards = count - recorded
            how = (
                f" ({cards} card charge{'s' if cards != 1 else ''} through Portal, "
                f"{recorded} recorded as paid without a Portal charge)"
            )
        self.summary.setText(
            f"{a['policy_number']}, {a['from']} to {a['to']}: "
            f"{count} payment{'s' if count != 1 else ''}{how} "
            f"totalling {_money(a['charged_minor'])}, refunded {_money(a['refunded_minor'])}. "
            f"Times are {a.get('time_zone', 'the policy’s time zone')}. "
            + (
                "Possible duplicates are shown in red."
                if dupes
                else "No charge was taken twice for the same item."
            )
        )
        rows = [
            [
                _local(c["local_time"], _zone_name(c["local_time"], a.get("time_zone"))),
                CHARGE_KINDS.get(c["kind"], c["kind"].replace("_", " "))
                + (f" · {c['status']}" if c["kind"] != "recorded" else ""),
                _money(c["amount_minor"])
                + (f" (refunded {_money(c['refunded_minor'])})" if c["refunded_minor"] else ""),
                c.get("stripe_payment_intent_id") or "—",
                c.get("receipt_number") or "",
            ]
            for c in a["charges"]
        ]
        red = {i for i, c in enumerate(a["charges"]) if c["payment_id"] in dupes}
        # Narrow: time, what kind, amount; the Stripe id and receipt are in each row's tooltip.
        self._fill(
            ["Local time", "Charge", "Amount", "Stripe PaymentIntent", "Receipt"],
            rows,
            red,
            (0, 1, 2),
            stretch=1,
        )

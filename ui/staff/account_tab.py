"""One open account in the staff window: the shared AccountView, the acting-for banner,
presence, the live change-log panel and internal notes (plus counter printing at a branch)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, AuditEvent, LiveState, Me, PortalClient, PortalError
from portal_app.client.models import PaymentRow, Viewer
from ui import theme, wording
from ui.account_view import AccountView
from ui.formatting import account_zone
from ui.staff import wording as staff_wording
from ui.staff.changelog import ChangeLogPanel
from ui.staff.notes import NotesPanel
from ui.staff.printing import PrintFailed, print_pdfs
from ui.staff.tasks import TaskOwner
from ui.staff_evidence import EvidencePanel
from ui.widgets import label

SIDE_MIN_WIDTH = 380  # the change log, notes and evidence are laid out from this width up
# The customer's pages are laid out for about 1,000 px (the payment form's four fields in a row)
# plus the compact navigation: narrower than that plus the side panel, the side panel is a drawer
# over the account (F6, with a count of changes that arrived while it was closed).
ACCOUNT_MIN_WIDTH = 1060
DRAWER_BELOW = ACCOUNT_MIN_WIDTH + SIDE_MIN_WIDTH


class AccountTab(QWidget, TaskOwner):
    """Threading/async rule: Qt thread; its AccountView runs the live feed on the qasync loop.
    Call `aclose()` (awaited) before dropping it so the feed's WebSocket closes cleanly."""

    titleChanged = Signal(str)
    loadFailed = Signal(object)  # PortalError

    def __init__(
        self,
        client: PortalClient,
        me: Me,
        account_id: str,
        *,
        customer_name: str = "",
        branch_name: str | None = None,
        data_dir: Path | None = None,
    ) -> None:
        QWidget.__init__(self)
        TaskOwner.__init__(self)
        self.client = client
        self.me = me
        self.account_id = account_id
        self.customer_name = customer_name
        self.branch_name = branch_name
        self.viewers: list[Viewer] = []
        self.at_counter = me.role == "branch_staff"
        self.setObjectName("AccountTab")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)

        # The banner says, all the time, that what happens here is done for the customer.
        self.banner = QFrame()
        self.banner.setObjectName("ActingBanner")
        self.banner.setProperty("channel", "branch" if self.at_counter else "agent")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(16, 8, 16, 8)
        row.setSpacing(10)
        icon = QLabel()
        icon.setPixmap(theme.pixmap("user", theme.BLUE, 18))
        row.addWidget(icon)
        self.acting = label("", name="ActingText")
        row.addWidget(self.acting, 1)
        self.others = label("", name="OtherViewers")
        self.others.setVisible(False)
        row.addWidget(self.others)
        # Below DRAWER_BELOW px the side panel is a drawer over the account (this button opens
        # it), so the customer's pages keep the whole width on a small screen.
        self.side_toggle = QPushButton(theme.icon("activity", theme.BLUE), "Change log")
        self.side_toggle.setObjectName("SideToggle")
        self.side_toggle.setProperty("kind", "quiet")
        self.side_toggle.setCheckable(True)
        self.side_toggle.setAccessibleName("Show the change log, notes and evidence")
        self.side_toggle.setToolTip("Change log, notes and evidence (F6)")
        self.side_toggle.toggled.connect(self._show_drawer)
        self.side_toggle.setVisible(False)
        row.addWidget(self.side_toggle)
        self.unseen = 0  # live events that arrived while the drawer was closed
        self.presence = label("Customer not in the app", name="Presence")
        self.presence.setProperty("online", False)
        self.presence.setAccessibleName("Customer presence")
        row.addWidget(self.presence)
        column.addWidget(self.banner)

        if self.at_counter:
            column.addWidget(self._counter_bar())

        self.view = AccountView(
            client, account_id, first_name=customer_name.split(" ")[0], data_dir=data_dir, for_staff=True
        )
        self.changelog = ChangeLogPanel()
        self.notes = NotesPanel(client, account_id)
        side = QFrame()
        self.side = side
        self.drawer_mode = False
        side.setObjectName("SidePanel")
        side_box = QVBoxLayout(side)
        side_box.setContentsMargins(0, 6, 0, 0)
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("SideTabs")
        self.side_tabs.addTab(self.changelog, "Change log")
        self.side_tabs.addTab(self.notes, "Notes")
        self.evidence: EvidencePanel | None = None
        if me.role in ("agent", "supervisor", "admin"):
            # Disputes: export the signed evidence pack, read the dispute answers (issue 8).
            self.evidence = EvidencePanel(client, account_id)
            # On a short screen the panel scrolls rather than squeezing the answer table away.
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(self.evidence)
            self.side_tabs.addTab(scroll, "Evidence")
        side_box.addWidget(self.side_tabs)
        side.setMinimumWidth(SIDE_MIN_WIDTH)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([900, 360])
        self.splitter.setChildrenCollapsible(False)
        column.addWidget(self.splitter, 1)

        self.view.eventsArrived.connect(self._on_events)
        self.view.feedStateChanged.connect(self.changelog.set_state)
        self.view.presenceChanged.connect(self._on_presence)
        self.view.overviewLoaded.connect(self._on_overview)
        self.view.loadFailed.connect(self.loadFailed)
        self._update_banner()

    def show_evidence(self) -> None:
        """Bring the Evidence side tab forward (agents and supervisors only)."""
        if self.evidence is not None:
            self.side_tabs.setCurrentIndex(self.side_tabs.count() - 1)
            if self.drawer_mode:
                self.side_toggle.setChecked(True)

    # --- the side panel: beside the account, or a drawer over it on a small screen ---------

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's name
        super().resizeEvent(event)
        self.set_drawer_mode(event.size().width() < DRAWER_BELOW)
        if self.drawer_mode:
            self._place_drawer()

    def toggle_drawer(self) -> None:
        """F6 (the window's menu): open or close the side panel when it is a drawer."""
        if self.drawer_mode:
            self.side_toggle.toggle()

    def set_drawer_mode(self, drawer: bool) -> None:
        if drawer == self.drawer_mode:
            return
        self.drawer_mode = drawer
        self.side_toggle.setVisible(drawer)
        self.side.setProperty("drawer", drawer)
        theme.repolish(self.side)
        if drawer:
            self.side.setParent(self)  # out of the splitter: the account gets the width
            self.side.setVisible(self.side_toggle.isChecked())
            self._place_drawer()
        else:
            self.splitter.addWidget(self.side)
            self.splitter.setStretchFactor(1, 0)
            self.side.setVisible(True)
            self.splitter.setSizes([max(self.width() - SIDE_MIN_WIDTH, 1), SIDE_MIN_WIDTH])
            self._set_unseen(0)

    def _place_drawer(self) -> None:
        top = self.splitter.geometry().top()
        width = min(max(SIDE_MIN_WIDTH, self.width() // 2 - 40), self.width())
        self.side.setGeometry(self.width() - width, top, width, self.height() - top)
        self.side.raise_()

    def _show_drawer(self, shown: bool) -> None:
        if not self.drawer_mode:
            return
        self.side.setVisible(shown)
        if shown:
            self._place_drawer()
            self._set_unseen(0)

    def _set_unseen(self, count: int) -> None:
        self.unseen = count
        self.side_toggle.setText(f"Change log ({count} new)" if count else "Change log")

    # --- lifetime --------------------------------------------------------------------------

    def start(self) -> None:
        self.view.start()
        self.notes.reload()
        if self.at_counter:
            self.spawn(self.load_receipts())

    async def aclose(self) -> None:
        for task in self.cancel_tasks() + self.notes.cancel_tasks():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.view.aclose()

    # --- feed ------------------------------------------------------------------------------

    def _on_events(self, events: list[AuditEvent]) -> None:
        # The backlog arrives before the feed reports LIVE: only live arrivals are highlighted.
        self.changelog.add_events(events, highlight=self.view.feed_state is LiveState.LIVE)
        if self.view.feed_state is LiveState.LIVE:
            if self.drawer_mode and not self.side.isVisible():
                self._set_unseen(self.unseen + len(events))
            if any(e.action == "note.added" for e in events):
                self.notes.reload()
            if self.at_counter and any(e.action.startswith("payment") for e in events):
                self.spawn(self.load_receipts())

    def _on_presence(self, viewers: list[Viewer]) -> None:
        self.viewers = viewers
        online, text = staff_wording.customer_presence(viewers)
        self.presence.setText(text)
        self.presence.setProperty("online", online)
        self.presence.setAccessibleName(f"Customer presence: {text}")
        theme.repolish(self.presence)
        others = staff_wording.other_staff(viewers, self.me.id)
        self.others.setText(others)
        self.others.setVisible(bool(others))

    def _on_overview(self, overview: AccountOverview) -> None:
        if not self.customer_name and overview.holders:
            self.customer_name = overview.holders[0].full_name
        self._update_banner()
        self.changelog.model.set_zone(account_zone(p.time_zone for p in overview.policies))
        self.titleChanged.emit(self.customer_name or overview.name)
        if self.evidence is not None:
            self.evidence.show_overview(overview)

    def _update_banner(self) -> None:
        text = staff_wording.acting_banner(
            self.customer_name, self.me.full_name or self.me.email, self.me.role, self.branch_name
        )
        self.acting.setText(text)
        self.acting.setAccessibleName(text)

    # --- counter printing (branch desk) -------------------------------------------------------

    def _counter_bar(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("CounterBar")
        bar.setStyleSheet("QFrame#CounterBar { background: #FFFFFF; border-bottom: 1px solid #DCE3ED; }")
        row = QHBoxLayout(bar)
        row.setContentsMargins(16, 6, 16, 6)
        row.setSpacing(10)
        row.addWidget(label("At the counter:", "muted"))
        self.print_card_button = QPushButton(theme.icon("print", theme.BLUE), "Print ID card")
        self.print_card_button.setAccessibleName("Print the customer's ID card")
        self.print_card_button.clicked.connect(lambda: self.spawn(self.print_id_card()))
        row.addWidget(self.print_card_button)
        self.receipt_picker = QComboBox()
        self.receipt_picker.setAccessibleName("Receipt to print")
        self.receipt_picker.setMinimumWidth(260)
        self.receipt_picker.addItem("No receipts yet", None)
        self.receipt_picker.setEnabled(False)
        row.addWidget(self.receipt_picker)
        self.print_receipt_button = QPushButton(theme.icon("print", theme.BLUE), "Print receipt")
        self.print_receipt_button.setAccessibleName("Print the selected receipt")
        self.print_receipt_button.setEnabled(False)
        self.print_receipt_button.clicked.connect(lambda: self.spawn(self.print_receipt()))
        row.addWidget(self.print_receipt_button)
        self.print_status = label("", "muted")
        row.addWidget(self.print_status, 1)
        return bar

    async def load_receipts(self) -> None:
        try:
            overview = await self.client.payments(self.account_id)
        except PortalError:
            return  # the Payments page words the problem; the picker keeps what it had
        paid = [p for p in overview.history if p.receipt_number]
        paid.sort(key=lambda p: p.completed_at.isoformat() if p.completed_at else "", reverse=True)
        self.show_receipts(paid)

    def show_receipts(self, receipts: list[PaymentRow]) -> None:
        self.receipt_picker.clear()
        for r in receipts:
            when = wording.day(r.completed_at.date()) if r.completed_at else ""
            amount = wording.money(r.amount_minor, r.currency)
            self.receipt_picker.addItem(f"{r.receipt_number} · {r.policy_number} · {amount} · {when}", r.id)
        if not receipts:
            self.receipt_picker.addItem("No receipts yet", None)
        self.receipt_picker.setEnabled(bool(receipts))
        self.print_receipt_button.setEnabled(bool(receipts))

    async def print_id_card(self, printer: QPrinter | None = None) -> int:
        """Print the ID card of every vehicle (the printable page of each card)."""
        self._print_status("Preparing the ID card…")
        try:
            cards = await self.client.id_cards(self.account_id)
            if not cards:
                self._print_status("This customer has no ID card to print.", error=True)
                return 0
            pdfs = [await self.client.document_content(c.page_document_id) for c in cards]
        except PortalError as exc:
            self._print_status(staff_wording.error_text(exc), error=True)
            return 0
        return self._print(pdfs, "ID card", printer)

    async def print_receipt(self, printer: QPrinter | None = None) -> int:
        payment_id = self.receipt_picker.currentData()
        if not payment_id:
            return 0
        self._print_status("Preparing the receipt…")
        try:
            pdf = await self.client.payment_receipt(str(payment_id))
        except PortalError as exc:
            self._print_status(staff_wording.error_text(exc), error=True)
            return 0
        return self._print([pdf], "receipt", printer)

    def _print(self, pdfs: list[bytes], what: str, printer: QPrinter | None) -> int:
        if printer is None:
            # The dialog is opened, not exec()'d: the event loop (and the live feed) keep running.
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            dialog = QPrintDialog(printer, self)
            dialog.setWindowTitle(f"Print {what}")
            dialog.accepted.connect(lambda: self._print(pdfs, what, printer))
            dialog.rejected.connect(lambda: self._print_status(""))
            dialog.open()  # type: ignore[call-arg]  # QDialog.open(); the stubs list only open(receiver, member)
            return 0
        try:
            pages = print_pdfs(pdfs, printer)
        except PrintFailed as exc:
            self._print_status(str(exc), error=True)
            return 0
        self._print_status(f"Sent the {what} to the printer ({pages} page{'s' if pages != 1 else ''}).")
        return pages

    def _print_status(self, text: str, *, error: bool = False) -> None:
        with contextlib.suppress(RuntimeError):
            self.print_status.setText(text)
            self.print_status.setProperty("role", "field-error" if error else "muted")
            theme.repolish(self.print_status)

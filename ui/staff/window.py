"""The staff window: search on the left, open accounts in tabs, each with its change log.

Agents and supervisors open accounts straight from search (the service audits each opening);
branch staff verify the customer at the counter first; supervisors also see which accounts
agents have open right now.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, BranchVerification, Me, PortalClient, PortalError, ServiceUnreachable
from portal_app.client.models import CustomerHit, OpenAccount
from ui import theme, wording
from ui.staff import wording as staff_wording
from ui.staff.account_tab import AccountTab
from ui.staff.branch_desk import VerifyPanel
from ui.staff.search import SearchPanel
from ui.staff.style import STAFF_QSS
from ui.staff.tasks import TaskOwner
from ui.supervisor_dashboard import CaseQueue, SupervisorDashboard
from ui.widgets import EmptyState, Page, label

OPEN_ACCOUNTS_REFRESH_MS = 5000
PREFERRED_SIZE = QSize(1440, 880)
# The smallest window every staff page is laid out for (a 1024x768 screen minus a task bar).
MIN_SIZE = QSize(1000, 640)


def fit_to_screen(window: QWidget, preferred: QSize) -> None:
    """Size `window` to `preferred`, but never beyond the screen's available area (the task bar
    and panels excluded), and centre it there, so nothing (Sign out) starts off-screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(preferred)
        return
    area = screen.availableGeometry()
    # The frame (title bar, borders) is outside the client size the window manager gives us.
    frame = QSize(0, 32) if window.isWindow() else QSize(0, 0)
    size = preferred.boundedTo(area.size() - frame).expandedTo(window.minimumSize().boundedTo(area.size()))
    window.resize(size)
    window.move(
        area.left() + (area.width() - size.width()) // 2,
        area.top() + max((area.height() - size.height() - frame.height()) // 2, 0),
    )


class OpenAccountsPanel(QWidget, TaskOwner):
    """Supervisors: accounts staff have open now. Refreshed every few seconds while shown.

    Threading/async rule: Qt thread; fetches are coroutines on the qasync loop.
    """

    openRequested = Signal(str, str)  # account id, account name

    def __init__(self, client: PortalClient) -> None:
        QWidget.__init__(self)
        TaskOwner.__init__(self)
        self.client = client
        self.accounts: list[OpenAccount] = []
        self.setObjectName("PageArea")
        box = QVBoxLayout(self)
        box.setContentsMargins(36, 28, 36, 24)
        box.setSpacing(6)
        head = QHBoxLayout()
        head.addWidget(label("Accounts being viewed", name="PageTitle"))
        head.addStretch(1)
        self.refresh_button = QPushButton(theme.icon("refresh", theme.BLUE), "Refresh")
        self.refresh_button.setAccessibleName("Refresh the list of accounts being viewed")
        self.refresh_button.clicked.connect(self.refresh)
        head.addWidget(self.refresh_button)
        box.addLayout(head)
        box.addWidget(
            label(
                "Who on the team has which customer open right now, and whether the customer is online too.",
                name="PageSubtitle",
                wrap=True,
            )
        )
        box.addSpacing(10)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("OpenAccounts")
        self.table.setAccessibleName("Accounts being viewed")
        self.table.setHorizontalHeaderLabels(["Account", "Open by", "Since", "Customer"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(self._open_row)
        self.empty = EmptyState(
            "user", "Nobody has an account open", "Accounts agents and branch staff open appear here at once."
        )
        box.addWidget(self.table, 1)
        box.addWidget(self.empty, 1)
        self.table.setVisible(False)
        self.timer = QTimer(self)
        self.timer.setInterval(OPEN_ACCOUNTS_REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def refresh(self) -> None:
        self.spawn(self.load())

    async def load(self) -> None:
        try:
            accounts = await self.client.open_accounts()
        except PortalError as exc:
            self.error.setText(staff_wording.error_text(exc))
            self.error.setVisible(True)
            return
        self.error.setVisible(False)
        self.show_accounts(accounts)

    def show_accounts(self, accounts: list[OpenAccount]) -> None:
        self.accounts = accounts
        self.table.setRowCount(len(accounts))
        for row, acc in enumerate(accounts):
            staff = ", ".join(f"{s.name} ({staff_wording.role(s.role)})" for s in acc.staff)
            since = min((s.since for s in acc.staff if s.since), default=None)
            cells = [
                acc.account_name,
                staff,
                wording.local_time(since) if since else "",
                "● Online in the app" if acc.customer_online else "Not online",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3 and acc.customer_online:
                    item.setForeground(Qt.GlobalColor.darkGreen)
                self.table.setItem(row, col, item)
        self.table.setVisible(bool(accounts))
        self.empty.setVisible(not accounts)

    def _open_row(self, row: int, _col: int) -> None:
        acc = self.accounts[row]
        self.openRequested.emit(acc.account_id, acc.account_name)


class StaffWindow(QMainWindow):
    """Threading/async rule: Qt thread only; account tabs run their feeds on the qasync loop.
    Call `aclose()` (awaited) before dropping it so every feed closes cleanly."""

    signOutRequested = Signal()
    closed = Signal()
    sessionProblem = Signal(object)  # PortalError the controller should handle (session ended)
    accountOpened = Signal(object)  # AccountTab

    def __init__(
        self, client: PortalClient, me: Me, *, server_label: str = "", data_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.client = client
        self.me = me
        self.data_dir = data_dir
        self.account_view = None  # the controller's first-overview hook is for the customer window
        self.at_counter = me.role == "branch_staff"
        self.is_supervisor = me.role in {"supervisor", "admin"}
        self.console_title = staff_wording.CONSOLE_TITLES.get(me.role, "Staff console")
        self.setWindowTitle(f"Portal — {self.console_title}")
        self.setMinimumSize(MIN_SIZE)
        fit_to_screen(self, PREFERRED_SIZE)
        self.setStyleSheet(STAFF_QSS)
        self._tasks: set[asyncio.Future[Any]] = set()

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._header())
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        hint = "At the counter, pick the customer, then verify them." if self.at_counter else ""
        self.search = SearchPanel(client, hint=hint)
        self.search.openRequested.connect(self._open_hit)
        body.addWidget(self.search)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("StaffTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        # An open account gets the width: the search panel steps aside and comes back with
        # Ctrl+F, the corner button, or any home tab.
        self.find_button = QPushButton(theme.icon("search", theme.BLUE), "Find a customer")
        self.find_button.setAccessibleName("Find a customer")
        self.find_button.setToolTip("Find a customer (Ctrl+F)")
        self.find_button.setProperty("kind", "quiet")
        self.find_button.clicked.connect(self.show_search)
        self.tabs.setCornerWidget(self.find_button, Qt.Corner.TopRightCorner)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        body.addWidget(self.tabs, 1)
        column.addLayout(body, 1)
        self.setCentralWidget(central)

        self.verify_panel: VerifyPanel | None = None
        self.open_accounts_panel: OpenAccountsPanel | None = None
        self.home: QWidget
        if self.at_counter:
            self.verify_panel = VerifyPanel(client)
            self.verify_panel.verified.connect(self._open_verified)
            self.home = self.verify_panel
            self._add_fixed_tab(self.verify_panel, "Counter")
        else:
            start = QWidget()
            start.setObjectName("PageArea")
            sbox = QVBoxLayout(start)
            sbox.setContentsMargins(60, 60, 60, 60)
            sbox.addWidget(
                EmptyState(
                    "search",
                    "Find the customer you are speaking to",
                    "Search by name, policy or claim number, phone, email or postcode (Ctrl+F). "
                    "Their account opens here in a tab, exactly as they see it, with every change "
                    "arriving live beside it. Opening an account is recorded on its trail.",
                )
            )
            sbox.addStretch(1)
            self.home = start
            self._add_fixed_tab(start, "Start")
        if self.is_supervisor:
            self.open_accounts_panel = OpenAccountsPanel(client)
            self.open_accounts_panel.openRequested.connect(lambda a, n: self.open_account(a))
            self._add_fixed_tab(self.open_accounts_panel, "Being viewed")
            self.open_accounts_panel.timer.start()
            self.open_accounts_panel.refresh()
            # Complaints (issue 8): service figures with charts, and the queue counting down.
            self.service_dashboard = SupervisorDashboard(client)
            self._add_fixed_tab(self.service_dashboard, "Service dashboard")
            self.service_dashboard.reload()
        self.case_queue: CaseQueue | None = None
        self.cases_page: Page | None = None
        if me.role == "agent":
            self.case_queue = CaseQueue(client)
            self.cases_page = Page("Cases", "Open complaints and disputes, the most urgent promise first.")
            self.cases_page.content.addWidget(self.case_queue)
            self.case_queue.setMinimumHeight(360)
            self._add_fixed_tab(self.cases_page, "Cases")
            self.case_queue.reload()
        elif self.is_supervisor:
            self.case_queue = self.service_dashboard.queue

        self.status_text = QLabel(f"Signed in as {me.email}" + (f" · {server_label}" if server_label else ""))
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().setSizeGripEnabled(False)
        self._menus()
        self.search.focus_search()

    # --- layout ----------------------------------------------------------------------------

    def _header(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("HeaderBar")
        bar.setFixedHeight(64)
        row = QHBoxLayout(bar)
        row.setContentsMargins(20, 8, 20, 8)
        row.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo", None, 32))
        row.addWidget(logo)
        row.addWidget(label("Portal", name="HeaderBrand"))
        row.addWidget(label(self.console_title, name="ConsoleBadge"))
        row.addStretch(1)
        user = QLabel()
        user.setPixmap(theme.pixmap("user", theme.MUTED, 18))
        row.addWidget(user)
        who = f"{self.me.full_name or self.me.email} · {staff_wording.role(self.me.role)}"
        row.addWidget(label(who, name="HeaderUser"))
        row.addSpacing(8)
        self.sign_out_button = QPushButton(theme.icon("signout", theme.BLUE), "Sign out")
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.clicked.connect(self.signOutRequested)
        row.addWidget(self.sign_out_button)
        return bar

    def _menus(self) -> None:
        portal = self.menuBar().addMenu("&Portal")
        find = QAction("&Find customer", self)
        find.setShortcut(QKeySequence("Ctrl+F"))
        find.triggered.connect(self.show_search)
        portal.addAction(find)
        close_tab = QAction("&Close account tab", self)
        close_tab.setShortcut(QKeySequence("Ctrl+W"))
        close_tab.triggered.connect(lambda: self._close_tab(self.tabs.currentIndex()))
        portal.addAction(close_tab)
        refresh = QAction("&Refresh", self)
        refresh.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
        refresh.triggered.connect(self.refresh)
        portal.addAction(refresh)
        side = QAction("Change log, notes and e&vidence", self)
        side.setShortcut(QKeySequence("F6"))
        side.triggered.connect(self._toggle_side)
        portal.addAction(side)
        portal.addSeparator()
        sign_out = QAction("Sign &out", self)
        sign_out.setShortcut(QKeySequence("Ctrl+Shift+L"))
        sign_out.triggered.connect(self.signOutRequested)
        portal.addAction(sign_out)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        portal.addAction(quit_action)

    def show_search(self) -> None:
        self.search.setVisible(True)
        self.find_button.setVisible(False)
        self.search.focus_search()

    def _on_tab_changed(self, index: int) -> None:
        # Search sits beside the home tab (Start, or the counter); every other tab (an account,
        # the Cases queue, the dashboard) gets the whole width, and Ctrl+F brings search back.
        at_home = self.tabs.widget(index) is getattr(self, "home", None)
        self.search.setVisible(at_home)
        self.find_button.setVisible(not at_home)

    def _add_fixed_tab(self, widget: QWidget, title: str) -> None:
        index = self.tabs.addTab(widget, title)
        # Home tabs stay: no close button on them.
        self.tabs.tabBar().setTabButton(index, self.tabs.tabBar().ButtonPosition.RightSide, None)

    # --- accounts --------------------------------------------------------------------------

    def account_tabs(self) -> list[AccountTab]:
        return [w for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), AccountTab)]

    def _open_hit(self, hit: CustomerHit) -> None:
        if self.at_counter and self.verify_panel is not None:
            # Branch staff may not open an account before the customer is verified.
            existing = self._tab_for(hit.account_id)
            if existing is not None:
                self.tabs.setCurrentWidget(existing)
                return
            self.verify_panel.prefill(hit.policy_numbers[0] if hit.policy_numbers else "")
            self.tabs.setCurrentWidget(self.verify_panel)
            return
        self.open_account(hit.account_id, hit.full_name)

    def _open_verified(self, verification: BranchVerification) -> None:
        self.open_account(verification.account_id, verification.customer_name)

    def _tab_for(self, account_id: str) -> AccountTab | None:
        return next((t for t in self.account_tabs() if t.account_id == account_id), None)

    def open_account(self, account_id: str, customer_name: str = "") -> AccountTab:
        """Open (or switch to) the account's tab; the service records the opening."""
        existing = self._tab_for(account_id)
        if existing is not None:
            self.tabs.setCurrentWidget(existing)
            return existing
        tab = AccountTab(
            self.client,
            self.me,
            account_id,
            customer_name=customer_name,
            branch_name=None,
            data_dir=self.data_dir,
        )
        tab.titleChanged.connect(lambda title, t=tab: self._retitle(t, title))
        # A complaint raised or answered on an open account reaches the Cases queue at once.
        tab.view.eventsArrived.connect(self._on_account_events)
        tab.loadFailed.connect(self._on_load_failed)
        index = self.tabs.addTab(tab, theme.icon("user", theme.BLUE), customer_name or "Opening…")
        self.tabs.setCurrentIndex(index)
        tab.start()
        self.accountOpened.emit(tab)
        return tab

    def _retitle(self, tab: AccountTab, title: str) -> None:
        index = self.tabs.indexOf(tab)
        if index >= 0:
            self.tabs.setTabText(index, title)
            self.tabs.setTabToolTip(index, f"{title}: account open")

    def _close_tab(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if not isinstance(tab, AccountTab):
            return
        self.tabs.removeTab(index)
        self._spawn(self._dispose(tab))

    async def _dispose(self, tab: AccountTab) -> None:
        await tab.aclose()
        tab.deleteLater()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _toggle_side(self) -> None:
        tab = self.tabs.currentWidget()
        if isinstance(tab, AccountTab):
            tab.toggle_drawer()

    def _on_account_events(self, events: list[Any]) -> None:
        if self.case_queue is not None:
            self.case_queue.note_events(events)

    def refresh(self) -> None:
        """F5 / Ctrl+R: reload what the current tab shows."""
        tab = self.tabs.currentWidget()
        if isinstance(tab, AccountTab):
            tab.view.reload()
        elif tab is self.open_accounts_panel and self.open_accounts_panel is not None:
            self.open_accounts_panel.refresh()
        elif self.is_supervisor and tab is self.service_dashboard:
            self.service_dashboard.reload()
        elif tab is self.cases_page and self.case_queue is not None:
            self.case_queue.reload()

    def _on_load_failed(self, exc: PortalError) -> None:
        if isinstance(exc, ApiError) and exc.ends_session:
            self.sessionProblem.emit(exc)
            return
        if isinstance(exc, ServiceUnreachable):
            self.statusBar().showMessage("Can't reach the Portal service: showing what we last loaded.", 8000)
        else:
            self.statusBar().showMessage(staff_wording.error_text(exc), 8000)

    # --- lifetime --------------------------------------------------------------------------

    async def aclose(self) -> None:
        self.search.aclose()
        if self.case_queue is not None:
            self.case_queue.stop()
        if self.open_accounts_panel is not None:
            self.open_accounts_panel.timer.stop()
            for task in self.open_accounts_panel.cancel_tasks():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for tab in self.account_tabs():
            await tab.aclose()

    def closeEvent(self, event: QCloseEvent) -> None:
        for tab in self.account_tabs():
            tab.view.stop()
        if self.open_accounts_panel is not None:
            self.open_accounts_panel.timer.stop()
        if self.case_queue is not None:
            self.case_queue.stop()
        super().closeEvent(event)
        self.closed.emit()

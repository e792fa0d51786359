"""The policyholder's main window: header, the AccountView, and the live-feed indicator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, LiveState, Me, PortalClient, PortalError, ServiceUnreachable
from portal_app.client.models import Viewer
from ui import theme
from ui.account_view import PAGES, AccountView
from ui.notifications import NotificationCentre
from ui.staff.wording import staff_presence_for_customer
from ui.widgets import ComboBox, EmptyState, label

FEED_LABELS = {
    LiveState.CONNECTING.value: "● Connecting",
    LiveState.LIVE.value: "● Live",
    LiveState.RECONNECTING.value: "● Reconnecting",
    LiveState.OFFLINE.value: "● Offline",
}


class MainWindow(QMainWindow):
    """Threading/async rule: Qt thread only; owns an AccountView whose coroutines run on the
    qasync loop. Call `aclose()` (awaited) before dropping it so the live feed closes cleanly."""

    signOutRequested = Signal()
    closed = Signal()  # the user closed the window (Ctrl+Q, the title bar): quit the app
    sessionProblem = Signal(object)  # PortalError the controller should handle (session ended)

    def __init__(
        self, client: PortalClient, me: Me, *, server_label: str = "", data_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.client = client
        self.data_dir = data_dir  # where pages keep local state (claim drafts, upload journal)
        self.me = me
        self.account_view: AccountView | None = None
        self.setWindowTitle("Portal")
        self.setMinimumSize(1100, 700)
        self.resize(1280, 800)

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._header())
        self.body = QStackedWidget()
        column.addWidget(self.body, 1)
        self.setCentralWidget(central)

        self.feed_indicator = QLabel(FEED_LABELS[LiveState.CONNECTING.value])
        self.feed_indicator.setObjectName("FeedIndicator")
        self.feed_indicator.setProperty("state", LiveState.CONNECTING.value)
        self.feed_indicator.setAccessibleName("Live updates: connecting")
        self.feed_indicator.setToolTip("Live updates from the account's change feed")
        self.status_text = QLabel(f"Signed in as {me.email}" + (f" · {server_label}" if server_label else ""))
        self.statusBar().addWidget(self.status_text, 1)
        # Presence: while staff have this account open, the customer sees who (issue 7).
        self.presence_label = QLabel("")
        self.presence_label.setObjectName("StaffPresence")
        self.presence_label.setStyleSheet("color: #1F4E99; font-weight: bold; padding-right: 12px;")
        self.presence_label.setVisible(False)
        self.statusBar().addPermanentWidget(self.presence_label)
        self.statusBar().addPermanentWidget(self.feed_indicator)
        self.statusBar().setSizeGripEnabled(False)
        self._menus()

        if me.accounts:
            self.open_account(me.accounts[0].id)
            if self.notifications is not None:
                self.notifications.start()
        else:
            self.body.addWidget(
                EmptyState(
                    "user",
                    "No customer account on this sign-in",
                    "This sign-in has no policies of its own. Staff open customer accounts "
                    "from the agent console or the branch desk.",
                )
            )
            self._set_feed_state(LiveState.OFFLINE.value)

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
        row.addSpacing(16)
        self.account_label = label("", name="HeaderAccount")
        row.addWidget(self.account_label)
        self.account_picker = ComboBox()
        self.account_picker.setAccessibleName("Choose account")
        for ref in self.me.accounts:
            self.account_picker.addItem(ref.name, ref.id)
        self.account_picker.setVisible(len(self.me.accounts) > 1)
        self.account_picker.activated.connect(
            lambda i: self.open_account(str(self.account_picker.itemData(i)))
        )
        row.addWidget(self.account_picker)
        row.addStretch(1)
        # The notification centre: only a policyholder's own sign-in has notices.
        self.notifications: NotificationCentre | None = None
        if not self.me.is_staff and self.me.accounts:
            self.notifications = NotificationCentre(self.client, self)
            row.addWidget(self.notifications)
            row.addSpacing(4)
        user = QLabel()
        user.setPixmap(theme.pixmap("user", theme.MUTED, 18))
        row.addWidget(user)
        row.addWidget(label(self.me.full_name or self.me.email, name="HeaderUser"))
        row.addSpacing(8)
        self.sign_out_button = QPushButton(theme.icon("signout", theme.BLUE), "Sign out")
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.setToolTip("Sign out (Ctrl+Shift+L)")
        self.sign_out_button.clicked.connect(self.signOutRequested)
        row.addWidget(self.sign_out_button)
        return bar

    def _menus(self) -> None:
        portal = self.menuBar().addMenu("&Portal")
        refresh = QAction("&Refresh", self)
        refresh.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
        refresh.triggered.connect(self.refresh)
        portal.addAction(refresh)
        portal.addSeparator()
        sign_out = QAction("Sign &out", self)
        sign_out.setShortcut(QKeySequence("Ctrl+Shift+L"))
        sign_out.triggered.connect(self.signOutRequested)
        portal.addAction(sign_out)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        portal.addAction(quit_action)

        view = self.menuBar().addMenu("&Go")
        for i, (_key, text, _icon) in enumerate(PAGES):
            # The shortcuts themselves live on AccountView; the menu shows them for discovery.
            action = QAction(f"{text}\tCtrl+{i + 1}", self)
            action.triggered.connect(lambda _=False, i=i: self.show_page(i))
            view.addAction(action)

    # --- account ---------------------------------------------------------------------------

    def open_account(self, account_id: str) -> None:
        if self.account_view is not None:
            if self.account_view.account_id == account_id:
                return
            self.account_view.stop()
            self.body.removeWidget(self.account_view)
            self.account_view.deleteLater()
        first_name = (self.me.full_name or "").split(" ")[0]
        view = AccountView(self.client, account_id, first_name=first_name, data_dir=self.data_dir)
        view.feedStateChanged.connect(self._set_feed_state)
        view.presenceChanged.connect(self._show_presence)
        view.overviewLoaded.connect(lambda ov: self.account_label.setText(ov.name))
        view.loadFailed.connect(self._on_load_failed)
        if self.notifications is not None:
            view.eventsArrived.connect(self.notifications.on_events)
        self.account_view = view
        self.body.addWidget(view)
        self.body.setCurrentWidget(view)
        ref = next((a for a in self.me.accounts if a.id == account_id), None)
        self.account_label.setText(ref.name if ref else "")
        view.start()

    def show_page(self, page: int | str) -> None:
        if self.account_view is not None:
            self.account_view.show_page(page)

    def refresh(self) -> None:
        if self.account_view is not None:
            self.account_view.reload()

    def _show_presence(self, viewers: list[Viewer]) -> None:
        text = staff_presence_for_customer(viewers)
        self.presence_label.setText(f"● {text}" if text else "")
        self.presence_label.setAccessibleName(text or "No staff member has your account open")
        self.presence_label.setVisible(bool(text))

    def _set_feed_state(self, state: str) -> None:
        previous = self.feed_indicator.property("state")
        was_down = previous in (LiveState.OFFLINE.value, LiveState.RECONNECTING.value)
        if state == LiveState.LIVE.value and was_down:
            # Back online: an "unreachable" message from while we were offline is stale now.
            self.statusBar().clearMessage()
            if self.notifications is not None:
                self.notifications.refresh()
        self.feed_indicator.setText(FEED_LABELS.get(state, state))
        self.feed_indicator.setProperty("state", state)
        self.feed_indicator.setAccessibleName(f"Live updates: {state}")
        theme.repolish(self.feed_indicator)

    def _on_load_failed(self, exc: PortalError) -> None:
        if isinstance(exc, ApiError) and exc.ends_session:
            self.sessionProblem.emit(exc)
            return
        if isinstance(exc, ServiceUnreachable):
            self.statusBar().showMessage("Can't reach the Portal service: showing what we last loaded.", 8000)
        else:
            self.statusBar().showMessage(f"Could not load the account: {exc}", 8000)

    # --- lifetime --------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self.notifications is not None:
            self.notifications.stop()
        if self.account_view is not None:
            await self.account_view.aclose()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.notifications is not None:
            self.notifications.stop()
        if self.account_view is not None:
            self.account_view.stop()
        super().closeEvent(event)
        # Switching windows uses hide(), so a close event always means the user is leaving.
        self.closed.emit()

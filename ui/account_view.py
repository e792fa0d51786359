"""AccountView: one customer account, its pages and its live change log.

The policyholder window shows it today; the agent console and branch desk will wrap the same
widget with their own tools. So it takes a client and an account id and nothing global.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import qasync
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import (
    AccountOverview,
    ApiError,
    AuditEvent,
    LiveState,
    PortalClient,
    PortalError,
    ServiceUnreachable,
)
from ui import theme
from ui.formatting import account_zone
from ui.pages.activity import ActivityPage
from ui.pages.cases import CasesPage
from ui.pages.claims import ClaimsPage
from ui.pages.documents import DocumentsPage
from ui.pages.help import HelpPage
from ui.pages.idcards import IdCardsPage
from ui.pages.overview import OverviewPage
from ui.pages.payments import PaymentsPage
from ui.pages.policies import PoliciesPage
from ui.tasks import TaskScope, owned
from ui.widgets import label

# (key, label, icon) in navigation order; Ctrl+1..9 follow this order.
PAGES = [
    ("overview", "Overview", "overview"),
    ("policies", "Policies", "policies"),
    ("documents", "Documents", "documents"),
    ("idcards", "ID cards", "idcard"),
    ("payments", "Payments", "payments"),
    ("claims", "Claims", "claims"),
    ("cases", "Complaints", "mail"),
    ("activity", "Activity", "activity"),
    ("help", "Help", "help"),
]

# Below COMPACT_BELOW px (the account beside the staff side panel on a small screen) the
# navigation shows icons only, with the names in tooltips, so the page keeps the width.
NAV_WIDE, NAV_COMPACT, COMPACT_BELOW = 228, 60, 1000
SHORT_BELOW = 560

# Events that only record someone looking or signing in do not change what the pages show.
_NO_RELOAD_PREFIXES = (
    "account.viewed",
    "auth.",
    "branch.verification",
    "document.viewed",
    "document.downloaded",
    "document.integrity_failed",
    "notification.",  # notices sent or read: the bell refreshes itself
)


class AccountView(QWidget):
    """Navigation plus pages for one account, kept current by the live feed.

    Threading/async rule: a Qt-thread widget. Its network work runs as coroutines on the qasync
    loop (the same thread), started by `start()` and cancelled by `stop()`; call `stop()` before
    discarding the widget or closing its client.
    """

    feedStateChanged = Signal(str)  # a LiveState value
    overviewLoaded = Signal(object)  # AccountOverview
    loadFailed = Signal(object)  # PortalError
    busyChanged = Signal(bool)
    eventsArrived = Signal(list)  # AuditEvents as shown (backlog and live), for staff change-log panels
    presenceChanged = Signal(list)  # Viewers with the account open now (from the live feed)

    def __init__(
        self,
        client: PortalClient,
        account_id: str,
        *,
        first_name: str = "",
        data_dir: Path | None = None,
        for_staff: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        """`for_staff`: shown in the staff console, about a customer's account, so worded as such."""
        super().__init__(parent)
        self.for_staff = for_staff
        self.client = client
        self.account_id = account_id
        self.first_name = first_name
        self.overview: AccountOverview | None = None
        self.feed_state = LiveState.CONNECTING
        self._feed_task: asyncio.Task[None] | None = None
        self._pending: list[AuditEvent] = []
        self._busy = 0
        # Reloads in flight end with the view (stop()): a late answer has no widgets to fill.
        self.tasks = TaskScope()
        self.setObjectName("AccountView")

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        nav_panel = QFrame()
        nav_panel.setObjectName("NavPanel")
        nav_panel.setFixedWidth(NAV_WIDE)
        self.nav_panel = nav_panel
        self.nav_compact = False
        nav_box = QVBoxLayout(nav_panel)
        nav_box.setContentsMargins(0, 0, 0, 0)
        nav_box.setSpacing(0)
        self.nav_caption = label("CUSTOMER'S ACCOUNT" if for_staff else "MY ACCOUNT", name="NavCaption")
        nav_box.addWidget(self.nav_caption)
        self.nav = QListWidget()
        self.nav.setObjectName("NavList")
        self.nav.setAccessibleName("Account sections")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        for i, (key, text, icon_name) in enumerate(PAGES):
            item = QListWidgetItem(theme.icon(icon_name, theme.NAV_TEXT, selected_color="#FFFFFF"), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(f"{text} (Ctrl+{i + 1})")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
            self.nav.addItem(item)
        nav_box.addWidget(self.nav, 1)
        self.nav_footer = label("", name="NavFooter", wrap=True)
        nav_box.addWidget(self.nav_footer)
        root.addWidget(nav_panel)

        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # indeterminate: "working on it"
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Loading")
        self.progress.setVisible(False)
        right.addWidget(self.progress)

        self.overview_page = OverviewPage(for_staff=for_staff)
        self.policies_page = PoliciesPage(client, account_id)
        self.documents_page = DocumentsPage(client, account_id)
        # The last cards are kept under the data dir so they still show offline.
        self.idcards_page = IdCardsPage(client, account_id, data_dir=data_dir)
        self.policies_page.documentsRequested.connect(self.show_policy_documents)
        self.payments_page = PaymentsPage(client, account_id)
        self.claims_page = ClaimsPage(client, account_id, data_dir=data_dir)
        self.cases_page = CasesPage(client, account_id)
        self.activity_page = ActivityPage()
        self.help_page = HelpPage()
        self.pages: dict[str, QWidget] = {
            "overview": self.overview_page,
            "policies": self.policies_page,
            "documents": self.documents_page,
            "idcards": self.idcards_page,
            "payments": self.payments_page,
            "claims": self.claims_page,
            "cases": self.cases_page,
            "activity": self.activity_page,
            "help": self.help_page,
        }
        self.stack = QStackedWidget()
        for key, *_ in PAGES:
            self.stack.addWidget(self.pages[key])
        right.addWidget(self.stack, 1)
        root.addLayout(right, 1)

        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        for i in range(len(PAGES)):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda i=i: self.show_page(i))

        # Events that arrive in one loop turn (the backlog) are shown in one model insert.
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self._flush_events)
        # A burst of changes triggers one overview reload, not one per event.
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(400)
        self._reload_timer.timeout.connect(self.reload)

    # --- navigation ------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's name
        super().resizeEvent(event)
        self.set_compact_nav(event.size().width() < COMPACT_BELOW)
        # Short (the staff console's banners on a 700 px screen): every section keeps its place
        # in the navigation, the caption and footer step aside.
        short = event.size().height() < SHORT_BELOW
        self.nav_caption.setVisible(not short and not self.nav_compact)
        self.nav_footer.setVisible(not short and not self.nav_compact)

    def set_compact_nav(self, compact: bool) -> None:
        """Icons only (names in tooltips and for screen readers) or icons with names."""
        if compact == self.nav_compact:
            return
        self.nav_compact = compact
        self.nav_panel.setFixedWidth(NAV_COMPACT if compact else NAV_WIDE)
        self.nav_caption.setVisible(not compact)
        self.nav_footer.setVisible(not compact)
        for i in range(self.nav.count()):
            item = self.nav.item(i)
            item.setText("" if compact else PAGES[i][1])

    def show_policy_documents(self, policy_id: str) -> None:
        """Open the Documents page filtered to one policy (from the policy detail)."""
        self.documents_page.filter_policy(policy_id)
        self.show_page("documents")

    def show_page(self, page: int | str) -> None:
        index = page if isinstance(page, int) else [k for k, *_ in PAGES].index(page)
        self.nav.setCurrentRow(index)
        page_widget = self.stack.currentWidget()
        if page_widget is not None:
            page_widget.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def current_page(self) -> str:
        return PAGES[self.stack.currentIndex()][0]

    # --- lifetime --------------------------------------------------------------------------

    def start(self) -> None:
        """Load the overview and open the live feed."""
        self.reload()
        if self._feed_task is None or self._feed_task.done():
            self._feed_task = asyncio.ensure_future(self._run_feed())

    def stop(self) -> None:
        self.claims_page.shutdown()  # uploads stop; the journal offers Retry next time
        self.documents_page.shutdown()
        self.idcards_page.shutdown()
        self.payments_page.shutdown()
        self._flush_timer.stop()
        self._reload_timer.stop()
        self.tasks.cancel()
        if self._feed_task is not None:
            self._feed_task.cancel()
            self._feed_task = None

    async def aclose(self) -> None:
        """Stop and wait until the live feed has closed its connection."""
        task = self._feed_task
        self.stop()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- data ------------------------------------------------------------------------------

    def _set_busy(self, delta: int) -> None:
        self._busy = max(0, self._busy + delta)
        self.progress.setVisible(self._busy > 0)
        self.busyChanged.emit(self._busy > 0)

    @qasync.asyncSlot()
    @owned
    async def reload(self) -> None:
        """Fetch the overview and hand it to every page."""
        self._set_busy(+1)
        try:
            overview = await self.client.account(self.account_id)
        except PortalError as exc:
            self.loadFailed.emit(exc)
            return
        finally:
            self._set_busy(-1)
        self.show_overview(overview)

    def show_overview(self, overview: AccountOverview) -> None:
        self.overview = overview
        self.overview_page.show_overview(overview, self.first_name)
        for page in (
            self.policies_page,
            self.documents_page,
            self.idcards_page,
            self.payments_page,
            self.claims_page,
            self.cases_page,
        ):
            page.show_overview(overview)
        self.nav_footer.setText(overview.name)
        self.activity_page.set_zone(account_zone(p.time_zone for p in overview.policies))
        self.overviewLoaded.emit(overview)

    async def _run_feed(self) -> None:
        try:
            async for event in self.client.live_events(
                self.account_id,
                self.activity_page.last_seq,
                on_state=self._set_feed_state,
                on_presence=self.presenceChanged.emit,
            ):
                self._pending.append(event)
                if not self._flush_timer.isActive():
                    self._flush_timer.start()
                if self.feed_state is LiveState.LIVE and not event.action.startswith(_NO_RELOAD_PREFIXES):
                    self._reload_timer.start()
        except asyncio.CancelledError:
            raise
        except (ApiError, ServiceUnreachable) as exc:
            self._set_feed_state(LiveState.OFFLINE)
            self.loadFailed.emit(exc)
        except PortalError as exc:  # NotSignedIn after sign-out elsewhere
            self._set_feed_state(LiveState.OFFLINE)
            self.loadFailed.emit(exc)

    def _flush_events(self) -> None:
        events, self._pending = self._pending, []
        if events:
            self.activity_page.add_events(events)
            self.eventsArrived.emit(events)

    def _set_feed_state(self, state: LiveState) -> None:
        if state is LiveState.LIVE:
            self._flush_events()  # show the backlog before saying "live"
        self.feed_state = state
        self.activity_page.set_state(state)
        self.feedStateChanged.emit(state.value)

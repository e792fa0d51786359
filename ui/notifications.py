"""The notification centre: a bell with an unread badge in the header, the list of notices it
opens, notification settings (email and text per type, quiet hours) and desktop notifications
in the system tray while the app runs.

Threading/async rule: Qt thread only. Network calls are coroutines on the qasync loop
(`@qasync.asyncSlot()`); `NotificationCentre.stop()` cancels the poll before the client closes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import qasync
from PySide6.QtCore import QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, PortalClient, PortalError
from portal_app.client.models import Notice, NotificationSettings
from ui import theme
from ui.notifications_wording import TYPES, error_text, type_icon, type_label, when_text
from ui.widgets import Badge, clear_layout, label

POLL_MS = 60_000  # a safety net: the live feed usually tells us first
DEBOUNCE_MS = 400

_PANEL_QSS = """
QFrame#NoticePanel { background: #FFFFFF; border: 1px solid #C9D4E3; border-radius: 10px; }
QFrame#NoticePanel QScrollArea, QFrame#NoticePanel QWidget#NoticeList { background: #FFFFFF; border: none; }
QFrame#NoticeRow { background: #FFFFFF; border: none; border-bottom: 1px solid #EDF1F6; }
QFrame#NoticeRow[unread="true"] { background: #F3F7FD; }
QFrame#NoticeRow:hover { background: #EAF1FB; }
QLabel#NoticeTitle { font-size: 13px; color: #1A2433; }
QLabel#NoticeTitle[unread="true"] { font-weight: bold; }
QLabel#NoticeBody { font-size: 12px; color: #465263; }
QLabel#NoticeWhen { font-size: 11px; color: #5A6678; }
QLabel#PanelTitle { font-size: 16px; font-weight: bold; color: #0E2747; }
QLabel#PanelFoot { font-size: 11px; color: #5A6678; }
"""


class BellButton(QToolButton):
    """The header bell; paints its unread count as a red badge on the corner."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.setIcon(theme.icon("bell", theme.NAVY))
        self.setIconSize(QSize(22, 22))
        self.setFixedSize(40, 40)
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setObjectName("NotificationBell")
        self.set_count(0)

    def set_count(self, count: int) -> None:
        self.count = max(0, count)
        words = "no unread notifications" if not self.count else f"{self.count} unread"
        self.setAccessibleName(f"Notifications, {words}")
        self.setToolTip(f"Notifications ({words})")
        self.update()

    def badge_text(self) -> str:
        return "" if not self.count else ("99+" if self.count > 99 else str(self.count))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        text = self.badge_text()
        if not text:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(10)
        font.setBold(True)
        p.setFont(font)
        width = max(16, p.fontMetrics().horizontalAdvance(text) + 8)
        rect = QRectF(self.width() - width - 1, 2, width, 16)
        p.setPen(QColor("#FFFFFF"))
        p.setBrush(QColor(theme.DANGER))
        p.drawRoundedRect(rect, 8, 8)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class NoticeRow(QFrame):
    """One notice: its icon, title (bold while unread), text, when, and a required tag."""

    clicked = Signal(str)

    def __init__(self, notice: Notice, now: datetime) -> None:
        super().__init__()
        self.notice = notice
        self.setObjectName("NoticeRow")
        self.setProperty("unread", notice.unread)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        row = self.box = QHBoxLayout(self)
        row.setContentsMargins(16, 12, 16, 12)
        row.setSpacing(12)
        ic = QLabel()
        color = theme.DANGER if notice.required else theme.BLUE
        ic.setPixmap(theme.pixmap(type_icon(notice.type), color, 20))
        ic.setFixedSize(36, 36)
        ic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ic.setStyleSheet("background: #EAF1FB; border-radius: 18px;")
        row.addWidget(ic, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(3)
        head = QHBoxLayout()
        head.setSpacing(8)
        title = label(notice.title, wrap=True, name="NoticeTitle")
        title.setProperty("unread", notice.unread)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        head.addWidget(title, 1)
        if notice.unread:
            dot = QLabel()
            dot.setFixedSize(8, 8)
            dot.setStyleSheet(f"background: {theme.BLUE}; border-radius: 4px;")
            dot.setAccessibleName("Unread")
            head.addWidget(dot, 0, Qt.AlignmentFlag.AlignTop)
        words.addLayout(head)
        body = label(notice.body, wrap=True, name="NoticeBody")
        body.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        words.addWidget(body)
        foot = QHBoxLayout()
        foot.setSpacing(8)
        foot.addWidget(label(when_text(notice.created_at, now), name="NoticeWhen"))
        if notice.required:
            foot.addWidget(Badge("Required notice", "danger"))
        foot.addStretch(1)
        words.addLayout(foot)
        row.addLayout(words, 1)
        state = "unread" if notice.unread else "read"
        self.setAccessibleName(f"{notice.title}. {notice.body}. {state}")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.notice.id)
        super().mouseReleaseEvent(event)


class NoticePanel(QFrame):
    """The list the bell opens (a popup under the bell)."""

    markAllRequested = Signal()
    noticeClicked = Signal(str)
    settingsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("NoticePanel")
        self.setStyleSheet(_PANEL_QSS)
        self.setFixedWidth(440)
        self.setAccessibleName("Notifications")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        head = QHBoxLayout()
        head.setContentsMargins(18, 14, 14, 10)
        head.setSpacing(10)
        head.addWidget(label("Notifications", name="PanelTitle"))
        self.count_badge = Badge("", "info")
        head.addWidget(self.count_badge)
        head.addStretch(1)
        self.mark_all = QPushButton("Mark all as read")
        self.mark_all.setProperty("kind", "quiet")
        self.mark_all.setAccessibleName("Mark all notifications as read")
        self.mark_all.clicked.connect(self.markAllRequested)
        head.addWidget(self.mark_all)
        box.addLayout(head)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedHeight(3)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        box.addWidget(self.progress)
        self.error = label("", wrap=True)
        self.error.setProperty("role", "field-error")
        self.error.setContentsMargins(18, 4, 18, 4)
        self.error.setVisible(False)
        box.addWidget(self.error)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder = QWidget()
        holder.setObjectName("NoticeList")
        self.list = QVBoxLayout(holder)
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(0)
        self.scroller.setWidget(holder)
        self.scroller.setMinimumHeight(120)
        box.addWidget(self.scroller, 1)
        foot = QHBoxLayout()
        foot.setContentsMargins(18, 10, 14, 12)
        foot.addWidget(label("No emails or texts between 21:00 and 08:00.", name="PanelFoot", wrap=True), 1)
        self.settings_button = QPushButton(theme.icon("bell", theme.BLUE), "Notification settings")
        self.settings_button.setProperty("kind", "quiet")
        self.settings_button.clicked.connect(self.settingsRequested)
        foot.addWidget(self.settings_button)
        line = QFrame()
        line.setFixedHeight(1)
        line.setStyleSheet("background: #DCE3ED;")
        box.addWidget(line)
        box.addLayout(foot)
        self.rows: list[NoticeRow] = []

    def show_notices(self, notices: list[Notice], unread: int) -> None:
        clear_layout(self.list)
        self.rows = []
        self.count_badge.setText(f"{unread} new")
        self.count_badge.setVisible(unread > 0)
        self.mark_all.setEnabled(unread > 0)
        if not notices:
            empty = QWidget()
            col = QVBoxLayout(empty)
            col.setContentsMargins(24, 36, 24, 36)
            ic = QLabel()
            ic.setPixmap(theme.pixmap("bell", "#8A9BB4", 40))
            ic.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(ic)
            t = label("You're all caught up", name="EmptyTitle")
            t.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(t)
            b = label(
                "Payment reminders, claim updates and documents will appear here.",
                wrap=True,
                name="EmptyText",
            )
            b.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(b)
            self.list.addWidget(empty)
        now = datetime.now(UTC)
        for n in notices:
            row = NoticeRow(n, now)
            row.clicked.connect(self.noticeClicked)
            self.rows.append(row)
            self.list.addWidget(row)
        self.list.addStretch(1)
        # Rows wrap at the panel's width: measure them there so the panel fits its content.
        inner = self.width() - 2
        rows_height = sum(r.box.totalHeightForWidth(inner) for r in self.rows) if self.rows else 200
        self.setFixedHeight(min(600, 120 + rows_height))

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))


class NotificationSettingsDialog(QDialog):
    """Email and text per notice type; required notices shown locked, with the reason."""

    def __init__(self, client: PortalClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.setWindowTitle("Notification settings")
        self.setObjectName("NotificationSettings")
        self.setMinimumWidth(860)
        self.settings: NotificationSettings | None = None
        self.boxes: dict[tuple[str, str], QCheckBox] = {}
        self.setStyleSheet("QDialog#NotificationSettings { background: #F3F6FA; }")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 22)
        outer.setSpacing(14)
        outer.addWidget(label("Notification settings", name="PageTitle"))
        outer.addWidget(
            label(
                "Choose how we tell you about your policies. Every notice is also kept in the app, "
                "under the bell.",
                name="PageSubtitle",
                wrap=True,
            )
        )
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedHeight(3)
        self.progress.setTextVisible(False)
        outer.addWidget(self.progress)
        card = QFrame()
        card.setProperty("card", True)
        self.grid = QGridLayout(card)
        self.grid.setContentsMargins(20, 16, 20, 16)
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(9)
        outer.addWidget(card)
        self.contact = label("", "muted", wrap=True)
        outer.addWidget(self.contact)
        quiet = QFrame()
        quiet.setProperty("banner", "info")
        qrow = QHBoxLayout(quiet)
        qrow.setContentsMargins(16, 12, 16, 12)
        qic = QLabel()
        qic.setPixmap(theme.pixmap("clock", theme.BLUE, 22))
        qrow.addWidget(qic, 0, Qt.AlignmentFlag.AlignTop)
        self.quiet_text = label("", wrap=True)
        qrow.addWidget(self.quiet_text, 1)
        outer.addWidget(quiet)
        buttons = QHBoxLayout()
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        buttons.addWidget(self.error, 1)
        self.save_status = label("", "muted")
        buttons.addWidget(self.save_status)
        cancel = QPushButton("Close")
        cancel.clicked.connect(self.reject)
        buttons.addWidget(cancel)
        self.save_button = QPushButton("Save changes")
        self.save_button.setProperty("kind", "primary")
        self.save_button.clicked.connect(self.save)
        self.save_button.setEnabled(False)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)

    @qasync.asyncSlot()
    async def load(self) -> None:
        self.progress.setVisible(True)
        self.error.setVisible(False)
        try:
            self.fill(await self.client.notification_settings())
        except ApiError as exc:
            self._show_error(error_text(exc.code, exc.detail or "We could not load your settings."))
        except PortalError:
            self._show_error("We could not reach Portal. Try again shortly.")
        finally:
            self.progress.setVisible(False)

    def fill(self, settings: NotificationSettings) -> None:
        self.settings = settings
        clear_layout(self.grid)
        self.boxes = {}
        for col, text in enumerate(("Notice", "Email", "Text message", "")):
            head = label(text, "label")
            self.grid.addWidget(head, 0, col)
        order = {k: i for i, k in enumerate(TYPES)}
        for r, pref in enumerate(sorted(settings.types, key=lambda p: order.get(p.type, 99)), start=1):
            name = label(type_label(pref.type), "value")
            self.grid.addWidget(name, r, 0)
            for c, (channel, state) in enumerate((("email", pref.email), ("sms", pref.sms)), start=1):
                box = QCheckBox()
                box.setChecked(state.enabled)
                box.setEnabled(not state.locked)
                what = "email" if channel == "email" else "text message"
                box.setAccessibleName(f"{type_label(pref.type)} by {what}")
                if state.locked:
                    box.setToolTip("Required by law: always sent by email.")
                box.toggled.connect(self._changed)
                self.boxes[(pref.type, channel)] = box
                self.grid.addWidget(box, r, c, Qt.AlignmentFlag.AlignHCenter)
            if pref.required:
                note = QHBoxLayout()
                note.setSpacing(6)
                lock = QLabel()
                lock.setPixmap(theme.pixmap("lock", theme.MUTED, 14))
                note.addWidget(lock)
                note.addWidget(label("Required by law: always by email", "muted"))
                note.addStretch(1)
                self.grid.addLayout(note, r, 3)
        self.grid.setColumnStretch(0, 1)
        contact = []
        contact.append(f"Emails go to {settings.email}" if settings.email else "No email address on file")
        contact.append(f"texts to {settings.phone}" if settings.phone else "no mobile number on file")
        self.contact.setText("; ".join(contact) + ". You can change them under Policies › Contact details.")
        self.quiet_text.setText(
            f"Quiet hours: no emails or texts between {settings.quiet_start} and {settings.quiet_end} "
            f"({settings.time_zone.replace('_', ' ')} time). Anything due then is sent in the morning."
        )
        self.save_button.setEnabled(False)
        self.save_status.setText("")

    def changes(self) -> list[tuple[str, str, bool]]:
        if self.settings is None:
            return []
        out = []
        for pref in self.settings.types:
            for channel, state in (("email", pref.email), ("sms", pref.sms)):
                box = self.boxes.get((pref.type, channel))
                if box is not None and box.isChecked() != state.enabled:
                    out.append((pref.type, channel, box.isChecked()))
        return out

    def _changed(self) -> None:
        self.save_button.setEnabled(bool(self.changes()))
        self.save_status.setText("")
        self.error.setVisible(False)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)

    @qasync.asyncSlot()
    async def save(self) -> None:
        changes = self.changes()
        if not changes:
            return
        self.save_button.setEnabled(False)
        self.progress.setVisible(True)
        self.error.setVisible(False)
        self.save_status.setText("Saving…")
        try:
            settings = await self.client.set_notification_settings(changes)
        except ApiError as exc:
            self.save_status.setText("")
            self._show_error(error_text(exc.code, exc.detail or "The change was refused."))
            self.save_button.setEnabled(True)
            return
        except PortalError:
            self.save_status.setText("")
            self._show_error("We could not reach Portal. Your choices are still here; try again shortly.")
            self.save_button.setEnabled(True)
            return
        finally:
            self.progress.setVisible(False)
        self.fill(settings)
        self.save_status.setText("Saved.")


class NotificationCentre(QWidget):
    """Owns the bell, the panel, the tray messages and the polling; lives in the header."""

    unreadChanged = Signal(int)

    def __init__(self, client: PortalClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.bell = BellButton()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bell)
        self.panel = NoticePanel(self)
        self.panel.markAllRequested.connect(self.mark_all_read)
        self.panel.noticeClicked.connect(self.mark_read)
        self.panel.settingsRequested.connect(self.open_settings)
        self.bell.clicked.connect(self.toggle)
        self.notices: list[Notice] = []
        self.unread = 0
        self.loaded = False
        self._seen: set[str] = set()
        self._stopped = False
        self.tray: QSystemTrayIcon | None = None
        self.tray_messages: list[tuple[str, str]] = []  # what was shown, newest last
        self.settings_dialog: NotificationSettingsDialog | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.refresh)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)

    # --- lifetime -------------------------------------------------------------------------

    def start(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(theme.icon("logo", None), self)
            self.tray.setToolTip("Portal")
            self.tray.messageClicked.connect(self.open_panel)
            self.tray.show()
        self._poll.start()
        self.refresh()

    def stop(self) -> None:
        self._stopped = True
        self._poll.stop()
        self._debounce.stop()
        if self.tray is not None:
            self.tray.hide()

    def on_events(self, events: list[object]) -> None:
        """Anything new on the account may have brought a notice: look again (debounced)."""
        if events and not self._stopped:
            self._debounce.start()

    # --- data -----------------------------------------------------------------------------

    @qasync.asyncSlot()
    async def refresh(self) -> None:
        if self._stopped:
            return
        self.panel.set_busy(True)
        try:
            listing = await self.client.notifications()
        except ApiError as exc:
            self.panel.show_error(error_text(exc.code, "We could not load your notifications."))
            return
        except PortalError:
            self.panel.show_error("We could not reach Portal; showing what we last loaded.")
            return
        finally:
            self.panel.set_busy(False)
        self.panel.show_error("")
        fresh = [n for n in listing.notices if n.unread and n.id not in self._seen]
        if self.loaded and fresh:
            self._announce(fresh)
        self._seen.update(n.id for n in listing.notices)
        self.loaded = True
        self._apply(listing.notices, listing.unread)

    def _apply(self, notices: list[Notice], unread: int) -> None:
        self.notices = notices
        self.unread = unread
        self.bell.set_count(unread)
        self.panel.show_notices(notices, unread)
        self.unreadChanged.emit(unread)

    def _announce(self, fresh: list[Notice]) -> None:
        """A desktop notification for what arrived while the app runs."""
        if len(fresh) == 1:
            title, text = fresh[0].title, fresh[0].body
        else:
            title, text = f"{len(fresh)} new notifications", fresh[0].title
        self.tray_messages.append((title, text))
        if self.tray is not None and self.tray.supportsMessages():
            icon = (
                QSystemTrayIcon.MessageIcon.Warning
                if any(n.required for n in fresh)
                else (QSystemTrayIcon.MessageIcon.Information)
            )
            self.tray.showMessage(title, text, icon, 8000)

    @qasync.asyncSlot(str)
    async def mark_read(self, notice_id: str) -> None:
        notice = next((n for n in self.notices if n.id == notice_id), None)
        if notice is None or not notice.unread:
            return
        await self._mark([notice_id])

    @qasync.asyncSlot()
    async def mark_all_read(self) -> None:
        if self.unread:
            await self._mark(None)

    async def _mark(self, ids: list[str] | None) -> None:
        self.panel.set_busy(True)
        try:
            await self.client.mark_notifications_read(ids)
            listing = await self.client.notifications()
        except ApiError as exc:
            self.panel.show_error(error_text(exc.code, exc.detail or "That did not work."))
            return
        except PortalError:
            self.panel.show_error("We could not reach Portal. Try again shortly.")
            return
        finally:
            self.panel.set_busy(False)
        self._seen.update(n.id for n in listing.notices)
        self._apply(listing.notices, listing.unread)

    # --- showing --------------------------------------------------------------------------

    def toggle(self) -> None:
        if self.panel.isVisible():
            self.panel.hide()
        else:
            self.open_panel()

    def open_panel(self) -> None:
        self.panel.show_notices(self.notices, self.unread)
        below = self.bell.mapToGlobal(QPoint(self.bell.width(), self.bell.height() + 6))
        self.panel.move(below.x() - self.panel.width(), below.y())
        self.panel.show()
        self.panel.raise_()
        self.refresh()

    def open_settings(self) -> None:
        self.panel.hide()
        if self.settings_dialog is None:
            self.settings_dialog = NotificationSettingsDialog(self.client, self.window())
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.load()

"""The sign-in window: email, password, "keep me signed in", and errors said where they belong."""

from __future__ import annotations

import asyncio
import html
import math
from collections.abc import Awaitable, Callable

import qasync
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, PortalError, ServiceUnreachable
from portal_app.oidc import SsoError
from ui import theme
from ui.widgets import label

SubmitHandler = Callable[[str, str, bool], Awaitable[None]]
RetryHandler = Callable[[], Awaitable[None]]
SsoHandler = Callable[[bool], Awaitable[None]]  # keep signed in -> signs in through the browser

# Single sign-on refusals, worded for the person at the sign-in window (codes: docs/API.md).
SSO_MESSAGES = {
    "auth.oidc_email_unverified": (
        "{name} has not confirmed your email address yet, so we cannot match it to your Portal "
        "account. Confirm it with {name}, then try again."
    ),
    "auth.oidc_unknown_identity": (
        "We have no Portal account for the {name} login you used. Sign in with your Portal "
        "password, or call us on 1-800-555-0142."
    ),
    "auth.oidc_second_factor_required": (
        "Staff must sign in to {name} with a second factor (an authenticator code or a security key). "
        "Sign in again and complete that step."
    ),
    "auth.oidc_role_unmapped": "Your {name} account gives you no role in Portal. Ask your administrator.",
    "auth.oidc_role_mismatch": (
        "Your role at {name} does not match your Portal account. Ask your administrator."
    ),
    "auth.oidc_already_linked": "Your Portal account is already linked to another {name} login.",
    "auth.oidc_provider_unavailable": "We could not reach {name}. Please try again in a moment.",
    "auth.password_sign_in_disabled": "Staff sign in with {name} here: use the button below.",
}
SSO_RETRY = "This sign-in with {name} did not go through. Please start it again."


def human_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class SignInWindow(QWidget):
    """Collects credentials and shows what went wrong next to the field it concerns.

    Threading/async rule: Qt thread only. `submit` is a qasync slot: it awaits the handler the
    app controller gave it (which waits for the service and signs in) without blocking the
    event loop, so the window stays responsive and shows progress meanwhile.
    """

    shown = Signal()
    closed = Signal()  # the user closed the window: quit the app

    def __init__(
        self,
        on_submit: SubmitHandler,
        *,
        demo_hint: bool = False,
        server_label: str = "",
        on_sso: SsoHandler | None = None,
    ) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._on_sso = on_sso
        self._sso_name = ""
        self._sso_task: asyncio.Future[None] | None = None
        self._retry: RetryHandler | None = None
        self._wait_left = 0
        self.setObjectName("SignInWindow")
        self.setWindowTitle("Portal")
        self.setMinimumSize(960, 640)
        self.resize(1100, 720)
        self.setAccessibleName("Portal sign-in")

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._brand_panel(server_label), 5)

        right = QVBoxLayout()
        right.setContentsMargins(48, 40, 48, 40)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self._form_card())
        row.addStretch(1)
        right.addLayout(row)
        if demo_hint:
            hint = label(
                "Trying the demo? Sign in as alex.morgan@example.com with the password portal-demo-2026.",
                wrap=True,
                name="DemoHint",
            )
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            hint.setFixedWidth(420)
            hrow = QHBoxLayout()
            hrow.addStretch(1)
            hrow.addWidget(hint)
            hrow.addStretch(1)
            right.addSpacing(16)
            right.addLayout(hrow)
        right.addStretch(1)
        holder = QWidget()
        holder.setLayout(right)
        root.addWidget(holder, 6)

        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(1000)
        self._wait_timer.timeout.connect(self._tick_wait)
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)

    # --- layout ----------------------------------------------------------------------------

    def _brand_panel(self, server_label: str) -> QFrame:
        panel = QFrame()
        panel.setObjectName("BrandPanel")
        box = QVBoxLayout(panel)
        box.setContentsMargins(56, 56, 56, 40)
        box.setSpacing(14)
        box.addStretch(1)
        top = QHBoxLayout()
        top.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo-white", None, 44))
        top.addWidget(logo)
        top.addWidget(label("Portal", name="BrandName"))
        top.addStretch(1)
        box.addLayout(top)
        box.addSpacing(24)
        box.addWidget(
            label(
                "Your policies, payments and claims. One sign-in, any hour.",
                wrap=True,
                name="BrandTagline",
            )
        )
        box.addSpacing(18)
        for icon_name, text in [
            ("policies", "See every policy and what is due next"),
            ("payments", "Pay, or let autopay do it, without a second login"),
            ("idcard", "Show your ID card whenever you need it"),
            ("claims", "Follow your claim, step by step"),
        ]:
            row = QHBoxLayout()
            row.setSpacing(12)
            ic = QLabel()
            ic.setPixmap(theme.pixmap(icon_name, "#BFD3F2", 20))
            row.addWidget(ic)
            row.addWidget(label(text, wrap=True, name="BrandPoint"), 1)
            box.addLayout(row)
        box.addStretch(2)
        foot = "We answer messages within 24 hours · claims line open 24/7"
        if server_label:
            foot += f"\nConnected to {server_label}"
        box.addWidget(label(foot, wrap=True, name="BrandFoot"))
        return panel

    def _form_card(self) -> QFrame:
        card = QFrame()
        card.setObjectName("SignInCard")
        card.setFixedWidth(420)
        box = QVBoxLayout(card)
        box.setContentsMargins(32, 32, 32, 28)
        box.setSpacing(6)
        box.addWidget(label("Sign in", name="SignInTitle"))
        box.addWidget(label("Use the email address on your policy.", name="SignInHint"))
        box.addSpacing(12)

        self.form_error = QFrame()
        self.form_error.setObjectName("FormError")
        err_row = QHBoxLayout(self.form_error)
        err_row.setContentsMargins(12, 10, 10, 10)
        err_row.setSpacing(10)
        err_icon = QLabel()
        err_icon.setPixmap(theme.pixmap("alert", theme.DANGER, 18))
        err_row.addWidget(err_icon, 0, Qt.AlignmentFlag.AlignTop)
        self.form_error_label = QLabel()
        self.form_error_label.setWordWrap(True)
        self.form_error_label.setAccessibleName("Sign-in problem")
        err_row.addWidget(self.form_error_label, 1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setProperty("kind", "quiet")
        self.retry_button.setAccessibleName("Retry")
        self.retry_button.clicked.connect(self.retry)
        err_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.form_error.setVisible(False)
        box.addWidget(self.form_error)

        box.addWidget(self._field_label("Email address"))
        self.email = QLineEdit()
        self.email.setPlaceholderText("name@example.com")
        self.email.setAccessibleName("Email address")
        self.email.setInputMethodHints(Qt.InputMethodHint.ImhEmailCharactersOnly)
        box.addWidget(self.email)
        self.email_error = label("", "field-error", wrap=True)
        self.email_error.setAccessibleName("Email problem")
        self.email_error.setVisible(False)
        box.addWidget(self.email_error)
        box.addSpacing(8)

        box.addWidget(self._field_label("Password"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        box.addWidget(self.password)
        self.password_error = label("", "field-error", wrap=True)
        self.password_error.setAccessibleName("Password problem")
        self.password_error.setVisible(False)
        box.addWidget(self.password_error)
        box.addSpacing(10)

        self.keep_signed_in = QCheckBox("Keep me signed in on this computer")
        self.keep_signed_in.setChecked(True)
        self.keep_signed_in.setAccessibleName("Keep me signed in")
        box.addWidget(self.keep_signed_in)
        box.addSpacing(14)

        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setProperty("kind", "primary")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setMinimumHeight(42)
        self.sign_in_button.setAccessibleName("Sign in")
        self.sign_in_button.clicked.connect(self.submit)
        box.addWidget(self.sign_in_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Signing in")
        busy_row = QVBoxLayout()
        busy_row.setSpacing(4)
        busy_row.addWidget(self.progress)
        self.busy_label = label("", name="BusyLabel")
        busy_row.addWidget(self.busy_label)
        self.busy_box = QWidget()
        self.busy_box.setLayout(busy_row)
        busy_row.setContentsMargins(0, 6, 0, 0)
        self.busy_box.setVisible(False)
        box.addWidget(self.busy_box)
        box.addWidget(self._sso_row())

        self.keyring_note = QFrame()
        self.keyring_note.setObjectName("KeyringNote")
        note_row = QHBoxLayout(self.keyring_note)
        note_row.setContentsMargins(12, 10, 12, 10)
        note_row.setSpacing(10)
        note_icon = QLabel()
        note_icon.setPixmap(theme.pixmap("lock", theme.WARNING, 18))
        note_row.addWidget(note_icon, 0, Qt.AlignmentFlag.AlignTop)
        self.keyring_note_label = QLabel(
            "This computer has no secure password store, so Portal will not remember you: "
            "you will be asked to sign in each time you open it."
        )
        self.keyring_note_label.setWordWrap(True)
        self.keyring_note_label.setAccessibleName("Keyring note")
        note_row.addWidget(self.keyring_note_label, 1)
        self.keyring_note.setVisible(False)
        box.addSpacing(10)
        box.addWidget(self.keyring_note)

        self.email.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.submit)
        self.email.textEdited.connect(lambda _: self._clear_field(self.email, self.email_error))
        self.password.textEdited.connect(lambda _: self._clear_field(self.password, self.password_error))
        self.setTabOrder(self.email, self.password)
        self.setTabOrder(self.password, self.keep_signed_in)
        self.setTabOrder(self.keep_signed_in, self.sign_in_button)
        self.setTabOrder(self.sign_in_button, self.retry_button)
        return card

    def _sso_row(self) -> QWidget:
        """ "Sign in with <insurer>", its Cancel while the browser is open, and the sign-out offer."""
        holder = QWidget()
        col = QVBoxLayout(holder)
        col.setContentsMargins(0, 10, 0, 0)
        col.setSpacing(6)
        self.sso_button = QPushButton("Sign in with your insurer")
        self.sso_button.setMinimumHeight(42)
        self.sso_button.setAccessibleName("Sign in with single sign-on")
        self.sso_button.clicked.connect(self.start_sso)
        self.sso_button.setVisible(False)
        col.addWidget(self.sso_button)
        self.sso_cancel_button = QPushButton("Cancel")
        self.sso_cancel_button.setProperty("kind", "quiet")
        self.sso_cancel_button.setAccessibleName("Cancel single sign-on")
        self.sso_cancel_button.clicked.connect(self.cancel_sso)
        self.sso_cancel_button.setVisible(False)
        col.addWidget(self.sso_cancel_button)
        self.sso_sign_out_note = label("", "muted", wrap=True)
        self.sso_sign_out_note.setAccessibleName("Provider sign-out")
        self.sso_sign_out_note.setOpenExternalLinks(True)
        self.sso_sign_out_note.setTextFormat(Qt.TextFormat.RichText)
        self.sso_sign_out_note.setVisible(False)
        col.addWidget(self.sso_sign_out_note)
        return holder

    @staticmethod
    def _field_label(text: str) -> QLabel:
        widget = label(text, "field-label")
        return widget

    # --- state the controller sets ---------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.email.text():
            self.email.setFocus()
        elif not self.password.text():
            self.password.setFocus()
        self.shown.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        # Switching windows uses hide(), so a close event always means the user is leaving.
        self.closed.emit()

    def set_keyring_secure(self, secure: bool) -> None:
        """Without a secure keyring we cannot keep anyone signed in: say so, and untick the box."""
        self.keyring_note.setVisible(not secure)
        self.keep_signed_in.setEnabled(secure)
        if not secure:
            self.keep_signed_in.setChecked(False)

    def prefill(self, email: str | None) -> None:
        if email:
            self.email.setText(email)

    def set_sso(self, provider_name: str | None) -> None:
        """Offer "Sign in with <provider>" when the service has single sign-on (None: hide it)."""
        self._sso_name = provider_name or ""
        self.sso_button.setText(f"Sign in with {provider_name}" if provider_name else "")
        self.sso_button.setVisible(bool(provider_name) and self._on_sso is not None)

    def offer_provider_sign_out(self, url: str | None) -> None:
        """After an SSO sign-out: the provider's own session may live on in the browser."""
        if not url or not self._sso_name:
            self.sso_sign_out_note.setVisible(False)
            return
        self.sso_sign_out_note.setText(
            f'You are signed out of Portal. <a href="{html.escape(url)}">Also sign out of '
            f"{html.escape(self._sso_name)}</a> in your browser."
        )
        self.sso_sign_out_note.setVisible(True)

    def set_busy_text(self, text: str) -> None:
        self.busy_label.setText(text)

    def set_retry(self, handler: RetryHandler | None) -> None:
        self._retry = handler

    def reset(self) -> None:
        """Back to a clean form (after sign-out): keep the email, drop the password."""
        self.password.clear()
        self._clear_errors()
        self._set_busy(False)

    # --- errors ----------------------------------------------------------------------------

    def _clear_field(self, field: QLineEdit, error: QLabel) -> None:
        error.setVisible(False)
        if field.property("invalid"):
            field.setProperty("invalid", False)
            theme.repolish(field)

    def _clear_errors(self) -> None:
        self._clear_field(self.email, self.email_error)
        self._clear_field(self.password, self.password_error)
        self.form_error.setVisible(False)

    def show_field_error(self, field: QLineEdit, error: QLabel, text: str) -> None:
        error.setText(text)
        error.setVisible(True)
        field.setProperty("invalid", True)
        theme.repolish(field)
        field.setFocus()
        field.selectAll()

    def show_form_error(self, text: str, *, retry: bool = False) -> None:
        self.form_error_label.setText(text)
        self.retry_button.setVisible(retry)
        self.form_error.setVisible(True)

    def show_error(self, exc: BaseException) -> None:
        """Word an error from its code and put it where it belongs."""
        if isinstance(exc, ServiceUnreachable):
            self.show_form_error(
                "We can't reach the Portal service right now. Check your connection, then try again.",
                retry=True,
            )
            return
        if isinstance(exc, SsoError):
            self.show_form_error(exc.message)
            return
        if isinstance(exc, ApiError) and (exc.code in SSO_MESSAGES or exc.code.startswith("auth.oidc_")):
            name = self._sso_name or "your insurer"
            self.show_form_error(SSO_MESSAGES.get(exc.code, SSO_RETRY).format(name=name))
            return
        if isinstance(exc, ApiError):
            if exc.code == "auth.invalid_credentials":
                self.show_field_error(
                    self.password,
                    self.password_error,
                    "The email or password is not right. Check both and try again.",
                )
                return
            if exc.code in ("auth.throttled", "auth.locked"):
                self._start_wait(exc.code, exc.retry_after or 30)
                return
            if exc.code == "request.invalid" and exc.field_errors:
                for fe in exc.field_errors:
                    if fe.field.endswith("password"):
                        self.show_field_error(self.password, self.password_error, fe.message)
                    else:
                        self.show_field_error(self.email, self.email_error, "Enter a valid email address.")
                return
            if exc.ends_session:
                self.show_form_error("Your saved session has ended. Please sign in again.")
                return
            self.show_form_error(
                exc.detail or "Something went wrong on our side. Please try again.", retry=True
            )
            return
        self.show_form_error(f"Portal could not start: {exc}", retry=True)

    def _start_wait(self, code: str, seconds: int) -> None:
        self._wait_left = seconds
        self._wait_code = code
        self.sign_in_button.setEnabled(False)
        self._render_wait()
        self._wait_timer.start()

    def _render_wait(self) -> None:
        wait = human_wait(self._wait_left)
        if self._wait_code == "auth.locked":
            text = (
                "For your security, sign-in is locked after repeated failed attempts. "
                f"You can try again in {wait}, or call us on 1-800-555-0142."
            )
        else:
            text = f"Too many attempts. Please wait {wait}, then try again."
        self.show_form_error(text)

    def _tick_wait(self) -> None:
        self._wait_left -= 1
        if self._wait_left <= 0:
            self._wait_timer.stop()
            self.sign_in_button.setEnabled(True)
            # Say so rather than hide the message: a one-second wait (a 429 right after a lockout)
            # flashed by before anyone could read why the button had been held.
            self.show_form_error("The wait is over: you can sign in again now.")
            return
        self._render_wait()

    # --- actions ---------------------------------------------------------------------------

    def _set_busy(self, busy: bool, text: str = "Signing in…") -> None:
        self.busy_box.setVisible(busy)
        if busy:
            self.busy_label.setText(text)
        self.sign_in_button.setEnabled(not busy and not self._wait_timer.isActive())
        self.email.setReadOnly(busy)
        self.password.setReadOnly(busy)
        self.retry_button.setEnabled(not busy)
        self.sso_button.setEnabled(not busy)

    def _validate(self) -> bool:
        email = self.email.text().strip()
        ok = True
        if not self.password.text():
            self.show_field_error(self.password, self.password_error, "Enter your password.")
            ok = False
        if not email:
            self.show_field_error(self.email, self.email_error, "Enter your email address.")
            ok = False
        elif "@" not in email or email.startswith("@") or email.endswith("@"):
            self.show_field_error(
                self.email, self.email_error, "Enter an email address like name@example.com."
            )
            ok = False
        return ok

    @qasync.asyncSlot()
    async def submit(self) -> None:
        if self.busy_box.isVisible() or self._wait_timer.isActive():
            return
        self._clear_errors()
        if not self._validate():
            return
        self._set_busy(True)
        try:
            await self._on_submit(
                self.email.text().strip(), self.password.text(), self.keep_signed_in.isChecked()
            )
        except (PortalError, RuntimeError, TimeoutError, OSError) as exc:
            self._set_busy(False)
            self.show_error(exc)
            return
        self._set_busy(False)

    @qasync.asyncSlot()
    async def retry(self) -> None:
        if self._retry is None:
            await self.submit()
            return
        self.form_error.setVisible(False)
        self._set_busy(True, "Trying again…")
        try:
            await self._retry()
        except (PortalError, RuntimeError, TimeoutError, OSError) as exc:
            self._set_busy(False)
            self.show_error(exc)
            return
        self._set_busy(False)

    @qasync.asyncSlot()
    async def start_sso(self) -> None:
        """Sign in through the provider in the system browser; Cancel (or a timeout) gives up."""
        if self._on_sso is None or self.busy_box.isVisible():
            return
        self._clear_errors()
        self.sso_sign_out_note.setVisible(False)
        self._set_busy(True, f"Finish signing in with {self._sso_name} in your web browser…")
        self.sso_cancel_button.setVisible(True)
        self._sso_task = asyncio.ensure_future(self._on_sso(self.keep_signed_in.isChecked()))
        try:
            await self._sso_task
        except asyncio.CancelledError:
            if not self._sso_task.cancelled():
                raise  # the window itself is going away
            self.show_form_error(
                f"Sign-in with {self._sso_name} was cancelled. You can start it again, "
                "or sign in with your email and password."
            )
        except (PortalError, RuntimeError, TimeoutError, OSError) as exc:
            self.show_error(exc)
        finally:
            self._sso_task = None
            self.sso_cancel_button.setVisible(False)
            self._set_busy(False)

    def cancel_sso(self) -> None:
        if self._sso_task is not None and not self._sso_task.done():
            self._sso_task.cancel()

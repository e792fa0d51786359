"""Payments: balances and schedules, saved cards, pay now, scheduled payments, autopay, the
payment day, and the history with receipts.

Cards are tokenised straight with Stripe (localstripe in the embedded default) using the
publishable key the service hands out; the card number never goes to Portal.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import qasync
import shiboken6
from PySide6.QtCore import QDate, QLocale, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, PortalClient, PortalError, ServiceUnreachable
from portal_app.client.models import (
    PaymentRow,
    PaymentsConfig,
    PaymentsOverview,
    PolicyBilling,
    SavedCard,
    ScheduledPaymentRow,
)
from ui import wording
from ui.widgets import Badge, Banner, Card, EmptyState, Page, clear_layout, label

# Words for the API's problem codes (docs/API.md "Payments").
MESSAGES = {
    "payment.card_declined": "The card was declined. Try another card or contact your bank.",
    "payment.authentication_required": "Your bank wants to confirm this payment, which can't be done here. "
    "Try another card.",
    "payment.gateway_unavailable": "We couldn't reach the card processor. Nothing was charged — "
    "please try again.",
    "payment.gateway_rejected": "The card processor refused this payment. Nothing was charged.",
    "payment.amount_over_balance": "That is more than what is left to pay on this policy.",
    "payment.amount_not_positive": "Enter an amount greater than zero.",
    "payment.nothing_due": "There is nothing to pay on this policy right now.",
    "payment.charge_in_flight": "A payment on this policy is still being processed. Try again in a moment.",
    "payment.method_expired": "That card has expired. Choose or add another card.",
    "payment.method_not_found": "That card is no longer saved. Choose another card.",
    "payment.method_in_use_by_autopay": "This card pays a policy by autopay. Switch autopay to another card "
    "or off first.",
    "payment.method_in_use_by_schedule": "A scheduled payment uses this card. Change or cancel it first.",
    "payment.date_not_future": "Choose a date after today. To pay today, use Pay now.",
    "payment.date_too_far": "Payments can be scheduled up to a year ahead.",
    "payment.scheduled_not_editable": "This payment has already run or was cancelled.",
    "payment.day_out_of_range": "Choose a day between 1 and 28.",
    "payment.day_beyond_grace": "That day would push an installment past its grace period.",
    "payment.policy_closed": "This policy is not in force, so this can't be changed here.",
    "payment.policy_cancelled": "This policy was cancelled and can no longer be paid here. Please call us.",
    "payment.authorization_mismatch": "The autopay terms changed. Review them and agree again.",
    "payment.card_data_refused": "Card numbers are only ever sent to the card processor.",
    "card.invalid_number": "That card number is not valid.",
    "card.incorrect_number": "That card number is not valid.",
    "card.invalid_expiry_month": "Check the expiry month.",
    "card.invalid_expiry_year": "Check the expiry year.",
    "card.invalid_cvc": "Check the security code.",
    "card.card_declined": "The card was declined when we tried to save it. Try another card.",
}
STATUS = {
    "succeeded": ("Paid", "success"),
    "failed": ("Failed", "danger"),
    "pending": ("Processing", "info"),
    "processing": ("Processing", "info"),
    "scheduled": ("Scheduled", "info"),
    "running": ("Running", "info"),
    "paid": ("Paid", "success"),
    "partially_paid": ("Part paid", "warning"),
    "past_due": ("Past due", "danger"),
    "canceled": ("Cancelled", "neutral"),
    "skipped": ("Skipped", "neutral"),
    "waived": ("Waived", "neutral"),
}
DATE_FORMAT = "d MMM yyyy"  # unambiguous in every locale (no 03/04 puzzles)
KINDS = {"pay_now": "One-off", "autopay": "Autopay", "scheduled": "Scheduled"}
LOCAL_STYLE = """
QComboBox, QSpinBox, QDateEdit { font-size: 14px; padding: 7px 10px; border: 1px solid #C5CFDC;
    border-radius: 7px; background: #FFFFFF; min-height: 22px; }
QComboBox:focus, QSpinBox:focus, QDateEdit:focus { border: 2px solid #2F6FD0; padding: 6px 9px; }
QTableWidget { font-size: 13px; }
QFrame[panel="confirm"] { background: #EAF1FB; border: 1px solid #C9DAF3; border-radius: 8px; }
QFrame[panel="terms"] { background: #F6F8FB; border: 1px solid #DCE3ED; border-radius: 8px; }
"""


def money(amount_minor: int, currency: str = "USD") -> str:
    """Integer minor units in the user's locale (grouping, decimal mark); never through a float."""
    loc = QLocale()
    symbol = wording.CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{symbol}{loc.toString(units)}{loc.decimalPoint()}{cents:02d}"


def parse_amount(text: str) -> int | None:
    """'1,234.50' (in the user's locale) -> 123450 minor units; None when it is not an amount."""
    loc = QLocale()
    raw = text.strip().replace(loc.groupSeparator(), "").replace(" ", "")
    for symbol in ("$", "£", "€"):
        raw = raw.replace(symbol, "")
    point = loc.decimalPoint()
    if point != "." and "." in raw and point not in raw:
        point = "."
    whole, _, frac = raw.partition(point)
    if not whole and not frac:
        return None
    if not (whole or "0").isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        return None
    return int(whole or "0") * 100 + int((frac + "00")[:2])


def _message(exc: PortalError) -> str:
    if isinstance(exc, ApiError):
        return MESSAGES.get(exc.code, exc.detail or "That didn't work. Please try again.")
    if isinstance(exc, ServiceUnreachable):
        return "Portal can't be reached right now. Check your connection and try again."
    return str(exc)


def _field(caption: str, widget: QWidget, error: QWidget | None = None) -> QVBoxLayout:
    box = QVBoxLayout()
    box.setSpacing(4)
    cap = label(caption, "field-label")
    cap.setBuddy(widget)
    box.addWidget(cap)
    box.addWidget(widget)
    if error is not None:
        box.addWidget(error)
    return box


def _guarded(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A call that finishes after its page was closed has nothing left to show: drop it."""

    @functools.wraps(fn)
    async def run(self: PaymentsPage, *args: object) -> None:
        try:
            await fn(self, *args)
        except (RuntimeError, PortalError):
            # Widgets deleted under a late answer (the window closed): nothing to show it on.
            if shiboken6.isValid(self) and shiboken6.isValid(self.progress) and self.window().isVisible():
                raise

    return run


def _error_label() -> QWidget:
    err = label("", "field-error", wrap=True)
    err.setVisible(False)
    return err


def _show_error(err: QWidget, text: str) -> None:
    err.setText(text)  # type: ignore[attr-defined]
    err.setVisible(bool(text))
    if text:
        err.setAccessibleName(text)


def _button(text: str, kind: str = "", name: str = "") -> QPushButton:
    b = QPushButton(text)
    if kind:
        b.setProperty("kind", kind)
    if name:
        b.setObjectName(name)
    b.setAccessibleName(text)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    return b


class PaymentsPage(Page):
    """The Payments page of one account.

    Threading/async rule: a Qt-thread widget; every network call is a coroutine on the qasync
    loop started from an `@qasync.asyncSlot`, and the page shows progress while one runs.
    """

    loaded = Signal(object)  # PaymentsOverview
    actionFinished = Signal(str)  # a short outcome code, for tests and the activity log

    def __init__(self, client: PortalClient | None = None, account_id: str = "") -> None:
        super().__init__("Payments", "Pay now, schedule a payment, manage autopay and your cards.")
        self.client = client
        self.account_id = account_id
        self.data: PaymentsOverview | None = None
        self.config: PaymentsConfig | None = None
        self.last_payment: PaymentRow | None = None
        self.receipts_dir: Path | None = None  # None: the user's Downloads folder
        self._busy = 0
        self._pending_pay: tuple[str, str, int | None] | None = None
        self.setStyleSheet(LOCAL_STYLE)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(4)
        self.progress.setAccessibleName("Working")
        self.progress.setVisible(False)
        self.content.addWidget(self.progress)
        self.notice = QVBoxLayout()
        self.content.addLayout(self.notice)
        self._build_pay_card()
        self.policies_box = QVBoxLayout()
        self.policies_box.setSpacing(16)
        self.content.addLayout(self.policies_box)
        self._build_cards_card()
        self.scheduled_card = Card(
            "Scheduled payments", "One-off payments set for a later date", icon_name="calendar"
        )
        self.scheduled_rows = QVBoxLayout()
        self.scheduled_card.body.addLayout(self.scheduled_rows)
        self.content.addWidget(self.scheduled_card)
        self._build_history_card()

    # --- scaffolding -------------------------------------------------------------------------

    def _build_pay_card(self) -> None:
        card = Card("Make a payment", "Pay now, or pick a date and we'll take it then", icon_name="payments")
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(10)
        self.pay_policy = QComboBox()
        self.pay_policy.setAccessibleName("Policy to pay")
        for combo in (self.pay_policy,):
            # Long item texts must not widen the page past the window.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.pay_amount = QLineEdit()
        self.pay_amount.setPlaceholderText("Full balance")
        self.pay_amount.setAccessibleName("Amount")
        self.pay_full = QCheckBox("Pay the full balance")
        self.pay_full.setChecked(True)
        self.pay_card = QComboBox()
        self.pay_card.setAccessibleName("Card to pay with")
        self.pay_card.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pay_card.setMinimumContentsLength(14)
        self.pay_date = QDateEdit()
        self.pay_date.setCalendarPopup(True)
        self.pay_date.setAccessibleName("Date for a scheduled payment")
        self.pay_date.setDisplayFormat(DATE_FORMAT)
        self.amount_error = _error_label()
        self.card_error = _error_label()
        self.date_error = _error_label()
        top = Qt.AlignmentFlag.AlignTop
        grid.addLayout(_field("Policy", self.pay_policy), 0, 0, top)
        amount_box = _field("Amount", self.pay_amount, self.amount_error)
        amount_box.addWidget(self.pay_full)
        grid.addLayout(amount_box, 0, 1, top)
        grid.addLayout(_field("Card", self.pay_card, self.card_error), 0, 2, top)
        grid.addLayout(_field("Date (for a scheduled payment)", self.pay_date, self.date_error), 0, 3, top)
        for c, stretch in enumerate((3, 2, 2, 2)):
            grid.setColumnStretch(c, stretch)
        card.body.addLayout(grid)
        row = QHBoxLayout()
        self.pay_button = _button("Pay now…", "primary", "PayNowButton")
        self.schedule_button = _button("Schedule for this date", "", "ScheduleButton")
        row.addWidget(self.pay_button)
        row.addWidget(self.schedule_button)
        row.addStretch(1)
        card.body.addLayout(row)
        # Confirmation step: the amount and card spelled out before money moves.
        self.confirm_panel = QFrame()
        self.confirm_panel.setProperty("panel", "confirm")
        cp = QHBoxLayout(self.confirm_panel)
        cp.setContentsMargins(14, 10, 14, 10)
        self.confirm_text = label("", wrap=True)
        self.confirm_button = _button("Confirm payment", "primary", "ConfirmPayButton")
        self.confirm_cancel = _button("Cancel", "quiet")
        cp.addWidget(self.confirm_text, 1)
        cp.addWidget(self.confirm_button)
        cp.addWidget(self.confirm_cancel)
        self.confirm_panel.setVisible(False)
        card.body.addWidget(self.confirm_panel)
        self.pay_result = QVBoxLayout()
        card.body.addLayout(self.pay_result)
        self.content.addWidget(card)
        self.pay_full.toggled.connect(self._full_toggled)
        self.pay_amount.textEdited.connect(lambda _: self.pay_full.setChecked(False))
        self.pay_button.clicked.connect(self._ask_confirmation)
        self.confirm_cancel.clicked.connect(lambda: self.confirm_panel.setVisible(False))
        self.confirm_button.clicked.connect(self.confirm_payment)
        self.schedule_button.clicked.connect(self.schedule_payment)
        self.pay_policy.currentIndexChanged.connect(lambda _: self._update_pay_hint())

    def _build_cards_card(self) -> None:
        card = Card(
            "Saved cards",
            "Cards are kept by Stripe; we only see the brand and last four digits",
            icon_name="lock",
        )
        self.cards_rows = QVBoxLayout()
        self.cards_rows.setSpacing(8)
        card.body.addLayout(self.cards_rows)
        card.divider()
        card.body.addWidget(label("Add a card", name="SectionTitle"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.card_number = QLineEdit()
        self.card_number.setPlaceholderText("1234 1234 1234 1234")
        self.card_number.setAccessibleName("Card number")
        self.card_number.setMaxLength(23)
        self.card_expiry = QLineEdit()
        self.card_expiry.setPlaceholderText("MM/YY")
        self.card_expiry.setAccessibleName("Expiry date, month and year")
        self.card_expiry.setMaxLength(5)
        self.card_cvc = QLineEdit()
        self.card_cvc.setPlaceholderText("CVC")
        self.card_cvc.setAccessibleName("Security code")
        self.card_cvc.setMaxLength(4)
        self.card_cvc.setEchoMode(QLineEdit.EchoMode.Password)
        self.card_default = QCheckBox("Make this my default card")
        self.number_error, self.expiry_error, self.cvc_error = _error_label(), _error_label(), _error_label()
        grid.addLayout(_field("Card number", self.card_number, self.number_error), 0, 0)
        grid.addLayout(_field("Expiry", self.card_expiry, self.expiry_error), 0, 1)
        grid.addLayout(_field("Security code", self.card_cvc, self.cvc_error), 0, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        card.body.addLayout(grid)
        row = QHBoxLayout()
        row.addWidget(self.card_default)
        row.addStretch(1)
        self.add_card_button = _button("Save card", "primary", "SaveCardButton")
        row.addWidget(self.add_card_button)
        card.body.addLayout(row)
        self.add_card_button.clicked.connect(self.add_card)
        self.card_cvc.returnPressed.connect(self.add_card)
        self.content.addWidget(card)

    def _build_history_card(self) -> None:
        card = Card(
            "Payment history",
            "Every payment, with a receipt for each one that went through",
            icon_name="clock",
        )
        self.history = QTableWidget(0, 6)
        self.history.setHorizontalHeaderLabels(["Date", "Policy", "Amount", "How", "Status", "Receipt"])
        self.history.verticalHeader().setVisible(False)
        self.history.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.setAccessibleName("Payment history")
        header = self.history.horizontalHeader()
        for col in range(5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.history.verticalHeader().setDefaultSectionSize(40)
        self.history_empty = label("No payments yet.", "muted")
        card.body.addWidget(self.history)
        card.body.addWidget(self.history_empty)
        self.receipt_note = label("", "muted", wrap=True)
        card.body.addWidget(self.receipt_note)
        self.content.addWidget(card)

    # --- data --------------------------------------------------------------------------------

    def _set_busy(self, delta: int) -> None:
        if not shiboken6.isValid(self.progress):
            return  # the page was closed while a call was out
        self._busy = max(0, self._busy + delta)
        self.progress.setVisible(self._busy > 0)
        for b in (self.pay_button, self.confirm_button, self.schedule_button, self.add_card_button):
            b.setEnabled(self._busy == 0)

    def show_overview(self, overview: AccountOverview) -> None:
        """AccountView hands every fresh overview to each page: fetch the payments view too."""
        if self.client is None:
            return
        self.account_id = overview.id
        self.reload()

    @qasync.asyncSlot()
    @_guarded
    async def reload(self) -> None:
        if self.client is None or not self.account_id:
            return
        self._set_busy(+1)
        try:
            if self.config is None:
                self.config = await self.client.payments_config()
            data = await self.client.payments(self.account_id)
        except PortalError as exc:
            self._notice("critical", "Payments could not be loaded", _message(exc))
            return
        finally:
            self._set_busy(-1)
        self.show_payments(data)

    def show_payments(self, data: PaymentsOverview) -> None:
        if not shiboken6.isValid(self.progress):
            return
        if data == self.data:
            return  # nothing changed: keep whatever the user is in the middle of
        self.data = data
        clear_layout(self.notice)
        self._fill_pay_form(data)
        self._fill_policies(data)
        self._fill_cards(data)
        self._fill_scheduled(data)
        self._fill_history(data)
        self.loaded.emit(data)

    def _notice(self, severity: str, headline: str, text: str = "") -> None:
        if not shiboken6.isValid(self.progress):
            return
        clear_layout(self.notice)
        self.notice.addWidget(Banner(severity, headline, text))

    # --- pay now / schedule ------------------------------------------------------------------

    def _fill_pay_form(self, data: PaymentsOverview) -> None:
        keep_policy = self.pay_policy.currentData()
        keep_card = self.pay_card.currentData()
        self.pay_policy.blockSignals(True)
        self.pay_policy.clear()
        for p in data.policies:
            self.pay_policy.addItem(
                f"{wording.product_line(p.product_line)} · {p.number} — "
                f"{money(p.payable_minor, p.currency)} to pay",
                p.policy_id,
            )
        idx = self.pay_policy.findData(keep_policy)
        if idx < 0:
            # Start on the policy that most needs paying.
            worst = max(data.policies, key=lambda p: (p.past_due_minor, p.payable_minor), default=None)
            idx = self.pay_policy.findData(worst.policy_id) if worst else 0
        self.pay_policy.setCurrentIndex(max(idx, 0))
        self.pay_policy.blockSignals(False)
        self.pay_card.clear()
        for m in data.methods:
            suffix = " (default)" if m.is_default else (" (expired)" if m.expired else "")
            self.pay_card.addItem(f"{m.label}{suffix}", m.id)
        ci = self.pay_card.findData(keep_card)
        if ci < 0:
            ci = next((i for i, m in enumerate(data.methods) if m.is_default), 0)
        self.pay_card.setCurrentIndex(ci)
        has_cards = bool(data.methods)
        self.pay_button.setEnabled(has_cards)
        self.schedule_button.setEnabled(has_cards)
        if not has_cards:
            _show_error(self.card_error, "Add a card below to pay.")
        self._update_pay_hint()

    def _policy(self, policy_id: str | None) -> PolicyBilling | None:
        if self.data is None:
            return None
        return next((p for p in self.data.policies if p.policy_id == policy_id), None)

    def _update_pay_hint(self) -> None:
        p = self._policy(self.pay_policy.currentData())
        if p is None:
            return
        self.pay_full.setText(f"Pay the full balance ({money(p.payable_minor, p.currency)})")
        if p.today is not None:
            tomorrow = QDate(p.today.year, p.today.month, p.today.day).addDays(1)
            self.pay_date.setMinimumDate(tomorrow)
            self.pay_date.setMaximumDate(tomorrow.addDays(364))
            if self.pay_date.date() < tomorrow:
                self.pay_date.setDate(tomorrow)

    def _full_toggled(self, on: bool) -> None:
        if on:
            self.pay_amount.clear()

    def _read_amount(self, *, allow_full: bool) -> tuple[bool, int | None]:
        _show_error(self.amount_error, "")
        self.pay_amount.setProperty("invalid", False)
        if self.pay_full.isChecked() and allow_full:
            return True, None
        amount = parse_amount(self.pay_amount.text())
        if amount is None or amount <= 0:
            _show_error(self.amount_error, "Enter an amount, like 125.50.")
            self.pay_amount.setProperty("invalid", True)
            self.pay_amount.style().polish(self.pay_amount)
            self.pay_amount.setFocus()
            return False, None
        return True, amount

    def _ask_confirmation(self) -> None:
        _show_error(self.card_error, "")
        clear_layout(self.pay_result)
        p = self._policy(self.pay_policy.currentData())
        method_id = self.pay_card.currentData()
        if p is None or not method_id:
            _show_error(self.card_error, "Choose a card.")
            return
        ok, amount = self._read_amount(allow_full=True)
        if not ok:
            return
        shown = p.payable_minor if amount is None else amount
        if amount is not None and amount > p.payable_minor:
            _show_error(self.amount_error, MESSAGES["payment.amount_over_balance"])
            return
        self._pending_pay = (p.policy_id, str(method_id), amount)
        # One key per confirmation: a double click or a resend pays once.
        self._pay_key = uuid.uuid4().hex
        self.confirm_text.setText(
            f"Pay {money(shown, p.currency)} now for policy {p.number} with {self.pay_card.currentText()}?"
        )
        self.confirm_panel.setVisible(True)
        self.confirm_button.setFocus()

    @qasync.asyncSlot()
    @_guarded
    async def confirm_payment(self) -> None:
        if self._pending_pay is None or self.client is None:
            return
        policy_id, method_id, amount = self._pending_pay
        self._set_busy(+1)
        clear_layout(self.pay_result)
        try:
            paid = await self.client.pay_now(
                policy_id, payment_method_id=method_id, amount_minor=amount, request_key=self._pay_key
            )
        except PortalError as exc:
            self.confirm_panel.setVisible(False)
            self._pending_pay = None
            target = (
                self.card_error
                if getattr(exc, "code", "").startswith("payment.card")
                or getattr(exc, "code", "") in ("payment.authentication_required", "payment.method_expired")
                else self.amount_error
            )
            _show_error(target, _message(exc))
            await self._refresh()
            self.actionFinished.emit(getattr(exc, "code", "error"))
            return
        finally:
            self._set_busy(-1)
        self.confirm_panel.setVisible(False)
        self._pending_pay = None
        self.last_payment = paid
        self.pay_amount.clear()
        self.pay_full.setChecked(True)
        if paid.status == "succeeded":
            box = QFrame()
            box.setProperty("panel", "confirm")
            row = QHBoxLayout(box)
            row.setContentsMargins(14, 10, 14, 10)
            row.addWidget(
                label(
                    f"Thank you — {money(paid.amount_minor, paid.currency)} paid. "
                    f"Receipt {paid.receipt_number}.",
                    wrap=True,
                    name="PaySuccess",
                ),
                1,
            )
            save = _button("Save receipt", "quiet")
            save.clicked.connect(lambda: self.save_receipt(paid.id, paid.receipt_number or paid.id))
            row.addWidget(save)
            self.pay_result.addWidget(box)
        else:
            self.pay_result.addWidget(
                label(
                    "We're confirming this payment with the card processor. It will show in your history "
                    "shortly; you won't be charged twice.",
                    "muted",
                    wrap=True,
                )
            )
        await self._refresh()
        self.actionFinished.emit("paid")

    @qasync.asyncSlot()
    @_guarded
    async def schedule_payment(self) -> None:
        if self.client is None:
            return
        p = self._policy(self.pay_policy.currentData())
        method_id = self.pay_card.currentData()
        _show_error(self.date_error, "")
        if p is None or not method_id:
            return
        if self.pay_full.isChecked():
            amount: int | None = p.balance_minor
        else:
            ok, amount = self._read_amount(allow_full=False)
            if not ok:
                return
        qd = self.pay_date.date()
        run_on = date(qd.year(), qd.month(), qd.day())
        self._set_busy(+1)
        try:
            await self.client.schedule_payment(
                p.policy_id, run_on=run_on, amount_minor=int(amount or 0), payment_method_id=str(method_id)
            )
        except PortalError as exc:
            code = getattr(exc, "code", "")
            _show_error(
                self.date_error if code.startswith("payment.date") else self.amount_error, _message(exc)
            )
            self.actionFinished.emit(code or "error")
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("scheduled")

    async def _refresh(self) -> None:
        if self.client is None:
            return
        try:
            self.show_payments(await self.client.payments(self.account_id))
        except PortalError as exc:
            self._notice("critical", "Payments could not be refreshed", _message(exc))

    # --- policies: schedule, autopay, payment day --------------------------------------------

    def _fill_policies(self, data: PaymentsOverview) -> None:
        clear_layout(self.policies_box)
        if not data.policies:
            self.policies_box.addWidget(
                EmptyState("payments", "Nothing to pay", "There are no policies on this account.")
            )
            return
        for p in data.policies:
            self.policies_box.addWidget(self._policy_card(p, data.methods))

    def _policy_card(self, p: PolicyBilling, methods: list[SavedCard]) -> Card:
        tone = {"active": ("Autopay on", "success"), "suspended": ("Autopay paused", "warning")}
        text, t = tone.get(p.autopay_status, ("Autopay off", "neutral"))
        card = Card(
            wording.product_line(p.product_line),
            f"Policy {p.number} · {wording.PAY_PLANS.get(p.pay_plan, p.pay_plan)}",
            icon_name=wording.PRODUCT_ICONS.get(p.product_line, "policies"),
            badge=Badge(text, t),
        )
        card.setObjectName(f"policy-{p.number}")
        d = p.delinquency or {}
        if p.status == "cancelled":
            until = d.get("reinstate_until")
            card.body.addWidget(
                Banner(
                    "critical",
                    "Cancelled for non-payment",
                    f"Pay {money(p.past_due_minor, p.currency)} by {until} to reinstate it."
                    if until
                    else "Please call us about this policy.",
                )
            )
        elif p.status == "pending_cancellation":
            card.body.addWidget(
                Banner(
                    "critical",
                    "This policy will be cancelled",
                    f"Pay {money(p.past_due_minor, p.currency)} before {d.get('cancel_on')} "
                    "to keep your cover.",
                )
            )
        elif p.past_due_minor:
            card.body.addWidget(
                Banner(
                    "warning",
                    f"{money(p.past_due_minor, p.currency)} is past due",
                    f"Grace period ends {d.get('grace_ends_on', 'soon')}." if d else "",
                )
            )
        if p.autopay_status == "suspended":
            card.body.addWidget(
                Banner(
                    "warning",
                    "Autopay is paused",
                    "Recent charges failed. Choose a card and switch autopay on again.",
                )
            )
        nxt = next(
            (i for i in p.installments if i.status in ("scheduled", "partially_paid", "past_due")), None
        )
        card.facts(
            [
                ("Balance", money(p.balance_minor, p.currency), "value-strong"),
                (
                    "Past due",
                    money(p.past_due_minor, p.currency),
                    "value-danger" if p.past_due_minor else "value",
                ),
                (
                    "Next payment",
                    f"{money(nxt.amount_minor - nxt.paid_minor, nxt.currency)} on {wording.day(nxt.due_date)}"
                    if nxt
                    else "Nothing due",
                    "value",
                ),
                ("Payment day", f"Day {p.payment_day} of the month", "value"),
            ],
            columns=4,
        )
        table = QTableWidget(len(p.installments), 5)
        table.setHorizontalHeaderLabels(["#", "Due", "Amount", "Paid", "Status"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAccessibleName(f"Billing schedule of policy {p.number}")
        table.horizontalHeader().setStretchLastSection(True)
        for r, inst in enumerate(p.installments):
            cells = [
                str(inst.number),
                wording.day(inst.due_date),
                money(inst.amount_minor, inst.currency),
                money(inst.paid_minor, inst.currency),
                STATUS.get(inst.status, (inst.status, ""))[0],
            ]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if c in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setFixedHeight(min(34 + 30 * max(len(p.installments), 1), 34 + 30 * 6))
        card.body.addWidget(table)
        card.divider()
        controls = QHBoxLayout()
        controls.setSpacing(24)
        # Autopay
        auto_box = QVBoxLayout()
        switch = QCheckBox("Autopay")
        switch.setObjectName(f"autopay-{p.number}")
        switch.setAccessibleName(f"Autopay for policy {p.number}")
        switch.setChecked(p.autopay_status == "active")
        auto_box.addWidget(switch)
        if p.autopay_status == "active" and p.autopay_authorized_at:
            used = next((m.label for m in methods if m.id == p.autopay_method_id), "your card")
            auto_box.addWidget(
                label(
                    f"Charges {used} on each due date. Agreed {wording.local_time(p.autopay_authorized_at)}.",
                    "muted",
                    wrap=True,
                )
            )
        terms_panel = QFrame()
        terms_panel.setProperty("panel", "terms")
        tp = QVBoxLayout(terms_panel)
        tp.setContentsMargins(12, 10, 12, 10)
        auto_card = QComboBox()
        auto_card.setAccessibleName("Card for autopay")
        for m in methods:
            if not m.expired:
                auto_card.addItem(m.label, m.id)
        terms = label("", wrap=True)
        terms.setObjectName(f"terms-{p.number}")
        agree = _button("I agree — switch autopay on", "primary")
        agree.setObjectName(f"agree-{p.number}")
        auto_error = _error_label()
        tp.addLayout(_field("Card", auto_card))
        tp.addWidget(terms)
        tp.addWidget(auto_error)
        tp.addWidget(agree, 0, Qt.AlignmentFlag.AlignLeft)
        terms_panel.setVisible(False)
        auto_box.addWidget(terms_panel)

        def show_terms() -> None:
            terms.setText(p.autopay_terms.get(str(auto_card.currentData()), ""))

        auto_card.currentIndexChanged.connect(lambda _: show_terms())
        show_terms()

        def toggled(on: bool) -> None:
            if on and p.autopay_status != "active":
                terms_panel.setVisible(True)
                agree.setFocus()
            elif not on and p.autopay_status == "active":
                self.turn_off_autopay(p.policy_id)
            else:
                terms_panel.setVisible(False)

        switch.toggled.connect(toggled)
        agree.clicked.connect(
            lambda: self.turn_on_autopay(p.policy_id, str(auto_card.currentData()), terms.text(), auto_error)
        )
        controls.addLayout(auto_box, 3)
        # Payment day
        day_box = QVBoxLayout()
        day_row = QHBoxLayout()
        day = QSpinBox()
        day.setRange(1, 28)
        day.setValue(max(1, min(p.payment_day, 28)))
        day.setObjectName(f"day-{p.number}")
        day.setAccessibleName(f"Payment day for policy {p.number}")
        apply_day = _button("Change day")
        apply_day.setObjectName(f"apply-day-{p.number}")
        day_error = _error_label()
        day_error.setObjectName(f"day-error-{p.number}")
        day_row.addWidget(day)
        day_row.addWidget(apply_day)
        day_row.addStretch(1)
        day_box.addWidget(label("Payment day of the month", "field-label"))
        day_box.addLayout(day_row)
        day_box.addWidget(day_error)
        apply_day.clicked.connect(lambda: self.change_day(p.policy_id, day.value(), day_error))
        controls.addLayout(day_box, 2)
        card.body.addLayout(controls)
        return card

    @qasync.asyncSlot()
    @_guarded
    async def turn_on_autopay(self, policy_id: str, method_id: str, text: str, error: QWidget) -> None:
        if self.client is None:
            return
        if not method_id or method_id == "None":
            _show_error(error, "Add a card first.")
            return
        self._set_busy(+1)
        try:
            await self.client.enroll_autopay(policy_id, payment_method_id=method_id, authorization_text=text)
        except PortalError as exc:
            _show_error(error, _message(exc))
            self.actionFinished.emit(getattr(exc, "code", "error"))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("autopay_on")

    @qasync.asyncSlot()
    @_guarded
    async def turn_off_autopay(self, policy_id: str) -> None:
        if self.client is None:
            return
        self._set_busy(+1)
        try:
            await self.client.disable_autopay(policy_id)
        except PortalError as exc:
            self._notice("critical", "Autopay could not be switched off", _message(exc))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("autopay_off")

    @qasync.asyncSlot()
    @_guarded
    async def change_day(self, policy_id: str, day: int, error: QWidget) -> None:
        if self.client is None:
            return
        _show_error(error, "")
        self._set_busy(+1)
        try:
            moved = await self.client.set_payment_day(policy_id, day)
        except PortalError as exc:
            detail = (
                exc.detail if isinstance(exc, ApiError) and exc.code == "payment.day_beyond_grace" else ""
            )
            _show_error(error, detail or _message(exc))
            self.actionFinished.emit(getattr(exc, "code", "error"))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit(f"day_changed:{moved}")

    # --- cards -------------------------------------------------------------------------------

    def _fill_cards(self, data: PaymentsOverview) -> None:
        clear_layout(self.cards_rows)
        if not data.methods:
            self.cards_rows.addWidget(
                label("No saved cards yet. Add one below to pay or use autopay.", "muted")
            )
        for m in data.methods:
            row = QHBoxLayout()
            row.addWidget(label(m.label, "value-strong"))
            row.addWidget(label(f"Expires {m.exp_month:02d}/{m.exp_year % 100:02d}", "muted"))
            if m.is_default:
                row.addWidget(Badge("Default", "info"))
            if m.expired:
                row.addWidget(Badge("Expired", "danger"))
            elif m.expires_soon:
                row.addWidget(Badge("Expires soon", "warning"))
            if m.autopay_policy_ids:
                row.addWidget(Badge("Autopay", "success"))
            row.addStretch(1)
            error = _error_label()
            if not m.is_default:
                make = _button("Make default", "quiet")
                make.setAccessibleName(f"Make {m.label} the default card")
                make.clicked.connect(lambda _=False, mid=m.id: self.make_default(mid))
                row.addWidget(make)
            remove = _button("Remove", "quiet")
            remove.setObjectName(f"remove-{m.last4}")
            remove.setAccessibleName(f"Remove {m.label}")
            remove.clicked.connect(lambda _=False, mid=m.id, err=error: self.remove_card(mid, err))
            row.addWidget(remove)
            box = QVBoxLayout()
            box.addLayout(row)
            box.addWidget(error)
            self.cards_rows.addLayout(box)

    @qasync.asyncSlot()
    @_guarded
    async def add_card(self) -> None:
        if self.client is None:
            return
        for err in (self.number_error, self.expiry_error, self.cvc_error):
            _show_error(err, "")
        digits = "".join(ch for ch in self.card_number.text() if ch.isdigit())
        month_text, _, year_text = self.card_expiry.text().partition("/")
        ok = True
        if not 12 <= len(digits) <= 19:
            _show_error(self.number_error, "Enter the long number on the front of the card.")
            ok = False
        if not (month_text.strip().isdigit() and year_text.strip().isdigit() and 1 <= int(month_text) <= 12):
            _show_error(self.expiry_error, "Use MM/YY, like 08/29.")
            ok = False
        cvc = self.card_cvc.text().strip()
        if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
            _show_error(self.cvc_error, "3 or 4 digits from the back of the card.")
            ok = False
        if not ok:
            return
        self._set_busy(+1)
        try:
            if self.config is None:
                self.config = await self.client.payments_config()
            # The card goes to Stripe only; Portal receives the resulting payment-method id.
            pm_id = await self.client.tokenize_card(
                self.config,
                number=digits,
                exp_month=int(month_text),
                exp_year=2000 + int(year_text) % 100,
                cvc=cvc,
            )
            await self.client.add_card(self.account_id, pm_id, make_default=self.card_default.isChecked())
        except PortalError as exc:
            code = getattr(exc, "code", "")
            target = (
                self.expiry_error
                if "expiry" in code
                else self.cvc_error
                if "cvc" in code
                else self.number_error
            )
            _show_error(target, _message(exc))
            self.actionFinished.emit(code or "error")
            return
        finally:
            self._set_busy(-1)
        for w in (self.card_number, self.card_expiry, self.card_cvc):
            w.clear()
        self.card_default.setChecked(False)
        await self._refresh()
        self.actionFinished.emit("card_added")

    @qasync.asyncSlot()
    @_guarded
    async def make_default(self, method_id: str) -> None:
        if self.client is None:
            return
        self._set_busy(+1)
        try:
            await self.client.set_default_card(self.account_id, method_id)
        except PortalError as exc:
            self._notice("critical", "The default card could not be changed", _message(exc))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()

    @qasync.asyncSlot()
    @_guarded
    async def remove_card(self, method_id: str, error: QWidget) -> None:
        if self.client is None:
            return
        self._set_busy(+1)
        try:
            await self.client.remove_card(self.account_id, method_id)
        except PortalError as exc:
            _show_error(error, _message(exc))
            self.actionFinished.emit(getattr(exc, "code", "error"))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("card_removed")

    # --- scheduled payments ------------------------------------------------------------------

    def _fill_scheduled(self, data: PaymentsOverview) -> None:
        clear_layout(self.scheduled_rows)
        upcoming = [s for s in data.scheduled if s.status in ("scheduled", "running")]
        done = [s for s in data.scheduled if s.status not in ("scheduled", "running")][:5]
        if not upcoming and not done:
            self.scheduled_rows.addWidget(
                label("Nothing scheduled. Pick a date in “Make a payment” to pay later.", "muted", wrap=True)
            )
        numbers = {p.policy_id: p.number for p in data.policies}
        for s in upcoming + done:
            self.scheduled_rows.addLayout(self._scheduled_row(s, numbers.get(s.policy_id, "")))

    def _scheduled_row(self, s: ScheduledPaymentRow, number: str) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(label(wording.day(s.run_on), "value-strong"))
        row.addWidget(label(f"{money(s.amount_minor, s.currency)} · policy {number}", "value"))
        text, tone = STATUS.get(s.status, (s.status, "neutral"))
        row.addWidget(Badge(text, tone))
        row.addStretch(1)
        error = _error_label()
        if s.status == "scheduled":
            when = QDateEdit()
            when.setCalendarPopup(True)
            when.setDisplayFormat(DATE_FORMAT)
            if s.run_on:
                when.setDate(QDate(s.run_on.year, s.run_on.month, s.run_on.day))
            when.setAccessibleName("New date")
            amount = QLineEdit(money(s.amount_minor, s.currency))
            amount.setAccessibleName("New amount")
            amount.setMaximumWidth(130)
            save = _button("Save changes", "quiet")
            cancel = _button("Cancel payment", "quiet")
            cancel.setObjectName(f"cancel-{s.id}")
            row.addWidget(when)
            row.addWidget(amount)
            row.addWidget(save)
            row.addWidget(cancel)
            save.clicked.connect(lambda: self.edit_scheduled(s.id, when.date(), amount.text(), error))
            cancel.clicked.connect(lambda: self.cancel_scheduled(s.id, error))
        box.addLayout(row)
        box.addWidget(error)
        return box

    @qasync.asyncSlot()
    @_guarded
    async def edit_scheduled(self, scheduled_id: str, qd: QDate, amount_text: str, error: QWidget) -> None:
        if self.client is None:
            return
        amount = parse_amount(amount_text)
        if amount is None or amount <= 0:
            _show_error(error, "Enter an amount, like 125.50.")
            return
        self._set_busy(+1)
        try:
            await self.client.update_scheduled_payment(
                scheduled_id, run_on=date(qd.year(), qd.month(), qd.day()), amount_minor=amount
            )
        except PortalError as exc:
            _show_error(error, _message(exc))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("scheduled_updated")

    @qasync.asyncSlot()
    @_guarded
    async def cancel_scheduled(self, scheduled_id: str, error: QWidget) -> None:
        if self.client is None:
            return
        self._set_busy(+1)
        try:
            await self.client.cancel_scheduled_payment(scheduled_id)
        except PortalError as exc:
            _show_error(error, _message(exc))
            return
        finally:
            self._set_busy(-1)
        await self._refresh()
        self.actionFinished.emit("scheduled_canceled")

    # --- history -----------------------------------------------------------------------------

    def _fill_history(self, data: PaymentsOverview) -> None:
        rows = data.history
        self.history.setRowCount(len(rows))
        self.history.setVisible(bool(rows))
        self.history_empty.setVisible(not rows)
        for r, h in enumerate(rows):
            when = h.completed_at or h.created_at
            text, _ = STATUS.get(h.status, (h.status, ""))
            if h.refunded_minor:
                text += f" · {money(h.refunded_minor, h.currency)} refunded"
            cells = [
                wording.local_time(when),
                h.policy_number,
                money(h.amount_minor, h.currency),
                KINDS.get(h.kind, h.kind),
                text,
            ]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.history.setItem(r, c, item)
            if h.status == "succeeded" and h.receipt_number:
                b = _button("Save PDF", "quiet")
                b.setAccessibleName(f"Save receipt {h.receipt_number}")
                b.clicked.connect(lambda _=False, pid=h.id, num=h.receipt_number: self.save_receipt(pid, num))
                self.history.setCellWidget(r, 5, b)
            else:
                self.history.removeCellWidget(r, 5)
                self.history.setItem(r, 5, QTableWidgetItem(""))
        # Tall enough for every row up to ten, then it scrolls.
        self.history.setFixedHeight(44 + 40 * min(max(len(rows), 1), 10))

    @qasync.asyncSlot()
    @_guarded
    async def save_receipt(self, payment_id: str, number: str) -> None:
        if self.client is None:
            return
        self._set_busy(+1)
        try:
            pdf = await self.client.payment_receipt(payment_id)
        except PortalError as exc:
            self.receipt_note.setText(_message(exc))
            return
        finally:
            self._set_busy(-1)
        folder = self.receipts_dir or Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation) or "."
        )
        path = folder / f"receipt-{number}.pdf"
        await asyncio.to_thread(_write, path, pdf)
        self.receipt_note.setText(f"Receipt {number} saved to {path}")
        self.actionFinished.emit(f"receipt_saved:{path}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

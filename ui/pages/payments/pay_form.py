"""Make a payment: pay now (with a confirmation step) or schedule it for a date.

After Pay, Decline or Schedule the outcome stays in view: the result panel is revealed and takes
the focus (disabling a focused button used to hand the focus on to "Add a card", and the page
scrolled there). A decline message belongs to the card it was about: choosing another card
clears it.
"""

from __future__ import annotations

import uuid
from datetime import date

import qasync
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import PortalError
from portal_app.client.models import PaymentRow, PaymentsOverview, PolicyBilling
from ui import error_wording, wording
from ui.formatting import QT_DATE_FORMAT, day, money, parse_amount
from ui.pages.payments.common import PaymentsHost, button, error_label, field, no_signals, show_error
from ui.tasks import owned
from ui.widgets import Card, ComboBox, clear_layout, label

CARD_CODES = ("payment.authentication_required", "payment.method_expired", "payment.method_not_found")


def date_field(accessible_name: str) -> QDateEdit:
    """A date field with the calendar popup, in the client's one date style."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(QT_DATE_FORMAT)
    edit.setAccessibleName(accessible_name)
    calendar = edit.calendarWidget()
    calendar.setVerticalHeaderFormat(calendar.VerticalHeaderFormat.NoVerticalHeader)
    calendar.setGridVisible(False)
    calendar.setMinimumSize(300, 250)
    return edit


class PayForm(Card):
    """Threading/async rule: Qt thread; its calls are tasks of the page's TaskScope."""

    def __init__(self, host: PaymentsHost) -> None:
        super().__init__(
            "Make a payment", "Pay now, or pick a date and we'll take it then", icon_name="payments"
        )
        self.host = host
        self.tasks = host.tasks
        self.last_payment: PaymentRow | None = None
        self._pending: tuple[str, str, int | None] | None = None
        self._pay_key = ""
        # Takes the focus while a call runs, so no button hands it on down the page.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(10)
        self.pay_policy = ComboBox()
        self.pay_policy.setAccessibleName("Policy to pay")
        # Long item texts must not widen the page past the window.
        self.pay_policy.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pay_policy.setMinimumContentsLength(16)
        self.pay_amount = QLineEdit()
        self.pay_amount.setPlaceholderText("Full balance")
        self.pay_amount.setAccessibleName("Amount")
        self.pay_full = QCheckBox("Pay the full balance")
        self.pay_full.setChecked(True)
        self.pay_card = ComboBox()
        self.pay_card.setAccessibleName("Card to pay with")
        self.pay_card.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pay_card.setMinimumContentsLength(14)
        self.pay_date = date_field("Date for a scheduled payment")
        self.amount_error = error_label()
        self.card_error = error_label()
        self.card_error.setObjectName("PayCardError")
        self.date_error = error_label()
        self.no_card_hint = label("Add a card under “Saved cards” to pay.", "muted", wrap=True)
        self.no_card_hint.setObjectName("NoCardHint")
        self.no_card_hint.setVisible(False)
        top = Qt.AlignmentFlag.AlignTop
        # Two columns: four side by side did not fit a 1024-pixel window (the card was cut off).
        grid.addLayout(field("Policy", self.pay_policy), 0, 0, top)
        amount_box = field("Amount", self.pay_amount, self.amount_error)
        amount_box.addWidget(self.pay_full)
        grid.addLayout(amount_box, 0, 1, top)
        card_box = field("Card", self.pay_card, self.card_error)
        card_box.addWidget(self.no_card_hint)
        grid.addLayout(card_box, 1, 0, top)
        grid.addLayout(field("Date (for a scheduled payment)", self.pay_date, self.date_error), 1, 1, top)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self.body.addLayout(grid)
        row = QHBoxLayout()
        self.pay_button = button("Pay now…", "primary", "PayNowButton")
        self.schedule_button = button("Schedule for this date", "", "ScheduleButton")
        row.addWidget(self.pay_button)
        row.addWidget(self.schedule_button)
        row.addStretch(1)
        self.body.addLayout(row)
        # Confirmation step: the amount and card spelled out before money moves.
        self.confirm_panel = QFrame()
        self.confirm_panel.setProperty("panel", "confirm")
        cp = QHBoxLayout(self.confirm_panel)
        cp.setContentsMargins(14, 10, 14, 10)
        self.confirm_text = label("", wrap=True)
        self.confirm_button = button("Confirm payment", "primary", "ConfirmPayButton")
        self.confirm_cancel = button("Cancel", "quiet")
        cp.addWidget(self.confirm_text, 1)
        cp.addWidget(self.confirm_button)
        cp.addWidget(self.confirm_cancel)
        self.confirm_panel.setVisible(False)
        self.body.addWidget(self.confirm_panel)
        self.result_box = QVBoxLayout()
        self.body.addLayout(self.result_box)
        self.pay_full.toggled.connect(self._full_toggled)
        self.pay_amount.textEdited.connect(self._amount_edited)
        # `activated`: the person's own choice (a refill of the list must not clear a message).
        self.pay_card.activated.connect(lambda _i: self._card_chosen())
        self.pay_policy.activated.connect(lambda _i: self._card_chosen())
        self.pay_date.dateChanged.connect(lambda _d: show_error(self.date_error, ""))
        self.pay_button.clicked.connect(self.ask_confirmation)
        self.confirm_cancel.clicked.connect(lambda: self.confirm_panel.setVisible(False))
        self.confirm_button.clicked.connect(self.confirm_payment)
        self.schedule_button.clicked.connect(self.schedule_payment)
        self.pay_policy.currentIndexChanged.connect(lambda _: self._update_hint())

    @property
    def action_buttons(self) -> tuple[QWidget, ...]:
        return (self.pay_button, self.confirm_button, self.schedule_button)

    # --- data ----------------------------------------------------------------------------------

    def fill(self, data: PaymentsOverview) -> None:
        keep_policy = self.pay_policy.currentData()
        keep_card = self.pay_card.currentData()
        policies = [
            (
                f"{wording.product_line(p.product_line)} · {p.number} — "
                f"{money(p.payable_minor, p.currency)} to pay",
                p.policy_id,
            )
            for p in data.policies
        ]
        with no_signals(self.pay_policy):
            if _replace_items(self.pay_policy, policies):
                idx = self.pay_policy.findData(keep_policy)
                if idx < 0:
                    # Start on the policy that most needs paying.
                    worst = max(
                        data.policies, key=lambda p: (p.past_due_minor, p.payable_minor), default=None
                    )
                    idx = self.pay_policy.findData(worst.policy_id) if worst else 0
                self.pay_policy.setCurrentIndex(max(idx, 0))
        cards = [
            (f"{m.label}{' (default)' if m.is_default else (' (expired)' if m.expired else '')}", m.id)
            for m in data.methods
        ]
        with no_signals(self.pay_card):
            if _replace_items(self.pay_card, cards):
                ci = self.pay_card.findData(keep_card)
                if ci < 0:
                    ci = next((i for i, m in enumerate(data.methods) if m.is_default), 0)
                self.pay_card.setCurrentIndex(ci)
        self.enable_for(data)
        self._update_hint()

    def enable_for(self, data: PaymentsOverview) -> None:
        """Pay and Schedule need a saved card; the hint to add one goes once there is one."""
        has_cards = bool(data.methods)
        self.pay_button.setEnabled(has_cards)
        self.schedule_button.setEnabled(has_cards)
        self.pay_card.setEnabled(has_cards)
        self.no_card_hint.setVisible(not has_cards)

    def policy(self, policy_id: object) -> PolicyBilling | None:
        data = self.host.data
        if data is None:
            return None
        return next((p for p in data.policies if p.policy_id == policy_id), None)

    def _update_hint(self) -> None:
        p = self.policy(self.pay_policy.currentData())
        if p is None:
            return
        self.pay_full.setText(f"Pay the full balance ({money(p.payable_minor, p.currency)})")
        if p.today is not None:
            ahead = self.host.config.schedule_ahead_days if self.host.config else 365
            tomorrow = QDate(p.today.year, p.today.month, p.today.day).addDays(1)
            self.pay_date.setMinimumDate(tomorrow)
            self.pay_date.setMaximumDate(tomorrow.addDays(ahead - 1))
            if self.pay_date.date() < tomorrow:
                self.pay_date.setDate(tomorrow)

    def _full_toggled(self, on: bool) -> None:
        if on:
            self.pay_amount.clear()
            show_error(self.amount_error, "")

    def _amount_edited(self, _text: str) -> None:
        self.pay_full.setChecked(False)
        show_error(self.amount_error, "")  # the person is fixing it: the old message is stale
        self.pay_amount.setProperty("invalid", False)
        self.pay_amount.style().polish(self.pay_amount)

    def _card_chosen(self) -> None:
        show_error(self.card_error, "")
        self.confirm_panel.setVisible(False)
        clear_layout(self.result_box)

    def _read_amount(self, *, allow_full: bool) -> tuple[bool, int | None]:
        show_error(self.amount_error, "")
        self.pay_amount.setProperty("invalid", False)
        if self.pay_full.isChecked() and allow_full:
            return True, None
        amount = parse_amount(self.pay_amount.text())
        if amount is None or amount <= 0:
            show_error(self.amount_error, "Enter an amount, like 125.50.")
            self.pay_amount.setProperty("invalid", True)
            self.pay_amount.style().polish(self.pay_amount)
            self.pay_amount.setFocus()
            return False, None
        return True, amount

    # --- pay now -------------------------------------------------------------------------------

    def ask_confirmation(self) -> None:
        show_error(self.card_error, "")
        clear_layout(self.result_box)
        p = self.policy(self.pay_policy.currentData())
        method_id = self.pay_card.currentData()
        if p is None or not method_id:
            show_error(self.card_error, "Choose a card.")
            return
        ok, amount = self._read_amount(allow_full=True)
        if not ok:
            return
        shown = p.payable_minor if amount is None else amount
        if amount is not None and amount > p.payable_minor:
            show_error(self.amount_error, error_wording.message("payment.amount_over_balance"))
            return
        self._pending = (p.policy_id, str(method_id), amount)
        # One key per confirmation: a double click or a resend pays once.
        self._pay_key = uuid.uuid4().hex
        self.confirm_text.setText(
            f"Pay {money(shown, p.currency)} now for policy {p.number} with {self.pay_card.currentText()}?"
        )
        self.confirm_panel.setVisible(True)
        self.confirm_button.setFocus()

    @qasync.asyncSlot()
    @owned
    async def confirm_payment(self) -> None:
        client = self.host.client
        if self._pending is None or client is None:
            return
        policy_id, method_id, amount = self._pending
        clear_layout(self.result_box)
        try:
            with self.host.busy():
                paid = await client.pay_now(
                    policy_id, payment_method_id=method_id, amount_minor=amount, request_key=self._pay_key
                )
        except PortalError as exc:
            self.confirm_panel.setVisible(False)
            self._pending = None
            code = getattr(exc, "code", "")
            on_card = code.startswith("payment.card") or code in CARD_CODES
            target = self.card_error if on_card else self.amount_error
            show_error(target, error_wording.message_for(exc))
            await self.host.refresh()
            self.host.reveal(target, self.pay_card if on_card else self.pay_amount)
            self.host.finished(code or "error")
            return
        self.confirm_panel.setVisible(False)
        self._pending = None
        self.last_payment = paid
        self.pay_amount.clear()
        self.pay_full.setChecked(True)
        panel = QFrame()
        panel.setProperty("panel", "confirm")
        panel.setObjectName("PayResult")
        row = QHBoxLayout(panel)
        row.setContentsMargins(14, 10, 14, 10)
        focus = None
        if paid.status == "succeeded":
            text = label(
                f"Thank you — {money(paid.amount_minor, paid.currency)} paid. Receipt {paid.receipt_number}.",
                wrap=True,
                name="PaySuccess",
            )
            row.addWidget(text, 1)
            save = button("Save receipt", "quiet", "SaveReceiptButton")
            save.clicked.connect(lambda: self.host.save_receipt(paid.id, paid.receipt_number or paid.id))
            row.addWidget(save)
            focus = save
        else:
            row.addWidget(
                label(
                    "We're confirming this payment with the card processor. It will show in your history "
                    "shortly; you won't be charged twice.",
                    "muted",
                    wrap=True,
                ),
                1,
            )
        self.result_box.addWidget(panel)
        await self.host.refresh()
        self.host.reveal(panel, focus)
        self.host.finished("paid")

    # --- schedule ------------------------------------------------------------------------------

    @qasync.asyncSlot()
    @owned
    async def schedule_payment(self) -> None:
        client = self.host.client
        if client is None:
            return
        p = self.policy(self.pay_policy.currentData())
        method_id = self.pay_card.currentData()
        show_error(self.date_error, "")
        clear_layout(self.result_box)
        if p is None or not method_id:
            show_error(self.card_error, "Choose a card.")
            return
        if self.pay_full.isChecked():
            amount: int | None = p.balance_minor
        else:
            ok, amount = self._read_amount(allow_full=False)
            if not ok:
                return
        qd = self.pay_date.date()
        run_on = date(qd.year(), qd.month(), qd.day())
        card_text = self.pay_card.currentText()
        try:
            with self.host.busy():
                await client.schedule_payment(
                    p.policy_id,
                    run_on=run_on,
                    amount_minor=int(amount or 0),
                    payment_method_id=str(method_id),
                )
        except PortalError as exc:
            code = getattr(exc, "code", "")
            target = self.date_error if code.startswith("payment.date") else self.amount_error
            show_error(target, error_wording.message_for(exc))
            self.host.reveal(target, self.pay_date if target is self.date_error else self.pay_amount)
            self.host.finished(code or "error")
            return
        panel = QFrame()
        panel.setProperty("panel", "confirm")
        panel.setObjectName("ScheduleResult")
        row = QHBoxLayout(panel)
        row.setContentsMargins(14, 10, 14, 10)
        row.addWidget(
            label(
                f"Scheduled: {money(int(amount or 0), p.currency)} for policy {p.number} on {day(run_on)} "
                f"with {card_text}. Change or cancel it under “Scheduled payments”.",
                wrap=True,
                name="ScheduleSuccess",
            ),
            1,
        )
        self.result_box.addWidget(panel)
        await self.host.refresh()
        self.host.reveal(panel)
        self.host.finished("scheduled")


def _replace_items(combo: QComboBox, items: list[tuple[str, str]]) -> bool:
    """Give `combo` these (text, data) items; False, touching nothing, when it already has them.

    A reload (the live feed after a payment, say) must not rebuild a list the person has open:
    clearing it closes the popup under their pointer and drops the card they were picking."""
    current = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    if current == items:
        return False
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    return True

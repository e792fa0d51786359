"""One policy's billing card: balance, the installment schedule, autopay and the payment day.

Autopay is a mandate: the box is ticked only once the person has agreed to the exact terms and
the service has recorded them. Ticking it opens the agreement in a window-modal dialog (opened
with `open()`, answered through signals) and the box stays unticked until then; the card's own
layout never changes under the person's pointer.
"""

from __future__ import annotations

import qasync
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, PortalError
from portal_app.client.models import PolicyBilling, SavedCard
from ui import error_wording, wording
from ui.formatting import day as fmt_day
from ui.formatting import money, time_in
from ui.pages.payments.common import STATUS, PaymentsHost, button, error_label, field, no_signals, show_error
from ui.tasks import owned
from ui.widgets import Badge, Banner, Card, ComboBox, label


class AutopayAgreement(QDialog):
    """The autopay mandate: choose a card, read its exact terms, agree. Window-modal, `open()`ed."""

    agreed = Signal(str, str)  # payment method id, the exact terms text agreed to

    def __init__(self, policy: PolicyBilling, methods: list[SavedCard], parent: QWidget) -> None:
        super().__init__(parent)
        self.policy = policy
        self.setWindowTitle(f"Autopay for policy {policy.number}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(460)
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 18, 20, 18)
        box.setSpacing(10)
        box.addWidget(label(f"Switch autopay on for policy {policy.number}", name="CardTitle"))
        self.card = ComboBox()
        self.card.setAccessibleName("Card for autopay")
        for m in methods:
            if not m.expired:
                self.card.addItem(m.label, m.id)
        box.addLayout(field("Card", self.card))
        self.terms = label("", wrap=True)
        self.terms.setObjectName(f"terms-{policy.number}")
        self.terms.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.terms)
        self.error = error_label()
        box.addWidget(self.error)
        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel = button("Not now", "quiet")
        self.agree = button("I agree — switch autopay on", "primary")
        self.agree.setObjectName(f"agree-{policy.number}")
        row.addWidget(self.cancel)
        row.addWidget(self.agree)
        box.addLayout(row)
        self.card.currentIndexChanged.connect(lambda _i: self._show_terms())
        self.cancel.clicked.connect(self.reject)
        self.agree.clicked.connect(self._agree)
        self._show_terms()
        if self.card.count() == 0:
            show_error(self.error, "Add a card first.")
            self.agree.setEnabled(False)

    def _show_terms(self) -> None:
        self.terms.setText(self.policy.autopay_terms.get(str(self.card.currentData()), ""))

    def _agree(self) -> None:
        show_error(self.error, "")
        self.agreed.emit(str(self.card.currentData()), self.terms.text())

    def refused(self, text: str) -> None:
        show_error(self.error, text)


class PolicyBillingCard(Card):
    """Threading/async rule: Qt thread; its calls are tasks of the page's TaskScope."""

    def __init__(self, host: PaymentsHost, p: PolicyBilling, methods: list[SavedCard]) -> None:
        tone = {"active": ("Autopay on", "success"), "suspended": ("Autopay paused", "warning")}
        text, t = tone.get(p.autopay_status, ("Autopay off", "neutral"))
        super().__init__(
            wording.product_line(p.product_line),
            f"Policy {p.number} · {wording.PAY_PLANS.get(p.pay_plan, p.pay_plan)}",
            icon_name=wording.PRODUCT_ICONS.get(p.product_line, "policies"),
            badge=Badge(text, t),
        )
        self.host = host
        self.tasks = host.tasks
        self.policy = p
        self.methods = methods
        self.dialog: AutopayAgreement | None = None
        self.setObjectName(f"policy-{p.number}")
        self._banners(p)
        self._facts(p)
        self.body.addWidget(self._schedule_table(p))
        self.divider()
        controls = QHBoxLayout()
        controls.setSpacing(24)
        controls.addLayout(self._autopay(p, methods), 3)
        controls.addLayout(self._payment_day(p), 2)
        self.body.addLayout(controls)

    def _banners(self, p: PolicyBilling) -> None:
        d = p.delinquency or {}
        if p.status == "cancelled":
            until = d.get("reinstate_until")
            self.body.addWidget(
                Banner(
                    "critical",
                    "Cancelled for non-payment",
                    f"Pay {money(p.past_due_minor, p.currency)} by {until} to reinstate it."
                    if until
                    else "Please call us about this policy.",
                )
            )
        elif p.status == "pending_cancellation":
            self.body.addWidget(
                Banner(
                    "critical",
                    "This policy will be cancelled",
                    f"Pay {money(p.past_due_minor, p.currency)} before {d.get('cancel_on')} "
                    "to keep your cover.",
                )
            )
        elif p.past_due_minor:
            self.body.addWidget(
                Banner(
                    "warning",
                    f"{money(p.past_due_minor, p.currency)} is past due",
                    f"Grace period ends {d.get('grace_ends_on', 'soon')}." if d else "",
                )
            )
        if p.autopay_status == "suspended":
            self.body.addWidget(
                Banner(
                    "warning",
                    "Autopay is paused",
                    "Recent charges failed. Choose a card and switch autopay on again.",
                )
            )

    def _facts(self, p: PolicyBilling) -> None:
        nxt = next(
            (i for i in p.installments if i.status in ("scheduled", "partially_paid", "past_due")), None
        )
        self.facts(
            [
                ("Balance", money(p.balance_minor, p.currency), "value-strong"),
                (
                    "Past due",
                    money(p.past_due_minor, p.currency),
                    "value-danger" if p.past_due_minor else "value",
                ),
                (
                    "Next payment",
                    f"{money(nxt.amount_minor - nxt.paid_minor, nxt.currency)} on {fmt_day(nxt.due_date)}"
                    if nxt
                    else "Nothing due",
                    "value",
                ),
                ("Payment day", f"Day {p.payment_day} of the month", "value"),
            ],
            columns=4,
        )

    def _schedule_table(self, p: PolicyBilling) -> QTableWidget:
        table = QTableWidget(len(p.installments), 5)
        table.setHorizontalHeaderLabels(["#", "Due", "Amount", "Paid", "Status"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAccessibleName(f"Billing schedule of policy {p.number}")
        for r, inst in enumerate(p.installments):
            cells = [
                str(inst.number),
                fmt_day(inst.due_date),
                money(inst.amount_minor, inst.currency),
                money(inst.paid_minor, inst.currency),
                STATUS.get(inst.status, (inst.status, ""))[0],
            ]
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if c in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        header = table.horizontalHeader()
        for c in range(4):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        table.setFixedHeight(min(40 + 32 * max(len(p.installments), 1), 40 + 32 * 6))
        return table

    def _autopay(self, p: PolicyBilling, methods: list[SavedCard]) -> QVBoxLayout:
        box = QVBoxLayout()
        self.switch = QCheckBox("Autopay")
        self.switch.setObjectName(f"autopay-{p.number}")
        self.switch.setAccessibleName(f"Autopay for policy {p.number}")
        self.switch.setChecked(p.autopay_status == "active")
        box.addWidget(self.switch)
        zone = p.time_zone
        if p.autopay_status == "active" and p.autopay_authorized_at:
            used = next((m.label for m in methods if m.id == p.autopay_method_id), "your card")
            box.addWidget(
                label(
                    f"Charges {used} on each due date. Agreed {time_in(p.autopay_authorized_at, zone)}.",
                    "muted",
                    wrap=True,
                )
            )
        else:
            box.addWidget(label("Tick to read the autopay terms and agree to them.", "muted", wrap=True))
        self.autopay_error = error_label()
        box.addWidget(self.autopay_error)
        self.switch.toggled.connect(self._toggled)
        return box

    def _toggled(self, on: bool) -> None:
        p = self.policy
        if on and p.autopay_status != "active":
            # Not agreed yet: the box stays clear until the service has recorded the mandate.
            with no_signals(self.switch):
                self.switch.setChecked(False)
            self.open_agreement()
        elif not on and p.autopay_status == "active":
            self.turn_off_autopay()

    def open_agreement(self) -> AutopayAgreement:
        dialog = AutopayAgreement(self.policy, self.methods, self)
        dialog.agreed.connect(lambda method_id, text: self.turn_on_autopay(method_id, text))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _payment_day(self, p: PolicyBilling) -> QVBoxLayout:
        config = self.host.config
        low, high = (config.payment_day_min, config.payment_day_max) if config else (1, 28)
        day_box = QVBoxLayout()
        day_row = QHBoxLayout()
        self.day = QSpinBox()
        self.day.setRange(low, high)
        self.day.setValue(max(low, min(p.payment_day, high)))
        self.day.setObjectName(f"day-{p.number}")
        self.day.setAccessibleName(f"Payment day for policy {p.number}")
        self.day.setMinimumWidth(90)
        apply_day = button("Change day")
        apply_day.setObjectName(f"apply-day-{p.number}")
        self.day_error = error_label()
        self.day_error.setObjectName(f"day-error-{p.number}")
        day_row.addWidget(self.day)
        day_row.addWidget(apply_day)
        day_row.addStretch(1)
        caption: QLabel = label(f"Payment day of the month ({low}–{high})", "field-label")
        caption.setBuddy(self.day)
        day_box.addWidget(caption)
        day_box.addLayout(day_row)
        day_box.addWidget(self.day_error)
        self.day.valueChanged.connect(lambda _v: show_error(self.day_error, ""))
        apply_day.clicked.connect(lambda: self.change_day(self.day.value()))
        return day_box

    # --- calls ---------------------------------------------------------------------------------

    @qasync.asyncSlot()
    @owned
    async def turn_on_autopay(self, method_id: str, text: str) -> None:
        client = self.host.client
        if client is None or self.dialog is None:
            return
        if not method_id or method_id == "None":
            self.dialog.refused("Add a card first.")
            return
        try:
            with self.host.busy():
                await client.enroll_autopay(
                    self.policy.policy_id, payment_method_id=method_id, authorization_text=text
                )
        except PortalError as exc:
            self.dialog.refused(error_wording.message_for(exc))
            self.host.finished(getattr(exc, "code", "error"))
            return
        self.dialog.accept()
        await self.host.refresh()
        self.host.finished("autopay_on")

    @qasync.asyncSlot()
    @owned
    async def turn_off_autopay(self) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            with self.host.busy():
                await client.disable_autopay(self.policy.policy_id)
        except PortalError as exc:
            with no_signals(self.switch):
                self.switch.setChecked(True)
            show_error(self.autopay_error, error_wording.message_for(exc))
            return
        await self.host.refresh()
        self.host.finished("autopay_off")

    @qasync.asyncSlot()
    @owned
    async def change_day(self, day: int) -> None:
        client = self.host.client
        if client is None:
            return
        show_error(self.day_error, "")
        try:
            with self.host.busy():
                moved = await client.set_payment_day(self.policy.policy_id, day)
        except PortalError as exc:
            # The grace-period refusal names the installment: the service's detail says which.
            detail = (
                exc.detail if isinstance(exc, ApiError) and exc.code == "payment.day_beyond_grace" else ""
            )
            show_error(self.day_error, detail or error_wording.message_for(exc))
            self.host.finished(getattr(exc, "code", "error"))
            return
        await self.host.refresh()
        self.host.finished(f"day_changed:{moved}")

"""Scheduled payments: one-off payments set for a later date, each editable until it runs."""

from __future__ import annotations

from datetime import date

import qasync
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from portal_app.client import PortalError
from portal_app.client.models import PaymentsOverview, ScheduledPaymentRow
from ui import error_wording
from ui.formatting import amount_text, day, money, parse_amount
from ui.pages.payments.common import STATUS, PaymentsHost, button, error_label, show_error
from ui.pages.payments.pay_form import date_field
from ui.tasks import owned
from ui.widgets import Badge, Card, clear_layout, label

RUNNING = ("scheduled", "running")


class ScheduledCard(Card):
    """Threading/async rule: Qt thread; its calls are tasks of the page's TaskScope."""

    def __init__(self, host: PaymentsHost) -> None:
        super().__init__("Scheduled payments", "One-off payments set for a later date", icon_name="calendar")
        self.host = host
        self.tasks = host.tasks
        self.rows = QVBoxLayout()
        self.body.addLayout(self.rows)

    def fill(self, data: PaymentsOverview) -> None:
        clear_layout(self.rows)
        upcoming = [s for s in data.scheduled if s.status in RUNNING]
        done = [s for s in data.scheduled if s.status not in RUNNING][:5]
        if not upcoming and not done:
            self.rows.addWidget(
                label("Nothing scheduled. Pick a date in “Make a payment” to pay later.", "muted", wrap=True)
            )
        numbers = {p.policy_id: p.number for p in data.policies}
        for s in upcoming + done:
            self.rows.addLayout(self._row(s, numbers.get(s.policy_id, "")))

    def _row(self, s: ScheduledPaymentRow, number: str) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(label(day(s.run_on), "value-strong"))
        row.addWidget(label(f"{money(s.amount_minor, s.currency)} · policy {number}", "value"))
        text, tone = STATUS.get(s.status, (s.status, "neutral"))
        row.addWidget(Badge(text, tone))
        row.addStretch(1)
        error = error_label()
        if s.status == "scheduled":
            when = date_field("New date")
            if s.run_on:
                when.setDate(QDate(s.run_on.year, s.run_on.month, s.run_on.day))
            amount = QLineEdit(amount_text(s.amount_minor))
            amount.setAccessibleName("New amount")
            amount.setObjectName(f"amount-{s.id}")
            # Wide enough for the largest amount we schedule, padding and frame included.
            amount.setMinimumWidth(amount.fontMetrics().horizontalAdvance("000,000.00") + 30)
            amount.setMaximumWidth(amount.minimumWidth() + 40)
            save = button("Save changes", "quiet")
            cancel = button("Cancel payment", "quiet")
            cancel.setObjectName(f"cancel-{s.id}")
            row.addWidget(when)
            row.addWidget(amount)
            row.addWidget(save)
            row.addWidget(cancel)
            amount.textEdited.connect(lambda _t: show_error(error, ""))
            when.dateChanged.connect(lambda _d: show_error(error, ""))
            save.clicked.connect(lambda: self.edit(s.id, when.date(), amount.text(), error))
            cancel.clicked.connect(lambda: self.cancel(s.id, error))
        box.addLayout(row)
        box.addWidget(error)
        return box

    @qasync.asyncSlot()
    @owned
    async def edit(self, scheduled_id: str, qd: QDate, text: str, error: QLabel) -> None:
        client = self.host.client
        if client is None:
            return
        amount = parse_amount(text)
        if amount is None or amount <= 0:
            show_error(error, "Enter an amount, like 125.50.")
            return
        try:
            with self.host.busy():
                await client.update_scheduled_payment(
                    scheduled_id, run_on=date(qd.year(), qd.month(), qd.day()), amount_minor=amount
                )
        except PortalError as exc:
            show_error(error, error_wording.message_for(exc))
            return
        await self.host.refresh()
        self.host.finished("scheduled_updated")

    @qasync.asyncSlot()
    @owned
    async def cancel(self, scheduled_id: str, error: QLabel) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            with self.host.busy():
                await client.cancel_scheduled_payment(scheduled_id)
        except PortalError as exc:
            show_error(error, error_wording.message_for(exc))
            return
        await self.host.refresh()
        self.host.finished("scheduled_canceled")

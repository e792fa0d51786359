"""Saved cards and adding one. The card goes straight to Stripe; Portal receives only its id.

The number is grouped in fours and the expiry gets its slash as the person types, so "1229"
reads (and is accepted) as 12/29.
"""

from __future__ import annotations

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLineEdit, QVBoxLayout

from portal_app.client import PortalError
from portal_app.client.models import PaymentsOverview
from ui import error_wording
from ui.pages.payments.common import PaymentsHost, button, error_label, field, show_error
from ui.tasks import owned
from ui.widgets import Badge, Card, clear_layout, label


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def group_card_number(text: str) -> str:
    """'4242424242424242' -> '4242 4242 4242 4242' (up to 19 digits)."""
    digits = digits_of(text)[:19]
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def format_expiry(text: str) -> str:
    """'1229' or '12/29' -> '12/29'; a first digit above 1 is that month ('4' -> '04')."""
    digits = digits_of(text)[:4]
    if len(digits) == 1 and digits > "1":
        digits = "0" + digits
    return f"{digits[:2]}/{digits[2:]}" if len(digits) > 2 else digits


def parse_expiry(text: str) -> tuple[int, int] | None:
    """(month, four-digit year) from 'MM/YY' or 'MMYY'; None when it is not an expiry."""
    digits = digits_of(text)
    if len(digits) != 4:
        return None
    month, year = int(digits[:2]), int(digits[2:])
    if not 1 <= month <= 12:
        return None
    return month, 2000 + year


def keep_formatted(edit: QLineEdit, formatter: object) -> None:
    """Reformat a field on every edit, keeping the caret after the same number of digits."""

    def reformat(text: str) -> None:
        caret_digits = len(digits_of(text[: edit.cursorPosition()]))
        new = formatter(text)  # type: ignore[operator]
        if new == text:
            return
        edit.setText(new)
        pos, seen = 0, 0
        while pos < len(new) and seen < caret_digits:
            if new[pos].isdigit():
                seen += 1
            pos += 1
        edit.setCursorPosition(pos)

    edit.textEdited.connect(reformat)


class CardsCard(Card):
    """Threading/async rule: Qt thread; its calls are tasks of the page's TaskScope."""

    def __init__(self, host: PaymentsHost) -> None:
        super().__init__(
            "Saved cards",
            "Cards are kept by Stripe; we only see the brand and last four digits",
            icon_name="lock",
        )
        self.host = host
        self.tasks = host.tasks
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # holds the focus while a call runs
        self.rows = QVBoxLayout()
        self.rows.setSpacing(8)
        self.body.addLayout(self.rows)
        self.divider()
        self.body.addWidget(label("Add a card", name="SectionTitle"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.card_number = QLineEdit()
        self.card_number.setPlaceholderText("1234 1234 1234 1234")
        self.card_number.setAccessibleName("Card number")
        self.card_number.setMaxLength(23)
        keep_formatted(self.card_number, group_card_number)
        self.card_expiry = QLineEdit()
        self.card_expiry.setPlaceholderText("MM/YY")
        self.card_expiry.setAccessibleName("Expiry date, month and year")
        self.card_expiry.setMaxLength(5)
        keep_formatted(self.card_expiry, format_expiry)
        self.card_cvc = QLineEdit()
        self.card_cvc.setPlaceholderText("CVC")
        self.card_cvc.setAccessibleName("Security code")
        self.card_cvc.setMaxLength(4)
        self.card_cvc.setEchoMode(QLineEdit.EchoMode.Password)
        self.card_default = QCheckBox("Make this my default card")
        self.number_error, self.expiry_error, self.cvc_error = error_label(), error_label(), error_label()
        grid.addLayout(field("Card number", self.card_number, self.number_error), 0, 0)
        grid.addLayout(field("Expiry", self.card_expiry, self.expiry_error), 0, 1)
        grid.addLayout(field("Security code", self.card_cvc, self.cvc_error), 0, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        self.body.addLayout(grid)
        row = QHBoxLayout()
        row.addWidget(self.card_default)
        row.addStretch(1)
        self.add_card_button = button("Save card", "primary", "SaveCardButton")
        row.addWidget(self.add_card_button)
        self.body.addLayout(row)
        self.added_note = label("", "muted", wrap=True, name="CardSaved")
        self.added_note.setVisible(False)
        self.body.addWidget(self.added_note)
        for edit, err in (
            (self.card_number, self.number_error),
            (self.card_expiry, self.expiry_error),
            (self.card_cvc, self.cvc_error),
        ):
            edit.textEdited.connect(lambda _t, err=err: show_error(err, ""))
        self.add_card_button.clicked.connect(self.add_card)
        self.card_cvc.returnPressed.connect(self.add_card)

    def fill(self, data: PaymentsOverview) -> None:
        clear_layout(self.rows)
        if not data.methods:
            self.rows.addWidget(label("No saved cards yet. Add one below to pay or use autopay.", "muted"))
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
            error = error_label()
            if not m.is_default:
                make = button("Make default", "quiet")
                make.setAccessibleName(f"Make {m.label} the default card")
                make.clicked.connect(lambda _=False, mid=m.id, err=error: self.make_default(mid, err))
                row.addWidget(make)
            remove = button("Remove", "quiet")
            remove.setObjectName(f"remove-{m.last4}")
            remove.setAccessibleName(f"Remove {m.label}")
            remove.clicked.connect(lambda _=False, mid=m.id, err=error: self.remove_card(mid, err))
            row.addWidget(remove)
            box = QVBoxLayout()
            box.addLayout(row)
            box.addWidget(error)
            self.rows.addLayout(box)

    @qasync.asyncSlot()
    @owned
    async def add_card(self) -> None:
        client = self.host.client
        if client is None:
            return
        for err in (self.number_error, self.expiry_error, self.cvc_error):
            show_error(err, "")
        self.added_note.setVisible(False)
        digits = digits_of(self.card_number.text())
        expiry = parse_expiry(self.card_expiry.text())
        cvc = self.card_cvc.text().strip()
        ok = True
        if not 12 <= len(digits) <= 19:
            show_error(self.number_error, "Enter the long number on the front of the card.")
            ok = False
        if expiry is None:
            show_error(self.expiry_error, "Use MM/YY, like 08/29.")
            ok = False
        if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
            show_error(self.cvc_error, "3 or 4 digits from the back of the card.")
            ok = False
        if not ok or expiry is None:
            return
        try:
            with self.host.busy():
                if self.host.config is None:
                    self.host.config = await client.payments_config()
                # The card goes to Stripe only; Portal receives the resulting payment-method id.
                pm_id = await client.tokenize_card(
                    self.host.config, number=digits, exp_month=expiry[0], exp_year=expiry[1], cvc=cvc
                )
                saved = await client.add_card(
                    self.host.account_id, pm_id, make_default=self.card_default.isChecked()
                )
        except PortalError as exc:
            code = getattr(exc, "code", "")
            target = (
                self.expiry_error
                if "expiry" in code
                else self.cvc_error
                if "cvc" in code
                else self.number_error
            )
            show_error(target, error_wording.message_for(exc))
            self.host.reveal(target)
            self.host.finished(code or "error")
            return
        for w in (self.card_number, self.card_expiry, self.card_cvc):
            w.clear()
        self.card_default.setChecked(False)
        name = getattr(saved, "label", "") or f"Card ending {digits[-4:]}"
        self.added_note.setText(f"{name} saved. You can pay with it now.")
        self.added_note.setVisible(True)
        await self.host.refresh()
        self.host.reveal(self.added_note)
        self.host.finished("card_added")

    @qasync.asyncSlot()
    @owned
    async def make_default(self, method_id: str, error: object) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            with self.host.busy():
                await client.set_default_card(self.host.account_id, method_id)
        except PortalError as exc:
            show_error(error, error_wording.message_for(exc))  # type: ignore[arg-type]
            return
        await self.host.refresh()

    @qasync.asyncSlot()
    @owned
    async def remove_card(self, method_id: str, error: object) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            with self.host.busy():
                await client.remove_card(self.host.account_id, method_id)
        except PortalError as exc:
            show_error(error, error_wording.message_for(exc))  # type: ignore[arg-type]
            self.host.finished(getattr(exc, "code", "error"))
            return
        await self.host.refresh()
        self.host.finished("card_removed")

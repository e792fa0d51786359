"""Contact details and the paperless preference, edited where policy papers are: the Policies page.

Validation happens as you leave a field (the same rules as the service) and again on the
service; either way the message sits under the field it concerns, worded from the problem code.
"""

from __future__ import annotations

import re

import qasync
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from portal_app.client import AccountOverview, ApiError, Holder, PortalClient, PortalError
from ui import theme
from ui.widgets import Card, ComboBox, label

FIELDS = ("phone", "email", "address", "postcode")
LABELS = {"phone": "Phone", "email": "Email", "address": "Mailing address", "postcode": "ZIP / postcode"}
# The service's rules (services/accounts/schemas.py ContactUpdate), checked before sending.
RULES = {
    "phone": re.compile(r"^\+?[0-9 ()\-]{7,40}$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "address": re.compile(r"^.{3,400}$", re.DOTALL),
    "postcode": re.compile(r"^[A-Za-z0-9 \-]{3,20}$"),
}
MESSAGES = {
    "phone": "Enter a phone number with at least 7 digits, for example +1 312 555 0142.",
    "email": "Enter an email address like name@example.com.",
    "address": "Enter the street address, town and state.",
    "postcode": "Enter a ZIP or postcode: 3 to 20 letters, digits, spaces or hyphens.",
}


def field_problem(field: str, value: str) -> str | None:
    """The message for an invalid value, or None when it passes the service's rules."""
    value = value.strip()
    if not value:
        return f"{LABELS[field]} cannot be empty. " + MESSAGES[field]
    if field == "phone" and sum(ch.isdigit() for ch in value) < 7:
        return MESSAGES[field]
    return None if RULES[field].match(value) else MESSAGES[field]


class ContactDetailsCard(Card):
    """Threading/async rule: Qt thread; saving is a coroutine on the qasync loop."""

    saved = Signal(object)  # Holder

    def __init__(self, client: PortalClient, account_id: str) -> None:
        super().__init__(
            "Your contact details",
            "Where we send policy papers and reminders. Changes reach our agents at once.",
            icon_name="user",
        )
        self.client = client
        self.account_id = account_id
        self.holders: list[Holder] = []
        self.holder: Holder | None = None
        self.setAccessibleName("Contact details")

        self.who = ComboBox()
        self.who.setAccessibleName("Whose details")
        self.who.currentIndexChanged.connect(self._holder_chosen)
        self.body.addWidget(self.who)

        grid = QGridLayout()
        grid.setHorizontalSpacing(20)
        grid.setVerticalSpacing(4)
        self.inputs: dict[str, QLineEdit] = {}
        self.errors: dict[str, object] = {}
        for i, field in enumerate(FIELDS):
            cell = QVBoxLayout()
            cell.setSpacing(4)
            caption = label(LABELS[field], "field-label")
            edit = QLineEdit()
            edit.setAccessibleName(LABELS[field])
            edit.editingFinished.connect(lambda f=field: self._check(f))
            edit.textEdited.connect(lambda _t, f=field: self._clear_error(f))
            error = label("", "field-error", wrap=True)
            error.setVisible(False)
            error.setAccessibleName(f"{LABELS[field]} problem")
            cell.addWidget(caption)
            cell.addWidget(edit)
            cell.addWidget(error)
            self.inputs[field] = edit
            self.errors[field] = error
            grid.addLayout(cell, i // 2, i % 2, Qt.AlignmentFlag.AlignTop)  # labels level despite errors
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)

        self.paperless = QCheckBox("Go paperless: documents in the app and by email, nothing by post")
        self.paperless.setAccessibleName("Paperless documents")
        self.body.addWidget(self.paperless)

        row = QHBoxLayout()
        self.save_button = QPushButton("Save changes")
        self.save_button.setProperty("kind", "primary")
        self.save_button.setAccessibleName("Save contact details")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Undo changes")
        self.revert_button.setProperty("kind", "quiet")
        self.revert_button.clicked.connect(lambda: self._fill(force=True))
        self.result = label("", "muted", wrap=True)
        row.addWidget(self.save_button)
        row.addWidget(self.revert_button)
        row.addSpacing(8)
        row.addWidget(self.result, 1)
        self.body.addLayout(row)
        self.form_error = label("", "field-error", wrap=True)
        self.form_error.setVisible(False)
        self.body.addWidget(self.form_error)

    # --- data --------------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        """Refresh from the account; fields being edited keep what the person typed."""
        self.holders = list(overview.holders)
        me = (self.client.user.email or "").lower() if self.client.user else ""
        wanted = self.holder.id if self.holder else None
        if wanted is None:
            mine = next((h for h in self.holders if (h.email or "").lower() == me), None)
            primary = next((h for h in self.holders if h.is_primary), None)
            chosen = mine or primary or (self.holders[0] if self.holders else None)
            wanted = chosen.id if chosen else None
        self.who.blockSignals(True)
        self.who.clear()
        for h in self.holders:
            self.who.addItem(h.full_name + (" (primary)" if h.is_primary else ""), h.id)
        self.who.setCurrentIndex(max(self.who.findData(wanted), 0))
        self.who.blockSignals(False)
        self.who.setVisible(len(self.holders) > 1)
        self.holder = next((h for h in self.holders if h.id == wanted), None)
        self._fill(force=False)

    def _holder_chosen(self) -> None:
        self.holder = next((h for h in self.holders if h.id == self.who.currentData()), None)
        self._fill(force=True)

    def _fill(self, *, force: bool) -> None:
        h = self.holder
        for field, edit in self.inputs.items():
            if force or not edit.isModified():
                edit.setText((getattr(h, field) or "") if h else "")
                edit.setModified(False)
                self._clear_error(field)
        if force or not self._paperless_dirty():
            self.paperless.setChecked(bool(h and h.paperless))
        self.setEnabled(h is not None)

    def _paperless_dirty(self) -> bool:
        return self.holder is not None and self.paperless.isChecked() != self.holder.paperless

    def changes(self) -> dict[str, str | bool]:
        """What differs from the stored holder (only that is sent)."""
        h = self.holder
        if h is None:
            return {}
        out: dict[str, str | bool] = {
            f: e.text().strip() for f, e in self.inputs.items() if e.text().strip() != (getattr(h, f) or "")
        }
        if self.paperless.isChecked() != h.paperless:
            out["paperless"] = self.paperless.isChecked()
        return out

    # --- validation --------------------------------------------------------------------------

    def _check(self, field: str) -> bool:
        edit = self.inputs[field]
        if self.holder is not None and edit.text().strip() == (getattr(self.holder, field) or ""):
            self._clear_error(field)
            return True
        problem = field_problem(field, edit.text())
        if problem:
            self.show_field_error(field, problem)
            return False
        self._clear_error(field)
        return True

    def show_field_error(self, field: str, message: str) -> None:
        error = self.errors[field]
        error.setText(message)  # type: ignore[attr-defined]
        error.setVisible(True)  # type: ignore[attr-defined]
        self.inputs[field].setProperty("invalid", True)
        theme.repolish(self.inputs[field])

    def _clear_error(self, field: str) -> None:
        error = self.errors[field]
        error.setVisible(False)  # type: ignore[attr-defined]
        if self.inputs[field].property("invalid"):
            self.inputs[field].setProperty("invalid", False)
            theme.repolish(self.inputs[field])

    def field_error_text(self, field: str) -> str:
        error = self.errors[field]
        return error.text() if error.isVisible() else ""  # type: ignore[attr-defined]

    # --- save --------------------------------------------------------------------------------

    @qasync.asyncSlot()
    async def save(self) -> None:
        """Validate every changed field, then PATCH only what changed."""
        self.form_error.setVisible(False)
        changes = self.changes()
        bad = [f for f in FIELDS if f in changes and not self._check(f)]
        if bad:
            self.inputs[bad[0]].setFocus()
            self.result.setText("")
            return
        if not changes or self.holder is None:
            self.result.setText("Nothing to save: these are the details we hold.")
            return
        self.save_button.setEnabled(False)
        self.result.setText("Saving…")
        try:
            holder = await self.client.update_holder_contact(self.account_id, self.holder.id, **changes)  # type: ignore[arg-type]
        except ApiError as exc:
            self.result.setText("")
            fields = [e for e in exc.field_errors if e.field in self.inputs]
            for e in fields:
                self.show_field_error(e.field, MESSAGES[e.field])
            if not fields:
                self.form_error.setText(
                    "You cannot change these details."
                    if exc.status == 403
                    else (exc.detail or "The change was refused.")
                )
                self.form_error.setVisible(True)
            return
        except PortalError:
            self.result.setText("")
            self.form_error.setText(
                "We could not reach Portal. Your changes are still here; try again shortly."
            )
            self.form_error.setVisible(True)
            return
        finally:
            self.save_button.setEnabled(True)
        self.holder = holder
        self.holders = [holder if h.id == holder.id else h for h in self.holders]
        self._fill(force=True)
        self.result.setText(
            "Saved. " + ("Paperless is on." if holder.paperless else "Papers will also come by post.")
        )
        self.saved.emit(holder)

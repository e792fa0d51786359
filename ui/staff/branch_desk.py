"""The branch desk's first step: verify the customer at the counter before acting for them."""

from __future__ import annotations

from datetime import date

import qasync
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, BranchVerification, PortalClient, PortalError
from ui import theme
from ui.staff.wording import error_text
from ui.widgets import Card, label

FIELD_WORDS = {
    "policy_number": "Enter the policy number from the customer's documents.",
    "date_of_birth": "Enter the date of birth as YYYY-MM-DD.",
    "postcode": "Enter the postcode (3 to 20 letters or digits).",
}


class VerifyPanel(QWidget):
    """Policy number + date of birth + postcode. Success opens the account; three failures lock
    the check for a while (the service counts and audits them; we word what it answers).

    Threading/async rule: Qt thread; the check is a coroutine on the qasync loop.
    """

    verified = Signal(object)  # BranchVerification

    def __init__(self, client: PortalClient) -> None:
        super().__init__()
        self.client = client
        self.setObjectName("PageArea")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(36, 28, 36, 28)
        outer.setSpacing(6)
        outer.addWidget(label("Serve a customer at the counter", name="PageTitle"))
        outer.addWidget(
            label(
                "Check who the customer is before acting for them. Everything you then do is recorded "
                "as done by you, for them, at this branch.",
                name="PageSubtitle",
                wrap=True,
            )
        )
        outer.addSpacing(12)
        card = Card(
            "Verify the customer", "Ask for these three; all must match our records.", icon_name="lock"
        )
        card.setMaximumWidth(620)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        self.fields: dict[str, QLineEdit] = {}
        self.field_errors: dict[str, QLabel] = {}
        specs = (
            ("policy_number", "Policy number", "e.g. AUT-100234"),
            ("date_of_birth", "Date of birth", "YYYY-MM-DD"),
            ("postcode", "Postcode", "e.g. 60657"),
        )
        for row, (key, text, placeholder) in enumerate(specs):
            grid.addWidget(label(text, "field-label"), row * 2, 0, Qt.AlignmentFlag.AlignVCenter)
            edit = QLineEdit()
            edit.setPlaceholderText(placeholder)
            edit.setAccessibleName(text)
            edit.returnPressed.connect(self.verify)
            edit.textEdited.connect(lambda _t, k=key: self._field_error(k, ""))
            grid.addWidget(edit, row * 2, 1)
            error = label("", "field-error", wrap=True)
            error.setVisible(False)
            grid.addWidget(error, row * 2 + 1, 1)
            self.fields[key] = edit
            self.field_errors[key] = error
        grid.setColumnStretch(1, 1)
        card.body.addLayout(grid)
        self.form_error = QFrame()
        self.form_error.setObjectName("FormError")
        fe = QHBoxLayout(self.form_error)
        fe.setContentsMargins(12, 10, 12, 10)
        self.form_error_text = label("", wrap=True)
        fe.addWidget(self.form_error_text, 1)
        self.form_error.setVisible(False)
        card.body.addWidget(self.form_error)
        actions = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(120)
        self.progress.setVisible(False)
        actions.addWidget(self.progress)
        actions.addStretch(1)
        self.verify_button = QPushButton("Verify and open account")
        self.verify_button.setProperty("kind", "primary")
        self.verify_button.setAccessibleName("Verify the customer and open the account")
        self.verify_button.clicked.connect(self.verify)
        actions.addWidget(self.verify_button)
        card.body.addLayout(actions)
        outer.addWidget(card)
        outer.addStretch(1)
        self._unlock = QTimer(self)
        self._unlock.setSingleShot(True)
        self._unlock.timeout.connect(self._unlocked)

    def prefill(self, policy_number: str) -> None:
        """From a search result: the policy number is known, the rest comes from the customer."""
        self.fields["policy_number"].setText(policy_number)
        self.fields["date_of_birth"].clear()
        self.fields["postcode"].clear()
        self.fields["date_of_birth"].setFocus()

    def reset(self) -> None:
        for edit in self.fields.values():
            edit.clear()
        for key in self.fields:
            self._field_error(key, "")
        self._form_error("")

    def _field_error(self, key: str, text: str) -> None:
        self.field_errors[key].setText(text)
        self.field_errors[key].setVisible(bool(text))
        self.fields[key].setProperty("invalid", bool(text))
        theme.repolish(self.fields[key])

    def _form_error(self, text: str) -> None:
        self.form_error_text.setText(text)
        self.form_error.setVisible(bool(text))

    def _check_locally(self) -> bool:
        ok = True
        values = {k: e.text().strip() for k, e in self.fields.items()}
        if len(values["policy_number"]) < 3:
            self._field_error("policy_number", FIELD_WORDS["policy_number"])
            ok = False
        try:
            born = date.fromisoformat(values["date_of_birth"])
            if born >= date.today():
                raise ValueError
        except ValueError:
            self._field_error("date_of_birth", FIELD_WORDS["date_of_birth"])
            ok = False
        if len(values["postcode"]) < 3:
            self._field_error("postcode", FIELD_WORDS["postcode"])
            ok = False
        return ok

    @qasync.asyncSlot()
    async def verify(self) -> None:
        if not self.verify_button.isEnabled():
            return
        self._form_error("")
        if not self._check_locally():
            return
        self.verify_button.setEnabled(False)
        self.progress.setVisible(True)
        locked = False
        try:
            result: BranchVerification = await self.client.branch_verify(
                self.fields["policy_number"].text().strip(),
                self.fields["date_of_birth"].text().strip(),
                self.fields["postcode"].text().strip(),
            )
        except PortalError as exc:
            if isinstance(exc, ApiError) and exc.field_errors:
                for fe in exc.field_errors:
                    if fe.field in self.fields:
                        self._field_error(fe.field, FIELD_WORDS[fe.field])
            else:
                self._form_error(error_text(exc))
            if isinstance(exc, ApiError) and exc.code == "branch.verification_locked":
                locked = True
                self._unlock.start(max(1, exc.retry_after or 60) * 1000)
            return
        finally:
            self.progress.setVisible(False)
            self.verify_button.setEnabled(not locked)
        self.reset()
        self.verified.emit(result)

    def _unlocked(self) -> None:
        self.verify_button.setEnabled(True)
        self._form_error("")

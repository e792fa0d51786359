"""Complaints & disputes: raise a case, see what we promised and when, follow every response.

The page talks to the service only through PortalClient. Refusals come back as problem codes; the
messages people read are worded here, next to the field they concern.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import qasync
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, PortalClient, PortalError
from portal_app.client.case_models import Case, CaseLimits
from ui import theme
from ui.widgets import Badge, Card, EmptyState, Page, clear_layout, label

CATEGORIES = [
    ("billing", "Billing or premium"),
    ("double_charge", "I was charged twice"),
    ("payment_not_applied", "My payment was not applied"),
    ("cancellation", "My policy was cancelled"),
    ("claim_handling", "How my claim is handled"),
    ("service", "Service or staff"),
    ("data_protection", "My personal data"),
    ("legal", "Legal action or the ombudsman"),
    ("other", "Something else"),
]
STATUS = {
    "open": ("Received", "info"),
    "in_progress": ("We're on it", "info"),
    "escalated": ("With a senior handler", "warning"),
    "awaiting_customer": ("Waiting for you", "warning"),
    "resolved": ("Resolved", "success"),
    "closed": ("Closed", "neutral"),
}
DEADLINE_WORDS = {
    "acknowledge": "We confirm we have it",
    "target_resolution": "Our aim: sorted within 24 hours",
    "summary_resolution": "A resolution by the 3rd business day",
    "final_response": "Our final response at the latest",
}
ENTRY_WORDS = {
    "raised": "You raised this",
    "acknowledged": "We acknowledged it",
    "response": "Our reply",
    "customer_message": "Your message",
    "escalated": "Passed to a senior handler",
    "resolution": "Our resolution",
    "final_response": "Our final response",
}
OUTCOMES = {"upheld": "upheld", "partially_upheld": "partly upheld", "not_upheld": "not upheld"}
# Problem codes -> (field, message): worded for the person who typed it.
FIELD_ERRORS = {
    "case.subject_too_short": ("subject", "Give your case a short title (at least 3 characters)."),
    "case.subject_too_long": ("subject", "Keep the title under 300 characters."),
    "case.description_too_short": ("description", "Tell us a little more: at least 10 characters."),
    "case.description_too_long": ("description", "Please keep it under 5,000 characters."),
    "case.category_unknown": ("category", "Choose what your case is about."),
    "case.policy_unknown": ("about", "That policy is not on your account."),
    "case.claim_unknown": ("about", "That claim is not on your account."),
    # The limits' numbers come from the service (its detail names them), never a copied constant.
    "case.too_many_attachments": ("attachments", ""),
    "case.attachment_type": ("attachments", "Attach PDF, PNG, JPEG or text files only."),
    "case.attachment_too_large": ("attachments", ""),
    "case.attachment_empty": ("attachments", "One of the files is empty."),
    "case.attachment_unreadable": ("attachments", "One of the files could not be read."),
    "case.message_too_short": ("message", "Write a few words first."),
    "case.closed": ("message", "This case is closed. Raise a new case if something is still wrong."),
    "request.too_large": ("attachments", "The files are too large together. Attach fewer or smaller files."),
}


def when(value: datetime | None) -> str:
    """A service time in the person's own clock, to the minute."""
    return value.astimezone().strftime("%a %-d %b %Y, %H:%M") if value else "—"


def countdown(due: datetime | None, now: datetime | None = None) -> str:
    if due is None:
        return ""
    left = (due - (now or datetime.now(UTC))).total_seconds()
    if left <= 0:
        return "overdue"
    hours = int(left // 3600)
    if hours >= 48:
        return f"in {hours // 24} days"
    if hours >= 1:
        return f"in {hours} h {int(left % 3600) // 60} min"
    return f"in {max(int(left // 60), 1)} min"


@dataclass
class Attachment:
    filename: str
    media_type: str
    content: bytes


class CaseCard(Card):
    """One case: where it stands, the next promise, the conversation, and a reply box.

    Threading/async rule: Qt thread; it asks its page to send (the page owns the network calls).
    """

    sendRequested = Signal(str, str, bool)  # case id, message, still unresolved

    def __init__(self, case: Case) -> None:
        text, tone = STATUS.get(case.status, (case.status.replace("_", " ").capitalize(), "neutral"))
        super().__init__(
            f"{case.kind.capitalize()} {case.number}", case.subject, icon_name="help", badge=Badge(text, tone)
        )
        self.case = case
        nxt = case.next_due_at
        self.facts(
            [
                ("Raised", when(case.opened_at), ""),
                ("About", case.category_label or "—", ""),
                (
                    "Next promised by",
                    f"{when(nxt)} ({countdown(nxt)})" if nxt else "Nothing outstanding",
                    "value-strong",
                ),
                ("Reference", case.number, ""),
            ]
        )
        if case.outcome:
            remedy = ""
            if case.remedy and case.remedy.get("amount_minor"):
                amount = int(case.remedy["amount_minor"])
                remedy = (
                    f" · {case.remedy.get('kind', '').capitalize()} of ${amount // 100:,}.{amount % 100:02d}"
                )
            self.body.addWidget(
                label(f"Outcome: {OUTCOMES.get(case.outcome, case.outcome)}{remedy}", "value-strong")
            )
        self.divider()
        self.body.addWidget(label("What we promised", "label"))
        for d in case.deadlines:
            if d.met_at is not None:
                state = f"done {when(d.met_at)}" + (" (later than promised)" if d.late else "")
                icon_name, color = "check", theme.SUCCESS
            elif d.overdue:
                state, icon_name, color = "overdue — a senior handler has it", "alert", theme.DANGER
            else:
                state, icon_name, color = f"by {when(d.due_at)}", "clock", theme.BLUE
            row = QHBoxLayout()
            row.setSpacing(8)
            ic = QLabel()
            ic.setPixmap(theme.pixmap(icon_name, color, 16))
            row.addWidget(ic)
            row.addWidget(label(DEADLINE_WORDS.get(d.name, d.name), "value"), 1)
            row.addWidget(label(state, "muted"))
            self.body.addLayout(row)
        self.divider()
        self.body.addWidget(label("Conversation", "label"))
        for e in case.entries:
            ours = e.author_role not in ("policyholder",) and e.kind not in ("raised", "customer_message")
            who = "You" if not ours and e.author_role == "policyholder" else (e.author_name or "Portal")
            if e.author_role == "system":
                who = "Portal"
            head = label(f"{ENTRY_WORDS.get(e.kind, e.kind)} · {who} · {when(e.at)}", "muted")
            self.body.addWidget(head)
            self.body.addWidget(label(e.body, "value", wrap=True))
        if case.attachments:
            names = ", ".join(f"{a.filename} ({max(a.size // 1000, 1)} KB)" for a in case.attachments)
            self.body.addWidget(label(f"Attached: {names}", "muted", wrap=True))
        if case.status != "closed":
            self.divider()
            self.reply = QTextEdit()
            self.reply.setAcceptRichText(False)
            self.reply.setPlaceholderText("Write to us about this case…")
            self.reply.setFixedHeight(70)
            self.reply.setAccessibleName(f"Message about {case.number}")
            self.body.addWidget(self.reply)
            self.reply_error = label("", "field-error", wrap=True)
            self.reply_error.setVisible(False)
            self.body.addWidget(self.reply_error)
            row = QHBoxLayout()
            self.unresolved = QCheckBox("This is still not resolved")
            self.unresolved.setAccessibleName("Tell us this is still not resolved")
            row.addWidget(self.unresolved)
            row.addStretch(1)
            self.send_button = QPushButton("Send")
            self.send_button.setProperty("kind", "primary")
            self.send_button.setAccessibleName(f"Send message about {case.number}")
            self.send_button.clicked.connect(self._send)
            row.addWidget(self.send_button)
            self.body.addLayout(row)

    def _send(self) -> None:
        text = self.reply.toPlainText().strip()
        if len(text) < 2:
            self.show_error(FIELD_ERRORS["case.message_too_short"][1])
            return
        self.reply_error.setVisible(False)
        self.send_button.setEnabled(False)
        self.send_button.setText("Sending…")
        self.sendRequested.emit(self.case.id, text, self.unresolved.isChecked())

    def show_error(self, text: str) -> None:
        self.reply_error.setText(text)
        self.reply_error.setVisible(True)
        self.send_button.setEnabled(True)
        self.send_button.setText("Send")


class CaseForm(Card):
    """Raise a complaint or dispute: kind, category, what it is about, the story, files."""

    def __init__(self) -> None:
        super().__init__(
            "Raise a complaint or dispute",
            "We acknowledge within 24 hours and aim to sort it out within 24 hours.",
            icon_name="help",
        )
        self.attachments: list[Attachment] = []
        # The service's attachment limits (from the case list); until they arrive, it alone checks.
        self.limits: CaseLimits | None = None
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(20)
        grid.setVerticalSpacing(4)

        self.kind = QComboBox()
        self.kind.addItem("A complaint: something went wrong", "complaint")
        self.kind.addItem("A dispute: I disagree with a charge or decision", "dispute")
        self.category = QComboBox()
        for key, text in CATEGORIES:
            self.category.addItem(text, key)
        self.about = QComboBox()
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("e.g. Charged twice for my November premium")
        self.description = QTextEdit()
        self.description.setAcceptRichText(False)
        self.description.setPlaceholderText("What happened, when, and what you would like us to do.")
        self.description.setFixedHeight(110)
        fields = [
            ("kind", "Type", self.kind, 0, 0, 1),
            ("category", "What it is about", self.category, 0, 1, 1),
            ("about", "Policy or claim", self.about, 1, 0, 1),
            ("subject", "Title", self.subject, 1, 1, 1),
            ("description", "Tell us what happened", self.description, 2, 0, 2),
        ]
        for key, caption, widget, r, c, span in fields:
            cell = QVBoxLayout()
            cell.setSpacing(4)
            cell.addWidget(label(caption, "field-label"))
            widget.setAccessibleName(caption)
            cell.addWidget(widget)
            error = label("", "field-error", wrap=True)
            error.setVisible(False)
            error.setAccessibleName(f"{caption} problem")
            cell.addWidget(error)
            self.inputs[key] = widget
            self.errors[key] = error
            grid.addLayout(cell, r, c, 1, span, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)

        files = QHBoxLayout()
        self.attach_button = QPushButton(theme.icon("documents", theme.BLUE), "Attach files…")
        self.attach_button.setProperty("kind", "quiet")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.clicked.connect(self._choose_files)
        files.addWidget(self.attach_button)
        self.files_label = label(
            "No files attached (optional: statements, letters, photos).", "muted", wrap=True
        )
        files.addWidget(self.files_label, 1)
        self.body.addLayout(files)
        self.errors["attachments"] = label("", "field-error", wrap=True)
        self.errors["attachments"].setVisible(False)
        self.body.addWidget(self.errors["attachments"])

        row = QHBoxLayout()
        self.submit_button = QPushButton("Send to our complaints team")
        self.submit_button.setProperty("kind", "primary")
        self.submit_button.setAccessibleName("Send the case")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setProperty("kind", "quiet")
        self.status = label("", "muted", wrap=True)
        row.addWidget(self.submit_button)
        row.addWidget(self.cancel_button)
        row.addSpacing(8)
        row.addWidget(self.status, 1)
        self.body.addLayout(row)
        self.form_error = label("", "field-error", wrap=True)
        self.form_error.setObjectName("FormError")
        self.form_error.setVisible(False)
        self.body.addWidget(self.form_error)

    def set_overview(self, overview: AccountOverview) -> None:
        current = self.about.currentData()
        self.about.clear()
        self.about.addItem("My account in general", None)
        for p in overview.policies:
            self.about.addItem(f"Policy {p.number}", ("policy_id", p.id))
        for c in overview.open_claims:
            self.about.addItem(f"Claim {c.number}", ("claim_id", c.id))
        index = self.about.findData(current)
        self.about.setCurrentIndex(max(index, 0))

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Attach files", str(Path.home()), "Documents and photos (*.pdf *.png *.jpg *.jpeg *.txt)"
        )
        self.add_files([Path(p) for p in paths])

    def add_files(self, paths: list[Path]) -> None:
        """Attach files (the dialog calls this; so can tests). Checked here before any upload."""
        self.clear_error("attachments")
        limits = self.limits
        for path in paths:
            data = path.read_bytes()
            if limits is not None and len(data) > limits.max_attachment_bytes:
                size = f"{limits.max_attachment_bytes // 1000} KB"
                self.show_error("attachments", f"{path.name} is larger than {size}.")
                continue
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.attachments.append(Attachment(path.name, media_type, data))
        if limits is not None and len(self.attachments) > limits.max_attachments:
            self.attachments = self.attachments[: limits.max_attachments]
            self.show_error("attachments", f"Attach at most {limits.max_attachments} files.")
        names = ", ".join(a.filename for a in self.attachments)
        self.files_label.setText(f"Attached: {names}" if names else "No files attached.")

    def values(self) -> dict[str, object]:
        body: dict[str, object] = {
            "kind": self.kind.currentData(),
            "category": self.category.currentData(),
            "subject": self.subject.text().strip(),
            "description": self.description.toPlainText().strip(),
            "attachments": [
                {
                    "filename": a.filename,
                    "media_type": a.media_type,
                    "content_base64": base64.b64encode(a.content).decode("ascii"),
                }
                for a in self.attachments
            ],
        }
        about = self.about.currentData()
        if about:
            body[about[0]] = about[1]
        return body

    def check(self) -> bool:
        """The same rules the service applies, so most mistakes show before sending."""
        ok = True
        if len(self.subject.text().strip()) < 3:
            self.show_error("subject", FIELD_ERRORS["case.subject_too_short"][1])
            ok = False
        if len(self.description.toPlainText().strip()) < 10:
            self.show_error("description", FIELD_ERRORS["case.description_too_short"][1])
            ok = False
        return ok

    def show_error(self, field: str, text: str) -> None:
        self.errors[field].setText(text)
        self.errors[field].setVisible(True)
        widget = self.inputs.get(field)
        if widget is not None:
            widget.setProperty("invalid", True)
            theme.repolish(widget)

    def clear_error(self, field: str | None = None) -> None:
        for key in [field] if field else list(self.errors):
            self.errors[key].setVisible(False)
            widget = self.inputs.get(key)
            if widget is not None and widget.property("invalid"):
                widget.setProperty("invalid", False)
                theme.repolish(widget)
        if field is None:
            self.form_error.setVisible(False)

    def error_text(self, field: str) -> str:
        return self.errors[field].text() if self.errors[field].isVisible() else ""

    def reset(self) -> None:
        self.subject.clear()
        self.description.clear()
        self.attachments = []
        self.files_label.setText("No files attached (optional: statements, letters, photos).")
        self.clear_error()
        self.status.setText("")


class CasesPage(Page):
    """The policyholder's cases. Threading/async rule: Qt thread; network work is coroutines on
    the qasync loop started from slots; nothing waits on the GUI thread."""

    casesLoaded = Signal(int)

    def __init__(self, client: PortalClient, account_id: str) -> None:
        super().__init__(
            "Complaints & disputes",
            "Tell us when something went wrong. You see every reply here, and the date of our next promise.",
        )
        self.client = client
        self.account_id = account_id
        self.cases: list[Case] = []
        self.cards: dict[str, CaseCard] = {}
        self.setAccessibleName("Complaints and disputes")

        top = QHBoxLayout()
        promise = label(
            "Our promises: we acknowledge within 24 hours, aim to resolve within 24 hours, give a "
            "resolution by the end of the 3rd business day, and a final response within 8 weeks.",
            "muted",
            wrap=True,
        )
        top.addWidget(promise, 1)
        self.new_button = QPushButton("Raise a complaint or dispute")
        self.new_button.setProperty("kind", "primary")
        self.new_button.setAccessibleName("Raise a complaint or dispute")
        self.new_button.clicked.connect(self.open_form)
        top.addWidget(self.new_button, 0, Qt.AlignmentFlag.AlignTop)
        self.content.addLayout(top)

        self.form = CaseForm()
        self.form.setVisible(False)
        self.form.submit_button.clicked.connect(self.submit)
        self.form.cancel_button.clicked.connect(self.close_form)
        self.content.addWidget(self.form)

        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        self.content.addWidget(self.error)
        self.list_box = QVBoxLayout()
        self.list_box.setSpacing(16)
        self.content.addLayout(self.list_box)
        self.loading = label("Loading your cases…", "muted")
        self.list_box.addWidget(self.loading)

    # --- data --------------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        self.form.set_overview(overview)
        self.reload()

    @qasync.asyncSlot()
    async def reload(self) -> None:
        try:
            cases, limits = await self.client.case_list(self.account_id)
        except PortalError as exc:
            self.error.setText(
                f"We could not load your cases ({exc}). They will show when we can reach Portal."
            )
            self.error.setVisible(True)
            return
        self.error.setVisible(False)
        self.form.limits = limits
        self.show_cases(cases)

    def show_cases(self, cases: list[Case]) -> None:
        self.cases = cases
        clear_layout(self.list_box)
        self.cards = {}
        if not cases:
            self.list_box.addWidget(
                EmptyState(
                    "help",
                    "No complaints or disputes",
                    "If something is not right with a payment, a claim or our service, raise it here. "
                    "We reply within 24 hours.",
                )
            )
        open_cases = [c for c in cases if c.status != "closed"]
        closed = [c for c in cases if c.status == "closed"]
        for group, title in ((open_cases, "Open"), (closed, "Closed")):
            if not group:
                continue
            self.list_box.addWidget(label(title, name="SectionTitle"))
            for case in group:
                card = CaseCard(case)
                card.sendRequested.connect(self.send_message)
                self.cards[case.id] = card
                self.list_box.addWidget(card)
        self.casesLoaded.emit(len(cases))

    # --- raising a case ----------------------------------------------------------------------

    def open_form(self) -> None:
        self.form.setVisible(True)
        self.new_button.setEnabled(False)
        self.form.subject.setFocus()
        self.ensureWidgetVisible(self.form)

    def close_form(self) -> None:
        self.form.reset()
        self.form.setVisible(False)
        self.new_button.setEnabled(True)

    @qasync.asyncSlot()
    async def submit(self) -> None:
        form = self.form
        form.clear_error()
        if not form.check():
            return
        form.submit_button.setEnabled(False)
        form.status.setText("Sending…")
        try:
            case = await self.client.raise_case(self.account_id, **form.values())
        except ApiError as exc:
            self._show_api_error(exc)
            return
        except PortalError as exc:
            form.form_error.setText(f"We could not reach Portal: {exc}. Your text is kept; try again.")
            form.form_error.setVisible(True)
            return
        finally:
            form.submit_button.setEnabled(True)
            form.status.setText("")
        self.close_form()
        self.show_cases([case, *[c for c in self.cases if c.id != case.id]])

    def _show_api_error(self, exc: ApiError) -> None:
        field, text = FIELD_ERRORS.get(exc.code, (None, ""))
        text = text or exc.detail or "Please check this."
        if field in self.form.errors:
            self.form.show_error(field, text)
            return
        for fe in exc.field_errors:
            if fe.field in self.form.errors:
                self.form.show_error(fe.field, "Please check this.")
                return
        self.form.form_error.setText(f"We could not send it: {exc.detail or exc.code}.")
        self.form.form_error.setVisible(True)

    # --- the conversation --------------------------------------------------------------------

    @qasync.asyncSlot(str, str, bool)
    async def send_message(self, case_id: str, message: str, still_unresolved: bool) -> None:
        card = self.cards.get(case_id)
        try:
            case = await self.client.case_message(
                self.account_id, case_id, message, still_unresolved=still_unresolved
            )
        except ApiError as exc:
            if card is not None:
                card.show_error(FIELD_ERRORS.get(exc.code, ("", ""))[1] or exc.detail or exc.code)
            return
        except PortalError as exc:
            if card is not None:
                card.show_error(f"We could not reach Portal: {exc}. Try again.")
            return
        self.show_cases([case if c.id == case_id else c for c in self.cases])

"""Internal notes on an account: staff only, each one on the account's trail."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import PortalClient, PortalError
from portal_app.client.models import AccountNote
from ui import theme, wording
from ui.staff.tasks import TaskOwner
from ui.staff.wording import error_text, role
from ui.widgets import EmptyState, label

MAX_CHARS = 2000


class NotesPanel(QWidget, TaskOwner):
    """Threading/async rule: Qt thread; network calls are coroutines on the qasync loop."""

    def __init__(self, client: PortalClient, account_id: str) -> None:
        QWidget.__init__(self)
        TaskOwner.__init__(self)
        self.client = client
        self.account_id = account_id
        self.notes: list[AccountNote] = []
        # While our own note is being added, the live feed's note.added (which can beat the add's
        # answer) must not put the note in the list with the text still in the editor: the add's
        # answer clears the editor and shows the note together, then any owed reload runs.
        self._adding = False
        self._reload_owed = False
        self.setAccessibleName("Internal notes")
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 12, 14, 12)
        box.setSpacing(8)
        box.addWidget(label("Internal notes", name="PanelTitle"))
        box.addWidget(
            label(
                "Seen by staff only. Each note is kept on the account's trail.", name="PanelHint", wrap=True
            )
        )
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("NoteEditor")
        self.editor.setPlaceholderText("What was discussed, promised or agreed…")
        self.editor.setAccessibleName("New internal note")
        self.editor.setFixedHeight(84)
        self.editor.setTabChangesFocus(True)
        self.editor.textChanged.connect(self._on_text)
        box.addWidget(self.editor)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        row = QHBoxLayout()
        self.count = label(f"0 / {MAX_CHARS}", "muted")
        row.addWidget(self.count)
        row.addStretch(1)
        self.add_button = QPushButton("Add note")
        self.add_button.setProperty("kind", "primary")
        self.add_button.setAccessibleName("Add internal note")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(lambda: self.spawn(self.add_note()))
        row.addWidget(self.add_button)
        box.addLayout(row)
        self.list = QListWidget()
        self.list.setObjectName("NotesList")
        self.list.setAccessibleName("Notes on this account")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.empty = EmptyState("documents", "No notes yet", "Notes you and colleagues add appear here.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        box.addWidget(self.stack, 1)

    def _on_text(self) -> None:
        n = len(self.editor.toPlainText().strip())
        self.count.setText(f"{n} / {MAX_CHARS}")
        self.add_button.setEnabled(0 < n <= MAX_CHARS)
        self._show_error("" if n <= MAX_CHARS else "Notes are at most 2,000 characters.")

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        self.editor.setProperty("invalid", bool(text))
        theme.repolish(self.editor)

    def show_notes(self, notes: list[AccountNote]) -> None:
        self.notes = notes
        self.list.clear()
        for note in notes:
            when = wording.local_time(note.created_at)
            item = QListWidgetItem(f"{note.body}\n— {note.author_name} ({role(note.author_role)}) · {when}")
            item.setData(
                Qt.ItemDataRole.AccessibleTextRole, f"Note by {note.author_name}, {when}: {note.body}"
            )
            self.list.addItem(item)
        self.stack.setCurrentWidget(self.list if notes else self.empty)

    def reload(self) -> None:
        if self._adding:
            self._reload_owed = True
            return
        self.spawn(self.load())

    async def load(self) -> None:
        """Fetch the notes (also called when a note.added event arrives from colleagues)."""
        try:
            notes = await self.client.account_notes(self.account_id)
        except PortalError as exc:
            self._show_error(error_text(exc))
            return
        if self._adding:
            # Fetched while our add was under way: it may hold our note already; let the add's
            # answer show it with the editor cleared, and fetch again after.
            self._reload_owed = True
            return
        self.show_notes(notes)

    async def add_note(self) -> None:
        body = self.editor.toPlainText().strip()
        if not body:
            self._show_error("Write the note before adding it.")
            return
        self.add_button.setEnabled(False)
        self.add_button.setText("Adding…")
        self._adding = True
        self.editor.setReadOnly(True)  # what is sent is what gets cleared: no typing mid-add
        try:
            note = await self.client.add_account_note(self.account_id, body)
        except PortalError as exc:
            self._show_error(error_text(exc))
            self.add_button.setEnabled(True)
        else:
            # Accepted: the text leaves the editor in the same step as the note enters the list.
            self.editor.clear()
            self._show_error("")
            if all(n.id != note.id for n in self.notes):
                self.show_notes([note, *self.notes])
        finally:
            self.add_button.setText("Add note")
            self.editor.setReadOnly(False)
            self._adding = False
        # Not in `finally`: a cancelled add (the tab is closing) owes nothing.
        if self._reload_owed:
            self._reload_owed = False
            self.reload()

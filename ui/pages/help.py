"""Help: how to reach us, what we promise, and the keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel

from ui import theme
from ui.widgets import Card, Page, ResponsiveColumns, label

SHORTCUTS = [
    (
        "Ctrl+1 … Ctrl+9",
        "Go to Overview, Policies, Documents, ID cards, Payments, Claims, Complaints, Activity, Help",
    ),
    ("Ctrl+R / F5", "Refresh the account"),
    ("Ctrl+Shift+L", "Sign out"),
    ("Ctrl+Q", "Quit Portal"),
    ("Tab / Shift+Tab", "Move between controls"),
]

COMMITMENTS = [
    ("clock", "We reply to every message within 24 hours."),
    ("claims", "We acknowledge a claim within 1 working day and review it within 3."),
    (
        "check",
        "Complaints: a summary resolution within 3 business days, a final response "
        "within 8 weeks at the latest.",
    ),
    ("lock", "Card details never reach our servers: payments are tokenised by our card processor."),
]


class HelpPage(Page):
    """Threading/async rule: Qt thread only; static content."""

    def __init__(self) -> None:
        super().__init__("Help", "How to reach us, and what you can expect from us.")
        contact = Card("Contact us", icon_name="phone")
        for icon_name, caption, value in [
            ("phone", "Phone (claims 24/7)", "1-800-555-0142"),
            ("clock", "Phone lines for everything else", "Mon–Sat, 8:00–20:00"),
            ("mail", "Email", "help@portal.example"),
        ]:
            contact.body.addLayout(_icon_row(icon_name, caption, value))
        contact.body.addStretch(1)

        promises = Card("Our service commitments", icon_name="check")
        for icon_name, text in COMMITMENTS:
            row = QHBoxLayout()
            ic = QLabel()
            ic.setPixmap(theme.pixmap(icon_name, theme.BLUE, 18))
            row.addWidget(ic)
            row.addWidget(label(text, "value", wrap=True), 1)
            promises.body.addLayout(row)
        promises.body.addStretch(1)
        self.content.addWidget(ResponsiveColumns([contact, promises]))

        keys = Card("Keyboard shortcuts", icon_name="keyboard")
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(8)
        for i, (combo, what) in enumerate(SHORTCUTS):
            k = label(combo, "value-strong")
            grid.addWidget(k, i, 0)
            grid.addWidget(label(what, "value", wrap=True), i, 1)
        grid.setColumnStretch(1, 1)
        keys.body.addLayout(grid)
        self.content.addWidget(keys)


def _icon_row(icon_name: str, caption: str, value: str) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(12)
    ic = QLabel()
    ic.setPixmap(theme.pixmap(icon_name, theme.BLUE, 18))
    row.addWidget(ic)
    row.addWidget(label(caption, "muted"), 1)
    row.addWidget(label(value, "value-strong"))
    return row

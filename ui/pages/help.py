"""Help: how to reach us, what we promise, and the keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel

from portal_app.client import InsurerProfile
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
        # Filled from the service's insurer profile: the numbers printed on the ID cards and PDFs.
        self.profile: InsurerProfile | None = None
        self.values: dict[str, QLabel] = {}
        for key, icon_name, caption in [
            ("claims_phone", "phone", "Phone (claims 24/7)"),
            ("phone", "phone", "Phone for everything else"),
            ("phone_hours", "clock", "Its opening hours"),
            ("email", "mail", "Email"),
        ]:
            row, self.values[key] = _icon_row(icon_name, caption, "Loading…")
            contact.body.addLayout(row)
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

    def show_profile(self, profile: InsurerProfile) -> None:
        """Show the insurer's own lines (the same as on the ID cards and documents)."""
        self.profile = profile
        self.values["claims_phone"].setText(profile.claims_phone)
        self.values["phone"].setText(profile.phone)
        self.values["phone_hours"].setText(profile.phone_hours)
        self.values["email"].setText(profile.email)


def _icon_row(icon_name: str, caption: str, value: str) -> tuple[QHBoxLayout, QLabel]:
    row = QHBoxLayout()
    row.setSpacing(12)
    ic = QLabel()
    ic.setPixmap(theme.pixmap(icon_name, theme.BLUE, 18))
    row.addWidget(ic)
    row.addWidget(label(caption, "muted"), 1)
    shown = label(value, "value-strong")
    shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    row.addWidget(shown)
    return row, shown

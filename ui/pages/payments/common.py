"""What every part of the Payments page shares: statuses, small field helpers, the host protocol."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from portal_app.client import PortalClient
from portal_app.client.models import PaymentsConfig, PaymentsOverview
from ui.tasks import TaskScope
from ui.widgets import label

# status -> (label, badge tone)
STATUS = {
    "succeeded": ("Paid", "success"),
    "failed": ("Failed", "danger"),
    "pending": ("Processing", "info"),
    "processing": ("Processing", "info"),
    "scheduled": ("Scheduled", "info"),
    "running": ("Running", "info"),
    "paid": ("Paid", "success"),
    "partially_paid": ("Part paid", "warning"),
    "past_due": ("Past due", "danger"),
    "canceled": ("Cancelled", "neutral"),
    "skipped": ("Skipped", "neutral"),
    "waived": ("Waived", "neutral"),
}
KINDS = {
    "pay_now": "One-off",
    "autopay": "Autopay",
    "scheduled": "Scheduled",
    "installment": "Installment",
}
LOCAL_STYLE = """
QFrame[panel="confirm"] { background: #EAF1FB; border: 1px solid #C9DAF3; border-radius: 8px; }
QFrame[panel="declined"] { background: #FDF1F0; border: 1px solid #F3C4C0; border-radius: 8px; }
QFrame[panel="terms"] { background: #F6F8FB; border: 1px solid #DCE3ED; border-radius: 8px; }
"""


class PaymentsHost(Protocol):
    """What the page's parts need from the page (PaymentsPage implements it)."""

    client: PortalClient | None
    account_id: str
    tasks: TaskScope
    data: PaymentsOverview | None
    config: PaymentsConfig | None

    def busy(self, *, block: bool = True) -> contextlib.AbstractContextManager[None]: ...

    async def refresh(self) -> None: ...

    def reveal(self, widget: QWidget, focus: QWidget | None = None) -> None: ...

    def finished(self, outcome: str) -> None: ...

    def save_receipt(self, payment_id: str, number: str) -> object: ...


def field(caption: str, widget: QWidget, error: QWidget | None = None) -> QVBoxLayout:
    box = QVBoxLayout()
    box.setSpacing(4)
    cap = label(caption, "field-label")
    cap.setBuddy(widget)
    box.addWidget(cap)
    box.addWidget(widget)
    if error is not None:
        box.addWidget(error)
    return box


def error_label() -> QLabel:
    err = label("", "field-error", wrap=True)
    err.setVisible(False)
    return err


def show_error(err: QLabel, text: str) -> None:
    err.setText(text)
    err.setVisible(bool(text))
    if text:
        err.setAccessibleName(text)


def button(text: str, kind: str = "", name: str = "") -> QPushButton:
    b = QPushButton(text)
    if kind:
        b.setProperty("kind", kind)
    if name:
        b.setObjectName(name)
    b.setAccessibleName(text)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    return b


@contextlib.contextmanager
def no_signals(widget: QWidget) -> Iterator[None]:
    """Refill a control without its change signals looking like the person's own choice."""
    was = widget.blockSignals(True)
    try:
        yield
    finally:
        widget.blockSignals(was)

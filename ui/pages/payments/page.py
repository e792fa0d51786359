"""The Payments page: its parts (pay form, billing cards, saved cards, scheduled payments, history)
share the client, the account, one TaskScope and the busy state through this page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import qasync
import shiboken6
from PySide6.QtCore import QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QVBoxLayout, QWidget

from portal_app.client import AccountOverview, PortalClient, PortalError
from portal_app.client.models import PaymentsConfig, PaymentsOverview
from ui import error_wording
from ui.pages.payments.billing import PolicyBillingCard
from ui.pages.payments.cards import CardsCard
from ui.pages.payments.common import LOCAL_STYLE
from ui.pages.payments.history import HistoryCard
from ui.pages.payments.pay_form import PayForm
from ui.pages.payments.scheduled import ScheduledCard
from ui.tasks import TaskScope, owned
from ui.widgets import Banner, EmptyState, Page, clear_layout


class PaymentsPage(Page):
    """The Payments page of one account.

    Threading/async rule: a Qt-thread widget; every network call is a task of `self.tasks` on the
    qasync loop, started from an `@qasync.asyncSlot`; the page shows progress while one runs and
    `shutdown()` cancels them when the account view closes.
    """

    loaded = Signal(object)  # PaymentsOverview
    actionFinished = Signal(str)  # a short outcome code, for tests and the activity log

    def __init__(self, client: PortalClient | None = None, account_id: str = "") -> None:
        super().__init__("Payments", "Pay now, schedule a payment, manage autopay and your cards.")
        self.client = client
        self.account_id = account_id
        self.tasks = TaskScope()
        self.data: PaymentsOverview | None = None
        self.config: PaymentsConfig | None = None
        self.receipts_dir: Path | None = None  # None: the user's Downloads folder
        self._busy = 0
        self._blocking = 0  # calls started by the person (they hold the action buttons)
        self.setStyleSheet(LOCAL_STYLE)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(4)
        self.progress.setAccessibleName("Working")
        self.progress.setVisible(False)
        self.content.addWidget(self.progress)
        self.notice = QVBoxLayout()
        self.content.addLayout(self.notice)
        self.pay_form = PayForm(self)
        self.content.addWidget(self.pay_form)
        self.policies_box = QVBoxLayout()
        self.policies_box.setSpacing(16)
        self.content.addLayout(self.policies_box)
        self.cards = CardsCard(self)
        self.content.addWidget(self.cards)
        self.scheduled = ScheduledCard(self)
        self.content.addWidget(self.scheduled)
        self.history = HistoryCard()
        self.history.receiptRequested.connect(self.save_receipt)
        self.content.addWidget(self.history)
        # The parts' controls, named on the page as tests and the screenshot driver use them.
        f = self.pay_form
        self.pay_policy, self.pay_amount, self.pay_full = f.pay_policy, f.pay_amount, f.pay_full
        self.pay_card, self.pay_date = f.pay_card, f.pay_date
        self.pay_button, self.schedule_button = f.pay_button, f.schedule_button
        self.confirm_panel, self.confirm_text, self.confirm_button = (
            f.confirm_panel,
            f.confirm_text,
            f.confirm_button,
        )
        self.amount_error, self.card_error, self.date_error = f.amount_error, f.card_error, f.date_error
        c = self.cards
        self.card_number, self.card_expiry, self.card_cvc = c.card_number, c.card_expiry, c.card_cvc
        self.card_default, self.add_card_button = c.card_default, c.add_card_button
        self.number_error, self.expiry_error, self.cvc_error = c.number_error, c.expiry_error, c.cvc_error
        self.receipt_note = self.history.note

    # --- what the parts share ----------------------------------------------------------------

    @property
    def last_payment(self) -> object:
        return self.pay_form.last_payment

    def confirm_payment(self) -> None:
        self.pay_form.confirm_payment()

    def schedule_payment(self) -> None:
        self.pay_form.schedule_payment()

    def add_card(self) -> None:
        self.cards.add_card()

    def billing_card(self, number: str) -> PolicyBillingCard | None:
        return self.findChild(PolicyBillingCard, f"policy-{number}")

    @contextlib.contextmanager
    def busy(self, *, block: bool = True) -> Iterator[None]:
        """Progress on for the duration of one call; a person's own action also holds the
        action buttons (a background reload does not: it must not swallow a click)."""
        self._set_busy(+1, block)
        try:
            yield
        finally:
            self._set_busy(-1, block)

    def _set_busy(self, delta: int, block: bool = True) -> None:
        if not shiboken6.isValid(self.progress):
            return  # the page was closed while a call was out
        self._busy = max(0, self._busy + delta)
        self.progress.setVisible(self._busy > 0)
        if not block:
            return
        self._blocking = max(0, self._blocking + delta)
        buttons = (*self.pay_form.action_buttons, self.add_card_button)
        focused = self.window().focusWidget()
        if self._blocking and focused in buttons:
            # Disabling the focused button would pass the focus down the page, and the scroll
            # area follows the focus: the page jumped to "Add a card". Park it on its card.
            holder = self.pay_form if focused in self.pay_form.action_buttons else self.cards
            holder.setFocus()
        for b in buttons:
            b.setEnabled(self._blocking == 0)
        if not self._blocking and self.data is not None:
            self.pay_form.enable_for(self.data)  # no card: Pay and Schedule stay off

    def reveal(self, widget: QWidget, focus: QWidget | None = None) -> None:
        """Keep an outcome in view (and give it the focus) once the layout has settled."""

        def show() -> None:
            if not (shiboken6.isValid(self) and shiboken6.isValid(widget)):
                return
            self.ensureWidgetVisible(widget, 40, 60)
            target = focus if focus is not None and shiboken6.isValid(focus) else None
            if target is not None and target.isEnabled():
                target.setFocus()

        QTimer.singleShot(0, show)

    def finished(self, outcome: str) -> None:
        self.actionFinished.emit(outcome)

    def shutdown(self) -> None:
        """Cancel this page's calls (the account view is closing, the client goes next)."""
        self.tasks.cancel()

    # --- data ----------------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        """AccountView hands every fresh overview to each page: fetch the payments view too."""
        if self.client is None:
            return
        self.account_id = overview.id
        self.reload()

    @qasync.asyncSlot()
    @owned
    async def reload(self) -> None:
        if self.client is None or not self.account_id:
            return
        try:
            with self.busy(block=False):
                if self.config is None:
                    self.config = await self.client.payments_config()
                data = await self.client.payments(self.account_id)
        except PortalError as exc:
            self._notice("critical", "Payments could not be loaded", error_wording.message_for(exc))
            return
        self.show_payments(data)

    async def refresh(self) -> None:
        if self.client is None:
            return
        try:
            self.show_payments(await self.client.payments(self.account_id))
        except PortalError as exc:
            self._notice("critical", "Payments could not be refreshed", error_wording.message_for(exc))

    def show_payments(self, data: PaymentsOverview) -> None:
        if not shiboken6.isValid(self.progress):
            return
        clear_layout(self.notice)  # a fresh answer: an earlier "could not be loaded" is stale
        if data == self.data:
            return  # nothing changed: keep whatever the person is in the middle of
        self.data = data
        self.pay_form.fill(data)
        self._fill_policies(data)
        self.cards.fill(data)
        self.scheduled.fill(data)
        self.history.fill(data)
        self.loaded.emit(data)

    def _notice(self, severity: str, headline: str, text: str = "") -> None:
        if not shiboken6.isValid(self.progress):
            return
        clear_layout(self.notice)
        self.notice.addWidget(Banner(severity, headline, text))

    def _fill_policies(self, data: PaymentsOverview) -> None:
        clear_layout(self.policies_box)
        if not data.policies:
            self.policies_box.addWidget(
                EmptyState("payments", "Nothing to pay", "There are no policies on this account.")
            )
            return
        for p in data.policies:
            self.policies_box.addWidget(PolicyBillingCard(self, p, data.methods))

    # --- receipts ------------------------------------------------------------------------------

    @qasync.asyncSlot(str, str)
    @owned
    async def save_receipt(self, payment_id: str, number: str) -> None:
        if self.client is None:
            return
        try:
            with self.busy():
                pdf = await self.client.payment_receipt(payment_id)
        except PortalError as exc:
            self.receipt_note.setText(error_wording.message_for(exc))
            return
        folder = self.receipts_dir or Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation) or "."
        )
        path = folder / f"receipt-{number}.pdf"
        await asyncio.to_thread(_write, path, pdf)  # file writes stay off the GUI thread
        self.receipt_note.setText(f"Receipt {number} saved to {path}")
        self.finished(f"receipt_saved:{path}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

"""Policies (the list, one policy in detail, contact details) and pages still built from the overview.

Documents and ID cards live in ui/pages/documents.py and ui/pages/idcards.py.
"""

from __future__ import annotations

import qasync
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from portal_app.client import AccountOverview, ApiError, PolicyDetail, PortalClient, PortalError
from ui import wording
from ui.pages.contact_details import ContactDetailsCard
from ui.pages.policy_detail import PolicyDetailView
from ui.widgets import Badge, Card, EmptyState, Page, clear_layout, label


class PoliciesPage(Page):
    """The policy list, one policy's detail, and the holder's contact details.

    Threading/async rule: Qt thread; fed by AccountView; the detail is fetched on the qasync loop.
    """

    detailShown = Signal(str)  # policy id
    documentsRequested = Signal(str)  # policy id: AccountView opens Documents filtered to it

    def __init__(self, client: PortalClient, account_id: str) -> None:
        super().__init__("Policies", "Your cover, its dates and how it is paid.")
        self.client = client
        self.account_id = account_id
        self.overview: AccountOverview | None = None
        self.detail: PolicyDetail | None = None
        self.detail_view: PolicyDetailView | None = None
        self.list_area = QWidget()
        list_box = QVBoxLayout(self.list_area)
        list_box.setContentsMargins(0, 0, 0, 0)
        list_box.setSpacing(16)
        self.cards = QVBoxLayout()
        self.cards.setSpacing(16)
        list_box.addLayout(self.cards)
        # Kept across reloads, so a live update from an agent never wipes what is being typed.
        self.contact = ContactDetailsCard(client, account_id)
        list_box.addWidget(self.contact)
        self.content.addWidget(self.list_area)
        self.detail_area = QVBoxLayout()
        self.content.addLayout(self.detail_area)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        self.content.addWidget(self.error)

    def show_overview(self, overview: AccountOverview) -> None:
        self.overview = overview
        clear_layout(self.cards)
        self.contact.show_overview(overview)
        if not overview.policies:
            self.cards.addWidget(
                EmptyState(
                    "policies",
                    "No policies on this account",
                    "When a policy is issued to this account it is listed here.",
                )
            )
        for p in overview.policies:
            status, tone = wording.policy_status(p.status)
            card = Card(
                wording.product_line(p.product_line),
                f"Policy {p.number}",
                icon_name=wording.PRODUCT_ICONS.get(p.product_line, "policies"),
                badge=Badge(status, tone),
            )
            card.divider()
            card.facts(
                [
                    ("Cover starts", wording.day(p.effective_date), "value"),
                    ("Cover ends", wording.day(p.expiry_date), "value"),
                    ("Annual premium", wording.money(p.premium_minor, p.currency), "value-strong"),
                    ("Payment plan", wording.PAY_PLANS.get(p.pay_plan, p.pay_plan), "value"),
                    ("How you pay", wording.payment_method(p), "value"),
                    ("Dates follow", p.time_zone.replace("_", " "), "value"),
                ],
                columns=3,
            )
            row = QHBoxLayout()
            row.addStretch(1)
            button = QPushButton("View details")
            button.setProperty("kind", "primary")
            button.setAccessibleName(f"View details of policy {p.number}")
            button.clicked.connect(lambda _=False, pid=p.id: self.open_policy(pid))
            row.addWidget(button)
            card.body.addLayout(row)
            self.cards.addWidget(card)
        if self.detail is not None and self.detail_view is not None:
            self.open_policy(self.detail.summary.id)  # fresh figures for the detail on screen

    @qasync.asyncSlot()
    async def open_policy(self, policy_id: str) -> None:
        """Fetch one policy and show its detail in place of the list."""
        self.error.setVisible(False)
        try:
            detail = await self.client.policy(policy_id)
        except ApiError as exc:
            self.error.setText(
                "This policy is no longer on the account." if exc.code == "policy.not_found" else exc.detail
            )
            self.error.setVisible(True)
            return
        except PortalError:
            self.error.setText("We could not reach Portal to open this policy. Try again shortly.")
            self.error.setVisible(True)
            return
        self.detail = detail
        clear_layout(self.detail_area)
        view = PolicyDetailView(detail)
        view.backRequested.connect(self.show_list)
        view.documentsRequested.connect(self.documentsRequested)
        self.detail_view = view
        self.detail_area.addWidget(view)
        self.list_area.setVisible(False)
        self.title_label.setText(f"Policy {detail.summary.number}")
        self.set_subtitle(wording.product_line(detail.summary.product_line))
        self.verticalScrollBar().setValue(0)
        self.detailShown.emit(policy_id)

    def show_list(self) -> None:
        self.detail, self.detail_view = None, None
        clear_layout(self.detail_area)
        self.list_area.setVisible(True)
        self.title_label.setText("Policies")
        self.set_subtitle("Your cover, its dates and how it is paid.")

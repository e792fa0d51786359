"""Policies, Documents, ID cards, Payments and Claims: what the overview already tells us.

The deeper features of these pages arrive with later issues; until then each shows the real
data the account overview carries, or a clean empty state.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout

from portal_app.client import AccountOverview
from ui import theme, wording
from ui.pages.overview import list_row
from ui.widgets import Badge, Card, EmptyState, Page, clear_layout, label, two_columns


class PoliciesPage(Page):
    """Threading/async rule: Qt thread only; fed by AccountView."""

    def __init__(self) -> None:
        super().__init__("Policies", "Your cover, its dates and how it is paid.")

    def show_overview(self, overview: AccountOverview) -> None:
        clear_layout(self.content)
        if not overview.policies:
            self.content.addWidget(
                EmptyState(
                    "policies",
                    "No policies on this account",
                    "When a policy is issued to this account it is listed here.",
                )
            )
            return
        holders = ", ".join(h.full_name for h in overview.holders) or "—"
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
                    ("Policy holders", holders, "value"),
                    ("Time zone", p.time_zone.replace("_", " "), "value"),
                ],
                columns=3,
            )
            self.content.addWidget(card)


class DocumentsPage(Page):
    """Threading/async rule: Qt thread only; fed by AccountView."""

    def __init__(self) -> None:
        super().__init__("Documents", "Declarations, policy wordings and letters.")

    def show_overview(self, overview: AccountOverview) -> None:
        clear_layout(self.content)
        numbers = ", ".join(p.number for p in overview.policies)
        text = (
            f"Documents issued for {numbers} will be listed here to open, print or save."
            if numbers
            else "Documents are issued with a policy; this account has none yet."
        )
        self.content.addWidget(EmptyState("documents", "No documents on file yet", text))


class IdCard(QFrame):
    """A proof-of-insurance card drawn from the policy data we hold."""

    def __init__(self, number: str, insured: str, effective: str, expiry: str, status: str):
        super().__init__()
        self.setObjectName("IdCard")
        self.setFixedSize(440, 250)
        self.setStyleSheet(
            "QFrame#IdCard { background: qlineargradient(x1:0, y1:0, x2:1, y2:1,"
            " stop:0 #1F4E99, stop:1 #0E2747); border-radius: 14px; }"
            "QFrame#IdCard QLabel { color: #FFFFFF; background: transparent; }"
        )
        box = QVBoxLayout(self)
        box.setContentsMargins(24, 20, 24, 20)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo-white", None, 30))
        top.addWidget(logo)
        brand = QLabel("Portal")
        brand.setStyleSheet("font-size: 18px; font-weight: bold;")
        top.addWidget(brand)
        top.addStretch(1)
        kind = QLabel("AUTO ID CARD")
        kind.setStyleSheet("font-size: 11px; letter-spacing: 2px; color: #C9D6EA;")
        top.addWidget(kind)
        box.addLayout(top)
        box.addStretch(1)
        grid = QGridLayout()
        grid.setVerticalSpacing(10)
        grid.setHorizontalSpacing(28)
        for i, (cap, val) in enumerate(
            [
                ("Named insured", insured),
                ("Policy number", number),
                ("Effective", effective),
                ("Expires", expiry),
            ]
        ):
            cell = QVBoxLayout()
            cell.setSpacing(1)
            c = QLabel(cap.upper())
            c.setStyleSheet("font-size: 10px; letter-spacing: 1px; color: #AFC3E2;")
            v = QLabel(val)
            v.setStyleSheet("font-size: 15px; font-weight: bold;")
            cell.addWidget(c)
            cell.addWidget(v)
            grid.addLayout(cell, i // 2, i % 2)
        box.addLayout(grid)
        self.setAccessibleName(
            f"ID card for policy {number}, {insured}, effective {effective} to {expiry}, {status}"
        )


class IdCardsPage(Page):
    """Threading/async rule: Qt thread only; fed by AccountView."""

    def __init__(self) -> None:
        super().__init__("ID cards", "Proof of insurance for your vehicles.")

    def show_overview(self, overview: AccountOverview) -> None:
        clear_layout(self.content)
        autos = [p for p in overview.policies if p.product_line == "auto"]
        if not autos:
            self.content.addWidget(
                EmptyState(
                    "idcard",
                    "No ID cards for this account",
                    "ID cards come with auto policies; this account has no auto policy.",
                )
            )
            return
        primary = next((h for h in overview.holders if h.is_primary), None)
        insured = primary.full_name if primary else overview.name
        for p in autos:
            status, tone = wording.policy_status(p.status)
            card = Card(f"Auto policy {p.number}", badge=Badge(status, tone), icon_name="car")
            row = QHBoxLayout()
            row.addWidget(
                IdCard(p.number, insured, wording.day(p.effective_date), wording.day(p.expiry_date), status)
            )
            note = label(
                "Show this card to the police or at an accident scene. It is valid while the "
                "policy is active and within the dates shown.",
                "muted",
                wrap=True,
            )
            note.setAlignment(Qt.AlignmentFlag.AlignTop)
            row.addSpacing(16)
            row.addWidget(note, 1)
            card.body.addLayout(row)
            self.content.addWidget(card)


class PaymentsPage(Page):
    """Threading/async rule: Qt thread only; fed by AccountView."""

    def __init__(self) -> None:
        super().__init__("Payments", "Balances, what is due next and how it is paid.")

    def show_overview(self, overview: AccountOverview) -> None:
        clear_layout(self.content)
        if not overview.policies:
            self.content.addWidget(
                EmptyState("payments", "Nothing to pay", "There are no policies on this account.")
            )
            return
        currency = overview.policies[0].currency
        total = sum(p.balance_minor for p in overview.policies)
        past_due = sum(p.past_due_minor for p in overview.policies)
        dues = [p.next_due for p in overview.policies if p.next_due and p.next_due.due_date]
        soonest = min(dues, key=lambda d: d.due_date) if dues else None  # type: ignore[arg-type,return-value]
        summary = Card("Account balance", icon_name="payments")
        summary.facts(
            [
                ("Remaining this policy term", wording.money(total, currency), "big-number"),
                (
                    "Past due",
                    wording.money(past_due, currency),
                    "value-danger" if past_due else "big-number",
                ),
                (
                    "Next payment",
                    f"{wording.money(soonest.amount_minor, soonest.currency)} on "
                    f"{wording.day(soonest.due_date)}"
                    if soonest
                    else "Nothing due",
                    "big-number",
                ),
            ],
            columns=3,
        )
        self.content.addWidget(summary)
        cards = []
        for p in overview.policies:
            card = Card(
                f"{wording.product_line(p.product_line)}",
                f"Policy {p.number}",
                icon_name=wording.PRODUCT_ICONS.get(p.product_line, "policies"),
                badge=Badge("Autopay on", "success") if p.autopay else Badge("Autopay off", "neutral"),
            )
            card.divider()
            nd = p.next_due
            card.facts(
                [
                    (
                        "Next payment",
                        f"{wording.money(nd.amount_minor, nd.currency)} on {wording.day(nd.due_date)}"
                        if nd
                        else "Nothing due",
                        "value-strong",
                    ),
                    ("How", wording.payment_method(p), "value"),
                    ("Payment day", f"Day {p.payment_day} of the month" if p.payment_day else "—", "value"),
                    ("Plan", wording.PAY_PLANS.get(p.pay_plan, p.pay_plan), "value"),
                    ("Balance", wording.money(p.balance_minor, p.currency), "value"),
                    (
                        "Past due",
                        wording.money(p.past_due_minor, p.currency),
                        "value-danger" if p.past_due_minor else "value",
                    ),
                ]
            )
            cards.append(card)
        self.content.addLayout(two_columns(cards))


class ClaimsPage(Page):
    """Threading/async rule: Qt thread only; fed by AccountView."""

    def __init__(self) -> None:
        super().__init__("Claims", "Claims in progress and where each one stands.")

    def show_overview(self, overview: AccountOverview) -> None:
        clear_layout(self.content)
        if not overview.open_claims:
            self.content.addWidget(
                EmptyState(
                    "claims",
                    "No open claims",
                    "If something happens, call us any time or use the Help page: "
                    "we acknowledge every claim within one working day.",
                )
            )
            return
        card = Card(f"Open claims ({len(overview.open_claims)})", icon_name="claims")
        for claim in overview.open_claims:
            policy = overview.policy(claim.policy_id)
            status, tone = wording.claim_status(claim.status)
            submitted = wording.local_time(claim.submitted_at) if claim.submitted_at else "—"
            card.divider()
            card.body.addWidget(
                list_row(
                    f"Claim {claim.number} · {claim.loss_type.replace('_', ' ').capitalize()}",
                    f"Loss on {wording.day(claim.loss_date)}"
                    + (f" · {wording.product_line(policy.product_line)} {policy.number}" if policy else "")
                    + f" · submitted {submitted}",
                    Badge(status, tone),
                )
            )
        self.content.addWidget(card)

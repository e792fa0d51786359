"""Overview: every policy at a glance, open claims and cases, and what needs attention."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from portal_app.client import AccountOverview, PolicySummary
from ui import wording
from ui.widgets import Badge, Banner, Card, EmptyState, Page, clear_layout, label, two_columns


def policy_card(policy: PolicySummary) -> Card:
    """One policy: status, premium, next payment and how it is paid, balance."""
    status, tone = wording.policy_status(policy.status)
    card = Card(
        wording.product_line(policy.product_line),
        f"Policy {policy.number}",
        icon_name=wording.PRODUCT_ICONS.get(policy.product_line, "policies"),
        badge=Badge(status, tone),
    )
    card.setObjectName(f"PolicyCard-{policy.number}")
    card.divider()
    nd = policy.next_due
    if nd is not None:
        next_text = f"{wording.money(nd.amount_minor, nd.currency)} on {wording.day(nd.due_date)}"
    else:
        next_text = "Nothing due"
    past_due = policy.past_due_minor > 0
    card.facts(
        [
            (
                "Premium",
                f"{wording.money(policy.premium_minor, policy.currency)} a year · "
                f"{wording.PAY_PLANS.get(policy.pay_plan, policy.pay_plan)}",
                "value",
            ),
            ("Next payment", next_text, "value-strong"),
            ("How you pay", wording.payment_method(policy), "value"),
            (
                "Past due" if past_due else "Balance",
                wording.money(policy.past_due_minor if past_due else policy.balance_minor, policy.currency),
                "value-danger" if past_due else "value",
            ),
        ]
    )
    card.setAccessibleName(f"{wording.product_line(policy.product_line)} policy {policy.number}, {status}")
    return card


class OverviewPage(Page):
    """Threading/async rule: Qt thread only; AccountView hands it data, it never fetches."""

    def __init__(self, *, for_staff: bool = False) -> None:
        super().__init__("Overview", "Loading the account…" if for_staff else "Loading your account…")
        # Staff read the same page about someone else's account: no greeting, no "your".
        self.for_staff = for_staff

    def show_overview(self, overview: AccountOverview, first_name: str = "") -> None:
        clear_layout(self.content)
        staff = self.for_staff
        greeting = f"Welcome back, {first_name}" if first_name and not staff else "Overview"
        self.title_label.setText(greeting)
        holders = " and ".join(h.full_name for h in overview.holders)
        count = len(overview.policies)
        self.set_subtitle(
            f"{overview.name} · {count} {'policy' if count == 1 else 'policies'}"
            + (f" · {holders}" if holders else "")
        )

        self.section("Needs attention" if staff else "Needs your attention")
        if overview.alerts:
            for alert in overview.alerts:
                headline, text = wording.alert_text(alert, overview.policy(alert.policy_id))
                self.content.addWidget(Banner(alert.severity, headline, text))
        else:
            self.content.addWidget(
                Banner("info", "All set", "Nothing on this account needs attention right now.")
                if staff
                else Banner("info", "You are all set", "Nothing on this account needs you right now.")
            )

        self.section("Policies" if staff else "Your policies")
        if overview.policies:
            self.content.addLayout(two_columns([policy_card(p) for p in overview.policies]))
        else:
            self.content.addWidget(
                EmptyState(
                    "policies",
                    "No policies on this account",
                    "Policies you buy or that are transferred to you will appear here.",
                )
            )

        row = QHBoxLayout()
        row.setSpacing(16)
        row.addWidget(self._claims_card(overview), 1)
        row.addWidget(self._cases_card(overview), 1)
        self.content.addLayout(row)

    def _claims_card(self, overview: AccountOverview) -> Card:
        card = Card("Open claims", icon_name="claims")
        if not overview.open_claims:
            card.body.addWidget(label("No open claims. We hope it stays that way.", "muted"))
        for claim in overview.open_claims:
            policy = overview.policy(claim.policy_id)
            status, tone = wording.claim_status(claim.status)
            card.body.addWidget(
                _list_row(
                    f"Claim {claim.number}",
                    f"{claim.loss_type.replace('_', ' ').capitalize()} on "
                    f"{wording.day(claim.loss_date)}" + (f" · {policy.number}" if policy else ""),
                    Badge(status, tone),
                )
            )
        card.body.addStretch(1)
        return card

    def _cases_card(self, overview: AccountOverview) -> Card:
        card = Card("Open cases", icon_name="help")
        if not overview.open_cases:
            card.body.addWidget(label("No open complaints or requests. Questions? See Help.", "muted"))
        for case in overview.open_cases:
            due = f" · reply due {wording.local_time(case.due_at)}" if case.due_at else ""
            card.body.addWidget(
                _list_row(
                    f"{wording.CASE_KINDS.get(case.kind, case.kind.capitalize())} {case.number}",
                    f"{case.subject}{due}",
                    Badge(case.status.replace("_", " ").capitalize(), "info"),
                )
            )
        card.body.addStretch(1)
        return card


def _list_row(title: str, detail: str, badge: Badge | None = None) -> QWidget:
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 4, 0, 4)
    words = QVBoxLayout()
    words.setSpacing(2)
    words.addWidget(label(title, "value-strong"))
    words.addWidget(label(detail, "muted", wrap=True))
    box.addLayout(words, 1)
    if badge is not None:
        box.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
    row.setAccessibleName(f"{title}. {detail}")
    return row


list_row = _list_row

"""One policy at a glance: term, money, people, vehicles or property, and every coverage."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from portal_app.client import CoverageLine, PolicyDetail
from ui import wording
from ui.widgets import Badge, Card, label, two_columns

RELATIONSHIPS = {"self": "Policyholder", "spouse": "Spouse / partner", "child": "Child", "other": "Other"}


def limits_text(c: CoverageLine) -> str:
    if c.limit_minor is None:
        return "Actual cash value" if c.deductible_minor is not None else "Included"
    if c.limit_per_accident_minor is not None:
        return (
            f"{wording.money(c.limit_minor, c.currency)} each person · "
            f"{wording.money(c.limit_per_accident_minor, c.currency)} each accident"
        )
    return wording.money(c.limit_minor, c.currency)


def coverage_grid(coverages: list[CoverageLine]) -> QGridLayout:
    """Coverage, limits, deductible, premium: a compact table built from labels (a handful of rows)."""
    grid = QGridLayout()
    grid.setHorizontalSpacing(18)
    grid.setVerticalSpacing(8)
    for col, (text, align) in enumerate(
        [("Coverage", "left"), ("Limits", "left"), ("Deductible", "right"), ("Premium", "right")]
    ):
        head = label(text, "label")
        if align == "right":
            head.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(head, 0, col)
    for row, c in enumerate(coverages, start=1):
        cells = [
            (c.name, "value"),
            (limits_text(c), "value"),
            ("—" if c.deductible_minor is None else wording.money(c.deductible_minor, c.currency), "value"),
            (wording.money(c.premium_minor, c.currency), "value"),
        ]
        for col, (text, role) in enumerate(cells):
            cell = label(text, role, wrap=col < 2)
            if col >= 2:
                cell.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(cell, row, col)
    grid.setColumnStretch(0, 3)
    grid.setColumnStretch(1, 4)
    grid.setColumnStretch(2, 1)
    grid.setColumnStretch(3, 1)
    return grid


class PolicyDetailView(QWidget):
    """Threading rule: Qt thread only; built from an already-fetched PolicyDetail."""

    backRequested = Signal()
    documentsRequested = Signal(str)  # policy id

    def __init__(self, detail: PolicyDetail) -> None:
        super().__init__()
        self.detail = detail
        p = detail.summary
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(16)

        nav = QHBoxLayout()
        back = QPushButton("‹  All policies")
        back.setProperty("kind", "quiet")
        back.setAccessibleName("Back to all policies")
        back.clicked.connect(self.backRequested)
        self.back_button = back
        nav.addWidget(back)
        nav.addStretch(1)
        docs = QPushButton("Documents for this policy")
        docs.clicked.connect(lambda: self.documentsRequested.emit(p.id))
        self.documents_button = docs
        nav.addWidget(docs)
        box.addLayout(nav)

        status, tone = wording.policy_status(p.status)
        head = Card(
            f"{wording.product_line(p.product_line)} · Policy {p.number}",
            f"Cover from {wording.day(p.effective_date)} to {wording.day(p.expiry_date)}"
            f" · dates follow {p.time_zone.replace('_', ' ')}",
            icon_name=wording.PRODUCT_ICONS.get(p.product_line, "policies"),
            badge=Badge(status, tone),
        )
        head.divider()
        nd = p.next_due
        head.facts(
            [
                ("Annual premium", wording.money(p.premium_minor, p.currency), "big-number"),
                ("Payment plan", wording.PAY_PLANS.get(p.pay_plan, p.pay_plan), "value-strong"),
                ("How you pay", wording.payment_method(p), "value-strong"),
                ("Balance this term", wording.money(p.balance_minor, p.currency), "value"),
                (
                    "Past due",
                    wording.money(p.past_due_minor, p.currency),
                    "value-danger" if p.past_due_minor else "value",
                ),
                (
                    "Next payment",
                    f"{wording.money(nd.amount_minor, nd.currency)} on {wording.day(nd.due_date)}"
                    if nd
                    else "Nothing due",
                    "value",
                ),
            ],
            columns=3,
        )
        box.addWidget(head)

        people = Card("People on this policy", icon_name="user")
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(2)
        grid.addWidget(label("Named insureds", "label"), 0, 0)
        grid.addWidget(label("Listed drivers", "label"), 0, 1)
        # One label per person: every name shows, however many drivers a household lists.
        for row, n in enumerate(detail.named_insureds or [], start=1):
            grid.addWidget(label(n.full_name, "value-strong", wrap=True), row, 0)
        drivers = [
            f"{d.full_name} ({RELATIONSHIPS.get(d.relationship, d.relationship)})" for d in detail.drivers
        ]
        for row, text in enumerate(drivers or ["No drivers on this policy"], start=1):
            grid.addWidget(label(text, "value", wrap=True), row, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(max(len(detail.named_insureds), len(drivers), 1) + 1, 1)
        people.body.addLayout(grid)
        if p.product_line == "auto":
            items = Card(f"Insured vehicles ({len(detail.vehicles)})", icon_name="car")
            for i, v in enumerate(detail.vehicles):
                if i:
                    items.divider()
                items.facts([(f"Vehicle {i + 1}", v.description, "value-strong"), ("VIN", v.vin, "value")])
            if not detail.vehicles:
                items.body.addWidget(label("No vehicles are insured on this policy at the moment.", "muted"))
        else:
            items = Card("Insured home", icon_name="home" if p.product_line == "home" else "renters")
            for prop in detail.properties:
                items.facts(
                    [
                        ("Address", f"{prop.address} {prop.postcode}", "value-strong"),
                        (
                            "Dwelling",
                            prop.dwelling + (f", built {prop.year_built}" if prop.year_built else ""),
                            "value",
                        ),
                    ]
                )
        box.addLayout(two_columns([people, items]))

        shared = detail.coverages_for(None)
        if p.product_line == "auto":
            if shared:
                card = Card(
                    "Liability and medical cover",
                    "Applies whichever insured vehicle is driven.",
                    icon_name="policies",
                )
                card.divider()
                card.body.addLayout(coverage_grid(shared))
                box.addWidget(card)
            for i, v in enumerate(detail.vehicles):
                card = Card(
                    f"Physical damage · {v.description}", f"Vehicle {i + 1} · VIN {v.vin}", icon_name="car"
                )
                card.divider()
                card.body.addLayout(coverage_grid(detail.coverages_for(v.id)))
                box.addWidget(card)
        else:
            card = Card(
                "Coverages", "Limits are the most we pay; you pay the deductible first.", icon_name="policies"
            )
            card.divider()
            card.body.addLayout(coverage_grid(detail.coverages))
            box.addWidget(card)
        total = sum(c.premium_minor for c in detail.coverages)
        if total and total != p.premium_minor:
            box.addWidget(
                label(
                    "Coverage premiums include fees and discounts shown on your declarations page.", "muted"
                )
            )
        self.setAccessibleName(f"Policy {p.number} details")

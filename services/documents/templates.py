"""Document templates: declarations page, policy wording and billing statement, on the branded layout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from services.payments.models import Installment
from services.pdf import RESOURCES, BrandedDocument, escape, pdf_date, pdf_money
from services.policies.models import Coverage
from services.policies.service import PolicyFacts

WORDING_DIR = RESOURCES / "wording"
PRODUCT_NAMES = {"auto": "Personal auto", "home": "Homeowners", "renters": "Renters"}
PAY_PLAN_NAMES = {
    "full": "Paid in full",
    "two_pay": "Two payments",
    "quarterly": "Quarterly",
    "monthly": "Monthly",
}
STATUS_NAMES = {
    "active": "Active",
    "pending_cancellation": "Pending cancellation",
    "cancelled": "Cancelled",
    "lapsed": "Lapsed",
    "reinstated": "Reinstated",
    "expired": "Expired",
}


@dataclass(frozen=True)
class Rendered:
    """A generated PDF and what the document list says about it."""

    content: bytes
    page_count: int
    title: str
    file_name: str


def _limits(c: Coverage) -> str:
    if c.limit_minor is None:
        # Physical damage pays the vehicle's actual cash value less the deductible.
        return "Actual cash value" if c.deductible_minor is not None else "Included"
    if c.limit_per_accident_minor is not None:
        return (
            f"{pdf_money(c.limit_minor, c.currency)} each person / "
            f"{pdf_money(c.limit_per_accident_minor, c.currency)} each accident"
        )
    return pdf_money(c.limit_minor, c.currency)


def _deductible(c: Coverage) -> str:
    return "—" if c.deductible_minor is None else pdf_money(c.deductible_minor, c.currency)


def _coverage_table(doc: BrandedDocument, coverages: list[Coverage]) -> None:
    doc.table(
        ["Coverage", "Limits", "Deductible", "Premium"],
        [[c.name, _limits(c), _deductible(c), pdf_money(c.premium_minor, c.currency)] for c in coverages],
        col_widths=[3.2, 4.2, 1.4, 1.4],
        align_right=(2, 3),
    )


def _term(facts: PolicyFacts) -> str:
    p = facts.policy
    return f"{pdf_date(p.effective_date)} to {pdf_date(p.expiry_date)}"


def declarations(facts: PolicyFacts, *, issued_at: datetime) -> Rendered:
    """The declarations page: who, what, when, which coverages at which limits, and the premium."""
    p = facts.policy
    product = PRODUCT_NAMES.get(p.product_line, p.product_line)
    doc = BrandedDocument(
        "Declarations page",
        subtitle=f"{product} policy {p.number}",
        reference=p.number,
        issued_at=issued_at,
        time_zone=p.time_zone,
    )
    holder = facts.primary_holder
    mailing = ", ".join(
        x for x in ((holder.address if holder else None), (holder.postcode if holder else None)) if x
    )
    doc.facts(
        [
            ("Policy number", p.number),
            ("Policy", f"{product} — {STATUS_NAMES.get(p.status, p.status)}"),
            ("Policy period", _term(facts)),
            ("Time zone", f"12:01 a.m. standard time, {p.time_zone.replace('_', ' ')}"),
            ("Named insureds", ", ".join(facts.insured_names) or "—"),
            ("Mailing address", mailing or "—"),
            ("Annual premium", pdf_money(p.premium_minor, p.currency)),
            (
                "Payment plan",
                PAY_PLAN_NAMES.get(p.pay_plan, p.pay_plan) + (" · autopay" if p.autopay_enabled else ""),
            ),
        ]
    )
    if p.product_line == "auto":
        if facts.drivers:
            doc.heading("Listed drivers")
            doc.table(
                ["Driver", "Relationship to named insured"],
                [[d.full_name, d.relationship.replace("_", " ").capitalize()] for d in facts.drivers],
                col_widths=[3, 3],
            )
        doc.heading("Insured vehicles")
        doc.table(
            ["#", "Vehicle", "VIN"],
            [[str(i), v.description, v.vin] for i, v in enumerate(facts.vehicles, start=1)],
            col_widths=[0.4, 4, 3],
        )
        shared = facts.coverages_for(None)
        if shared:
            doc.heading("Liability and medical coverages (all vehicles)")
            _coverage_table(doc, shared)
        for i, v in enumerate(facts.vehicles, start=1):
            doc.heading(f"Physical damage — vehicle {i}: {v.description}")
            _coverage_table(doc, facts.coverages_for(v.id))
    else:
        doc.heading("Insured location")
        doc.table(
            ["Address", "Postcode", "Dwelling", "Built"],
            [[x.address, x.postcode, x.dwelling, str(x.year_built or "—")] for x in facts.properties],
            col_widths=[4.4, 1.2, 2, 0.9],
        )
        doc.heading("Coverages")
        _coverage_table(doc, facts.coverages)
    total = sum(c.premium_minor for c in facts.coverages)
    doc.spacer(6)
    doc.paragraph(
        f"<b>Total annual premium: {escape(pdf_money(total or p.premium_minor, p.currency))}</b>",
        markup=True,
    )
    doc.spacer(6)
    doc.paragraph(
        "This declarations page, the policy wording and any endorsements form your policy. "
        "Limits are the most we pay for each covered loss; the deductible is what you pay first. "
        f"Questions: call {doc.branding.phone}. To report a claim call {doc.branding.claims_phone} "
        "or file it in the Portal app.",
        "small",
    )
    content = doc.render()
    return Rendered(content, doc.page_count, "Declarations page", f"{p.number}-declarations.pdf")


def _wording_sections(product_line: str) -> list[tuple[str, list[str]]]:
    """Sections of wording/<line>.txt: '# ' starts a heading, blank lines split paragraphs."""
    text = Path(WORDING_DIR / f"{product_line}.txt").read_text(encoding="utf-8")
    sections: list[tuple[str, list[str]]] = []
    for block in text.split("\n\n"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("# "):
            heading, _, rest = block.partition("\n")
            sections.append((heading[2:].strip(), [rest.strip()] if rest.strip() else []))
        elif sections:
            sections[-1][1].append(block)
    return sections


def policy_wording(facts: PolicyFacts, *, issued_at: datetime) -> Rendered:
    """The policy wording for the product line, from its template in resources/documents/wording."""
    p = facts.policy
    sections = _wording_sections(p.product_line)
    title = sections[0][0] if sections else "Policy wording"
    doc = BrandedDocument(
        "Policy wording",
        subtitle=f"Policy {p.number}",
        reference=p.number,
        issued_at=issued_at,
        time_zone=p.time_zone,
    )
    doc.facts([("Policy number", p.number), ("Policy period", _term(facts))])
    for i, (heading, paragraphs) in enumerate(sections):
        doc.heading(heading if i else title)
        for para in paragraphs:
            doc.paragraph(" ".join(para.split()))
            doc.spacer(4)
    content = doc.render()
    return Rendered(content, doc.page_count, "Policy wording", f"{p.number}-policy-wording.pdf")


INSTALLMENT_STATUS = {"paid": "Paid", "scheduled": "Scheduled", "waived": "Waived"}


def billing_statement(
    facts: PolicyFacts, installments: list[Installment], *, today: date, issued_at: datetime
) -> Rendered:
    """The billing statement as of `today` (policy time zone): every installment, paid and open."""
    p = facts.policy
    open_items = [i for i in installments if i.status != "waived" and i.outstanding_minor > 0]
    balance = sum(i.outstanding_minor for i in open_items)
    past_due = sum(i.outstanding_minor for i in open_items if i.due_date < today)
    next_item = next((i for i in open_items if i.due_date >= today), None)
    month = today.strftime("%B %Y")
    doc = BrandedDocument(
        "Billing statement",
        subtitle=f"Policy {p.number} · {month}",
        reference=f"{p.number}-{today:%Y%m}",
        issued_at=issued_at,
        time_zone=p.time_zone,
    )
    doc.facts(
        [
            ("Statement date", pdf_date(today)),
            ("Policy number", p.number),
            ("Remaining balance", pdf_money(balance, p.currency)),
            ("Past due", pdf_money(past_due, p.currency)),
            (
                "Next installment",
                f"{pdf_money(next_item.outstanding_minor, p.currency)} due {pdf_date(next_item.due_date)}"
                if next_item
                else "Nothing further due",
            ),
            ("How you pay", "Autopay" if p.autopay_enabled else "You pay each installment"),
        ]
    )
    doc.heading("Installments")
    rows = []
    for i in installments:
        status = INSTALLMENT_STATUS.get(i.status, i.status.capitalize())
        if i.status != "paid" and i.outstanding_minor > 0 and i.due_date < today:
            status = "Past due"
        rows.append(
            [
                f"{i.number} of {len(installments)}",
                pdf_date(i.due_date),
                pdf_money(i.amount_minor, i.currency),
                pdf_money(i.paid_minor, i.currency),
                status,
            ]
        )
    doc.table(
        ["Installment", "Due", "Amount", "Paid", "Status"],
        rows,
        col_widths=[1.4, 1.6, 1.4, 1.4, 1.4],
        align_right=(2, 3),
        total=[
            "Total",
            "",
            pdf_money(sum(i.amount_minor for i in installments), p.currency),
            pdf_money(sum(i.paid_minor for i in installments), p.currency),
            "",
        ],
    )
    doc.spacer(8)
    doc.paragraph(
        "Pay any time in the Portal app; payments made before midnight in your policy's time zone count "
        "for that day. Autopay takes each installment on its due date from your saved card.",
        "small",
    )
    content = doc.render()
    return Rendered(
        content, doc.page_count, f"Billing statement — {month}", f"{p.number}-statement-{today:%Y-%m}.pdf"
    )

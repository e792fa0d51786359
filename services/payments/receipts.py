"""PDF receipts for succeeded payments, built on the shared branded layout (services/pdf)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import AccountHolder
from services.actor import Actor
from services.clock import Clock
from services.errors import Conflict, NotFound
from services.payments import service as payments
from services.payments.models import Installment, Payment, PaymentAllocation, PaymentMethod, Refund
from services.pdf import BrandedDocument, pdf_date, pdf_datetime, pdf_money
from services.policies.models import Policy

KIND_TEXT = {"pay_now": "One-off payment", "autopay": "Autopay", "scheduled": "Scheduled payment"}
CHANNEL_TEXT = {"portal": "Online", "agent": "By phone", "branch": "At a branch", "system": "Automatic"}


def receipt_pdf(session: Session, actor: Actor, clock: Clock, *, payment_id: str) -> tuple[str, bytes]:
    """The receipt of a succeeded payment as (file name, PDF bytes)."""
    p = session.get(Payment, payment_id)
    if p is None:
        raise NotFound("payment.not_found", "We could not find that payment.")
    try:
        payments.authorize_account(session, actor, clock, p.account_id)
    except NotFound:
        raise NotFound("payment.not_found", "We could not find that payment.") from None
    if p.status != "succeeded" or not p.receipt_number:
        raise Conflict("payment.no_receipt", "Only a completed payment has a receipt.")
    policy = session.get(Policy, p.policy_id)
    assert policy is not None
    method = session.get(PaymentMethod, p.payment_method_id)
    holder = session.scalar(
        select(AccountHolder)
        .where(AccountHolder.account_id == p.account_id)
        .order_by(AccountHolder.is_primary.desc(), AccountHolder.id)
        .limit(1)
    )
    assert p.completed_at is not None
    doc = BrandedDocument(
        "Payment receipt",
        subtitle=f"Policy {policy.number}",
        reference=p.receipt_number,
        issued_at=p.completed_at,
        time_zone=policy.time_zone,
    )
    doc.heading("Payment received — thank you")
    doc.facts(
        [
            ("Amount paid", pdf_money(p.amount_minor, p.currency)),
            ("Paid on", pdf_datetime(p.completed_at, policy.time_zone)),
            ("Policy", policy.number),
            ("Policyholder", holder.full_name if holder else ""),
            ("Card", f"{method.brand.capitalize()} ending {method.last4}" if method else "—"),
            ("How", f"{KIND_TEXT.get(p.kind, p.kind)} · {CHANNEL_TEXT.get(p.channel, p.channel)}"),
            ("Receipt number", p.receipt_number),
            ("Processor reference", p.stripe_payment_intent_id or "—"),
        ]
    )
    rows = list(
        session.execute(
            select(PaymentAllocation, Installment)
            .join(Installment, Installment.id == PaymentAllocation.installment_id)
            .where(PaymentAllocation.payment_id == p.id)
            .order_by(Installment.due_date)
        )
    )
    if rows:
        doc.heading("Applied to")
        count = (
            session.scalar(
                select(Installment.number)
                .where(Installment.policy_id == policy.id)
                .order_by(Installment.number.desc())
                .limit(1)
            )
            or 0
        )
        doc.table(
            ["Installment", "Due", "Applied"],
            [
                [f"{inst.number} of {count}", pdf_date(inst.due_date), pdf_money(a.amount_minor, p.currency)]
                for a, inst in rows
            ],
            align_right=(2,),
            total=["Total", "", pdf_money(sum(a.amount_minor for a, _ in rows), p.currency)],
        )
    refunds = list(
        session.scalars(select(Refund).where(Refund.payment_id == p.id, Refund.status == "succeeded"))
    )
    if refunds:
        doc.heading("Refunds")
        doc.table(
            ["Date", "Reason", "Amount"],
            [
                [pdf_date(r.created_at.date()), r.reason, pdf_money(r.amount_minor, r.currency)]
                for r in refunds
            ],
            align_right=(2,),
        )
    balance = payments.balance_minor(session, policy.id)
    doc.spacer(10)
    doc.paragraph(f"Balance remaining on this policy term: {pdf_money(balance, policy.currency)}.")
    doc.paragraph(
        "Keep this receipt for your records. Card payments are processed by Stripe; we never see or "
        "store your full card number.",
        "small",
    )
    return f"receipt-{p.receipt_number}.pdf", doc.render()

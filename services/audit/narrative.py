"""Audit events in plain English, for people who were not there (the evidence PDF, dispute answers).

The service returns codes to the app, which words them; an evidence PDF is a document the service
itself issues, so its sentences live here, next to the trail they describe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# What kind of thing an event is, for the dispute answers' filters and the PDF's margin tags.
CATEGORY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("auth.", "sign-in"),
    ("payment.", "payment"),
    ("refund.", "payment"),
    ("installment.", "payment"),
    ("scheduled_payment.", "scheduled payment"),
    ("autopay.reminder_sent", "notice"),
    ("autopay.", "autopay"),
    ("notification.", "notice"),
    ("notice.", "notice"),
    ("delinquency.", "status"),
    ("policy.", "status"),
    ("case.", "case"),
    ("claim.", "claim"),
    ("document.", "document"),
    ("idcard.", "document"),
    ("account.", "account"),
    ("holder.", "account"),
    ("payment_method.", "card"),
    ("evidence.", "record"),
)

ROLE_WORDS = {
    "policyholder": "the policyholder",
    "agent": "call-centre agent",
    "supervisor": "supervisor",
    "admin": "administrator",
    "branch_staff": "branch staff",
    "system": "automatic",
}
CHANNEL_WORDS = {
    "portal": "in the Portal app",
    "agent": "by phone (call centre)",
    "branch": "at a branch counter",
    "system": "by the system",
    "stripe": "reported by Stripe",
}


def category(action: str) -> str:
    for prefix, name in CATEGORY_PREFIXES:
        if action.startswith(prefix):
            return name
    return "other"


def money(amount_minor: Any, currency: Any = "USD") -> str:
    if not isinstance(amount_minor, int):
        return ""
    symbol = {"USD": "$", "GBP": "£", "EUR": "€"}.get(str(currency or "USD"), f"{currency} ")
    sign = "-" if amount_minor < 0 else ""
    return f"{sign}{symbol}{abs(amount_minor) // 100:,}.{abs(amount_minor) % 100:02d}"


def _amount(after: dict[str, Any]) -> str:
    return money(after.get("amount_minor"), after.get("currency"))


def describe(action: str, after: dict[str, Any] | None, before: dict[str, Any] | None, outcome: str) -> str:
    """One sentence saying what happened."""
    a = after or {}
    b = before or {}
    amount = _amount(a)
    card = f" with {a['card']}" if a.get("card") else ""
    policy = f" on policy {a['policy_number']}" if a.get("policy_number") else ""
    kind = {
        "pay_now": "a one-off payment",
        "autopay": "an autopay charge",
        "scheduled": "a scheduled payment",
    }.get(str(a.get("kind")), "a payment")
    reason = str(a.get("reason", "wrong password")).replace("_", " ")
    notified = a.get("notify_name") or "the complaints team"
    sentences: dict[str, Callable[[], str]] = {
        "auth.signed_in": lambda: "Signed in to the Portal.",
        "auth.signed_out": lambda: "Signed out.",
        "auth.sign_in_failed": lambda: f"A sign-in attempt failed ({reason}).",
        "auth.sign_in_refused": lambda: "A sign-in attempt was refused (too many failed attempts).",
        "payment.initiated": lambda: f"Started {kind} of {amount}{policy}{card}.",
        "payment.succeeded": lambda: (
            f"Payment of {amount}{policy} succeeded"
            + (f"; receipt {a['receipt_number']}" if a.get("receipt_number") else "")
            + "."
        ),
        "payment.failed": lambda: (
            f"Payment of {amount}{policy} failed"
            + (f" ({str(a.get('failure_code')).replace('_', ' ')})" if a.get("failure_code") else "")
            + "."
        ),
        "refund.requested": lambda: f"Refund of {amount} requested.",
        "refund.succeeded": lambda: f"Refund of {amount} completed.",
        "refund.failed": lambda: f"Refund of {amount} failed.",
        "installment.paid": lambda: "Installment marked paid.",
        "scheduled_payment.created": lambda: (
            f"Scheduled a payment of {amount}" + (f" for {a['run_on']}" if a.get("run_on") else "") + "."
        ),
        "scheduled_payment.updated": lambda: (
            "Changed a scheduled payment"
            + (f" to {amount}" if amount else "")
            + (f" on {a['run_on']}" if a.get("run_on") else "")
            + "."
        ),
        "scheduled_payment.canceled": lambda: "Cancelled a scheduled payment.",
        "scheduled_payment.skipped": lambda: "A scheduled payment was skipped (nothing left to pay).",
        "autopay.enrolled": lambda: f"Turned autopay on{policy}{card}.",
        "autopay.disabled": lambda: f"Turned autopay off{policy}.",
        "autopay.suspended": lambda: "Autopay was suspended after repeated declines.",
        "autopay.retry_scheduled": lambda: "A declined autopay charge was scheduled to be retried.",
        "autopay.reminder_sent": lambda: "Sent the autopay reminder notice before the due date.",
        "delinquency.grace_started": lambda: (
            "The installment went past due; the grace period started (notice sent)."
        ),
        "delinquency.cured": lambda: "The past-due amount was paid; the policy is back in good standing.",
        "policy.pending_cancellation": lambda: "Notice of pending cancellation for non-payment.",
        "policy.cancelled_nonpayment": lambda: "The policy was cancelled for non-payment (notice sent).",
        "policy.reinstated": lambda: "The policy was reinstated.",
        "policy.payment_day_changed": lambda: f"Changed the payment day to day {a.get('payment_day', '?')}.",
        "payment_method.added": lambda: f"Saved a card{card}.",
        "payment_method.removed": lambda: "Removed a saved card.",
        "payment_method.default_set": lambda: "Chose the default card.",
        "account.viewed": lambda: "Opened the account.",
        "account.created": lambda: "The account was opened.",
        "holder.added": lambda: (
            f"{a['full_name']} was added to the account as a policyholder."
            if a.get("full_name")
            else "A policyholder was added to the account."
        ),
        "policy.issued": lambda: f"Policy {a.get('number', '')} was issued.",
        "policy.details_recorded": lambda: "The policy's details were recorded.",
        "billing.schedule_created": lambda: "The premium installment schedule was set up.",
        "document.issued": lambda: "A policy document was issued.",
        "document.viewed": lambda: "Opened a policy document.",
        "document.downloaded": lambda: "Downloaded a policy document.",
        "idcard.issued": lambda: "An ID card was issued.",
        "holder.contact_updated": lambda: "Updated contact details.",
        "case.opened": lambda: (
            f"Raised {a.get('kind', 'a case')} {a.get('number', '')}: “{a.get('subject', '')}”."
        ),
        "case.acknowledged": lambda: "Acknowledged the case.",
        "case.responded": lambda: "Replied to the customer on the case.",
        "case.note_added": lambda: "Added an internal note to the case.",
        "case.customer_contact": lambda: (
            "The customer contacted us about the case again"
            + (" and said it is still not resolved" if a.get("still_unresolved") else "")
            + "."
        ),
        "case.escalated": lambda: (
            "The case was escalated ("
            + ", ".join(str(r).replace("_", " ").replace(":", ": ") for r in a.get("new_reasons", []))
            + ")."
        ),
        "case.escalation_notified": lambda: f"Notified {notified} of the escalation.",
        "case.resolved": lambda: (
            f"Resolved the case: {str(a.get('outcome', '')).replace('_', ' ')}"
            + (
                f"; {a.get('remedy_kind')} of {money(a.get('remedy_minor'), a.get('currency'))}"
                if a.get("remedy_minor")
                else ""
            )
            + "."
        ),
        "case.closed": lambda: "Sent the final response and closed the case.",
        "evidence.exported": lambda: "Exported an evidence pack for this account.",
        "claim.filed": lambda: f"Filed claim {a.get('number', '')}.",
    }
    if action in sentences:
        return sentences[action]().replace("  ", " ")
    words = action.replace(".", ": ").replace("_", " ")
    status = ""
    if "status" in a and "status" in b:
        status = f" ({b['status']} → {a['status']})"
    tail = "" if outcome == "success" else f" — {outcome}"
    return f"{words[:1].upper()}{words[1:]}{status}{tail}."


def who(
    actor_role: str, actor_name: str, channel: str, on_behalf_of: str | None, branch_id: str | None
) -> str:
    """Who or what did it, and through which channel."""
    if actor_role == "system":
        base = (
            "Stripe (payment processor)" if channel == "stripe" else f"{actor_name or 'Portal'} (automatic)"
        )
        return base
    role = ROLE_WORDS.get(actor_role, actor_role)
    name = actor_name or "unknown user"
    text = f"{name}, {role}" if actor_role != "policyholder" else f"{name} (policyholder)"
    if on_behalf_of:
        text += ", for the customer"
    if branch_id:
        text += f" at branch {branch_id}"
    return f"{text}, {CHANNEL_WORDS.get(channel, channel)}"

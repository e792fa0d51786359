"""Turns the service's codes and data into words people read (the service sends codes only)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from portal_app.client import Alert, AuditEvent, PolicySummary
from ui.formatting import CURRENCY_SYMBOLS, day, money, time_in

__all__ = ["CURRENCY_SYMBOLS", "day", "money"]  # re-exported: the formats live in ui.formatting

PRODUCT_LINES = {"auto": "Auto insurance", "home": "Home insurance", "renters": "Renters insurance"}
PRODUCT_ICONS = {"auto": "car", "home": "home", "renters": "renters"}

# status -> (label, badge tone)
POLICY_STATUS = {
    "active": ("Active", "success"),
    "reinstated": ("Reinstated", "success"),
    "pending_cancellation": ("Cancellation pending", "warning"),
    "cancelled": ("Cancelled", "danger"),
    "lapsed": ("Lapsed", "danger"),
    "expired": ("Expired", "neutral"),
}

CLAIM_STATUS = {
    "submitted": ("Submitted", "info"),
    "acknowledged": ("Acknowledged", "info"),
    "in_review": ("In review", "info"),
    "info_requested": ("Information needed", "warning"),
    "approved": ("Approved", "success"),
    "paid": ("Paid", "success"),
    "denied": ("Declined", "danger"),
    "closed": ("Closed", "neutral"),
}

CASE_KINDS = {"complaint": "Complaint", "dispute": "Dispute", "request": "Request"}

PAY_PLANS = {
    "full": "Paid in full",
    "two_pay": "Two payments",
    "quarterly": "Quarterly",
    "monthly": "Monthly",
}

CHANNELS = {
    "portal": "Online portal",
    "agent": "Call centre",
    "branch": "Branch",
    "system": "Automatic",
    "stripe": "Card processor",
}

ROLES = {
    "policyholder": "policyholder",
    "agent": "agent",
    "branch_staff": "branch staff",
    "supervisor": "supervisor",
    "admin": "administrator",
    "system": "automatic",
    "anonymous": "unknown person",
}

OUTCOMES = {"success": "Done", "failure": "Failed", "denied": "Refused"}

# What happened, by action code. Unknown codes fall back to a readable form of the code itself,
# so a newer service never shows a blank cell.
ACTIONS = {
    "account.created": "Account opened",
    "account.viewed": "Opened the account",
    "holder.added": "Added {full_name} to the account",
    "holder.contact_updated": "Updated contact details",
    "policy.issued": "Issued policy {number}",
    "policy.changed": "Changed policy {number}",
    "policy.cancelled": "Cancelled policy {number}",
    "policy.reinstated": "Reinstated policy {number}",
    "policy.lapsed": "Policy {number} lapsed",
    "installment.paid": "Payment received for {policy_number}",
    "payment.succeeded": "Payment received",
    "payment.failed": "Payment failed",
    "payment.scheduled": "Payment scheduled",
    "payment.refunded": "Payment refunded",
    "autopay.enrolled": "Turned autopay on",
    "autopay.cancelled": "Turned autopay off",
    "payment_day.changed": "Changed the payment day",
    "claim.filed": "Filed claim {number}",
    "claim.photo_attached": "Added photo {filename} to claim {number}",
    "claim.status_changed": "Moved claim {number} on",
    "claim.info_provided": "Answered the question on claim {number}",
    "staff.permission_granted": "Granted the {permission} permission",
    "case.opened": "Opened a case",
    "case.escalated": "Escalated a case",
    "case.resolved": "Resolved a case",
    "auth.signed_in": "Signed in",
    "auth.signed_out": "Signed out",
    "auth.sign_in_failed": "Sign-in attempt failed",
    "auth.sign_in_refused": "Sign-in refused after too many attempts",
    "auth.refresh_reused": "Signed out everywhere for safety",
    "branch.customer_verified": "Verified the customer's identity at the branch",
    "branch.verification_failed": "Identity check at the branch did not match",
    "branch.verification_refused": "Identity check at the branch refused",
    "policy.details_recorded": "Recorded the people, vehicles and cover on {number}",
    "document.issued": "Issued {title} for {policy_number}",
    "document.viewed": "Opened {title} ({policy_number})",
    "document.downloaded": "Downloaded {title} ({policy_number})",
    "document.integrity_failed": "Refused to show {title}: it failed its integrity check",
    "idcard.issued": "Issued an ID card for the {vehicle} on {policy_number}",
    "note.added": "Added an internal note",
}

CONTACT_FIELDS = {
    "phone": "phone",
    "email": "email",
    "address": "address",
    "postcode": "postcode",
    "paperless": "paperless preference",
}


def local_time(value: datetime | None, where: tzinfo | str | None = None) -> str:
    """Service times are UTC; people read them in the policy's zone, labelled (ui.formatting)."""
    # No zone known to the caller: this computer's zone, as before, but now labelled.
    return time_in(value, where if where is not None else datetime.now().astimezone().tzinfo, seconds=True)


def policy_status(status: str) -> tuple[str, str]:
    return POLICY_STATUS.get(status, (status.replace("_", " ").capitalize(), "neutral"))


def claim_status(status: str) -> tuple[str, str]:
    return CLAIM_STATUS.get(status, (status.replace("_", " ").capitalize(), "info"))


def product_line(line: str) -> str:
    return PRODUCT_LINES.get(line, f"{line.replace('_', ' ').capitalize()} insurance")


def humanise_code(code: str) -> str:
    words = code.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Change recorded"


def payment_method(policy: PolicySummary) -> str:
    if policy.next_due is not None:
        return "Autopay" if policy.next_due.method == "autopay" else "Pay manually"
    return "Autopay" if policy.autopay else "Pay manually"


def alert_text(alert: Alert, policy: PolicySummary | None) -> tuple[str, str]:
    """(headline, explanation) for an alert code; the data carries the particulars."""
    data = alert.data
    number = str(data.get("policy_number") or (policy.number if policy else "your policy"))
    currency = str(data.get("currency") or (policy.currency if policy else "USD"))
    if alert.code == "payment.past_due":
        amount = money(int(data.get("amount_minor") or 0), currency)
        return (
            f"Payment past due on {number}",
            f"{amount} is overdue. Pay it to keep your cover in force.",
        )
    if alert.code == "payment.due_soon":
        amount = money(int(data.get("amount_minor") or 0), currency)
        due = data.get("due_date")
        when = day(date.fromisoformat(str(due)[:10])) if due else "soon"
        return (
            f"Payment due soon on {number}",
            f"{amount} is due on {when}. Autopay is off, so this one needs you.",
        )
    if alert.code == "policy.pending_cancellation":
        return (
            f"Policy {number} is set to be cancelled",
            "Pay the amount past due or call us to keep this policy.",
        )
    if alert.code == "claim.info_requested":
        claim = str(data.get("claim_number") or "your claim")
        return (
            f"We need more information for claim {claim}",
            "Your claims handler has asked for details or photos before they can continue.",
        )
    return (humanise_code(alert.code), "")


def who(event: AuditEvent) -> str:
    name = event.actor_name or ROLES.get(event.actor_role, event.actor_role) or "Someone"
    if event.actor_role in ("", "policyholder", "system"):
        base = name
    else:
        base = f"{name} ({ROLES.get(event.actor_role, event.actor_role)})"
    return base


def channel(event: AuditEvent) -> str:
    return CHANNELS.get(event.channel, event.channel.capitalize() or "—")


def what_happened(event: AuditEvent) -> str:
    """One sentence for the change log; before/after fill in the particulars we know about."""
    template = ACTIONS.get(event.action)
    after = event.after or {}
    before = event.before or {}
    if event.action == "holder.contact_updated":
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        names = [CONTACT_FIELDS.get(k, k) for k in changed]
        return "Updated contact details: " + ", ".join(names) if names else template or ""
    if event.action == "auth.sign_in_failed" and after.get("reason") == "invalid_credentials":
        return "Sign-in attempt failed: wrong password"
    if template is None:
        return humanise_code(event.action)
    try:
        text = template.format(**{k: v for k, v in after.items() if isinstance(v, str | int)})
    except (KeyError, IndexError, ValueError):
        # A placeholder the event does not carry: drop the particulars, keep the sentence.
        text = template.split(" {", 1)[0]
    if event.action == "installment.paid" and "amount_minor" in after:
        text += f" ({money(int(after['amount_minor']), str(after.get('currency') or 'USD'))})"
    return text


def outcome(event: AuditEvent) -> str:
    return OUTCOMES.get(event.outcome, event.outcome.capitalize())

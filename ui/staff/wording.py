"""Words the staff window uses: roles, presence, and refusals worded from the API's codes."""

from __future__ import annotations

from portal_app.client import ApiError, PortalError, ServiceUnreachable
from portal_app.client.models import Viewer
from ui import wording

CONSOLE_TITLES = {
    "agent": "Agent console",
    "supervisor": "Supervisor console",
    "admin": "Agent console",
    "branch_staff": "Branch desk",
}


def role(value: str) -> str:
    return wording.ROLES.get(value, value.replace("_", " "))


def acting_banner(customer: str, staff_name: str, staff_role: str, branch: str | None = None) -> str:
    """ "Acting for Alex Morgan — recorded as Sam Rivera (agent)"."""
    text = f"Acting for {customer or 'this customer'} — recorded as {staff_name} ({role(staff_role)})"
    if branch:
        text += f" at {branch}"
    return text


def customer_presence(viewers: list[Viewer]) -> tuple[bool, str]:
    """Whether the customer has the app open, and the words for it."""
    customers = [v for v in viewers if v.is_customer]
    if not customers:
        return False, "Customer not in the app"
    names = " and ".join(v.name.split(" ")[0] or v.name for v in customers)
    return True, f"● {names} online in the app"


def other_staff(viewers: list[Viewer], me_id: str) -> str:
    staff = [v for v in viewers if not v.is_customer and v.user_id != me_id]
    if not staff:
        return ""
    return "Also open by " + ", ".join(f"{v.name} ({role(v.role)})" for v in staff)


def staff_presence_for_customer(viewers: list[Viewer]) -> str:
    """What the policyholder's window says while staff have their account open."""
    staff = [v for v in viewers if not v.is_customer]
    if not staff:
        return ""
    people = ", ".join(f"{v.name} ({role(v.role)})" for v in staff)
    verb = "has" if len(staff) == 1 else "have"
    return f"{people} {verb} your account open"


ERRORS = {
    "auth.forbidden": "Your role cannot do this.",
    "account.not_found": "We could not find that account.",
    "search.query_too_short": "Type at least two letters or digits.",
    "note.empty": "Write the note before adding it.",
    "note.too_long": "Notes are at most 2,000 characters.",
    "branch.verification_required": "Verify the customer first: policy number, date of birth and postcode.",
    "branch.verification_failed": (
        "The policy number, date of birth and postcode do not match our records. "
        "Check each with the customer; after three failed checks verification locks for a while."
    ),
    "document.not_found": "That document is not available.",
}


def error_text(exc: PortalError) -> str:
    """A sentence for a refusal, from its stable code (never the raw server text first)."""
    if isinstance(exc, ServiceUnreachable):
        return "Can't reach the Portal service. Check the connection and try again."
    if isinstance(exc, ApiError):
        if exc.code == "branch.verification_locked":
            minutes = max(1, -(-(exc.retry_after or 900) // 60))
            return (
                f"Three checks failed, so verification is locked for {minutes} minute"
                f"{'s' if minutes != 1 else ''}. Ask a supervisor if the customer needs help now."
            )
        if exc.code in ERRORS:
            return ERRORS[exc.code]
        return exc.detail or wording.humanise_code(exc.code)
    return str(exc) or "Something went wrong."

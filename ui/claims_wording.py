"""Words for the claims screens: loss types, what happens next, and messages by problem code."""

from __future__ import annotations

from datetime import date

from portal_app.client.models import Claim
from ui import error_wording, wording

LOSS_TYPES = {
    "collision": "Collision",
    "theft": "Theft or break-in",
    "glass": "Glass damage",
    "weather": "Storm, hail or wind",
    "water": "Water damage",
    "fire": "Fire or smoke",
    "liability": "Someone holds us responsible",
    "other": "Something else",
}

ACTIONS = {
    "acknowledge": "Acknowledge",
    "start_review": "Start review",
    "request_info": "Ask for information",
    "approve": "Approve",
    "deny": "Decline",
    "mark_paid": "Mark paid",
    "close": "Close claim",
    "respond": "Send answer",
}

# step -> (when done, when still to come)
STEP_NAMES = {
    "acknowledge": ("Acknowledged", "Acknowledge"),
    "review": ("First review", "First review"),
}

# Problem codes -> the field the message belongs next to (None: a form-level message). The
# sentences themselves live in ui/error_wording.py with every other code's.
CLAIM_FIELDS: dict[str, str | None] = {
    "claim.loss_in_future": "loss_at",
    "claim.vehicle_required": "vehicle",
    "claim.injury_details_required": "injury_details",
    "claim.loss_type_invalid": "loss_type",
    "policy.not_found": "policy_id",
    "claim.question_required": "note",
    "claim.answer_required": "answer",
    "claim.reason_required": "note",
    "claim.amount_required": "amount",
}
# Upload states of the client itself, as error_wording keys.
UPLOAD_STATES = {
    "interrupted": "upload.interrupted",
    "unreachable": "upload.unreachable",
    "missing": "upload.missing",
}


def loss_type(code: str) -> str:
    return LOSS_TYPES.get(code, code.replace("_", " ").capitalize())


def error_message(code: str, detail: str = "") -> tuple[str | None, str]:
    """(field, sentence) for a claim refusal."""
    return CLAIM_FIELDS.get(code), error_wording.message(code, detail)


def photo_error(code: str, detail: str = "") -> str:
    return error_wording.message(UPLOAD_STATES.get(code, code), detail or "The upload failed.")


def next_step(claim: Claim) -> tuple[str, str]:
    """(headline, explanation) for what happens next on this claim."""
    due = _by(claim.next_step_due)
    code = claim.next_step_code
    if code == "acknowledge":
        return (
            f"We will acknowledge your claim by {due}",
            "A claims handler checks what you sent and confirms the claim. Add photos at any time.",
        )
    if code == "review":
        return (
            f"First review by {due}",
            "Your claims handler reviews the details and photos and may ask you for more.",
        )
    if code == "decision":
        return (
            "Your claim is being reviewed",
            "We will tell you the decision here as soon as it is made, or ask if we need anything.",
        )
    if code == "customer_info":
        return (
            "We need something from you",
            "Answer the question below so we can continue with your claim.",
        )
    if code == "payment":
        amount = wording.money(claim.approved_minor or 0, claim.currency)
        return (
            f"Approved: {amount} will be paid",
            "We will mark the claim paid once the money is on its way.",
        )
    if code == "closing":
        return ("Nearly done", "We will close the claim; nothing more is needed from you.")
    return ("This claim is closed", "Call us if anything about it changes.")


def _by(day: date | None) -> str:
    return wording.day(day) if day else "soon"


def who(name: str, role: str) -> str:
    if role in ("", "policyholder", "system"):
        return name or "Portal"
    return f"{name} ({wording.ROLES.get(role, role)})"


def file_size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, size // 1000)} KB" if size > 0 else "0 KB"

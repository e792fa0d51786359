"""Words for the claims screens: loss types, what happens next, and messages by problem code."""

from __future__ import annotations

from datetime import date

from portal_app.client.models import Claim
from ui import wording

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

# Problem codes -> (field the message belongs next to, message). Field None: a form-level message.
ERRORS: dict[str, tuple[str | None, str]] = {
    "claim.loss_in_future": ("loss_at", "The date and time of the loss cannot be in the future."),
    "claim.vehicle_required": ("vehicle", "Say which vehicle was involved."),
    "claim.injury_details_required": ("injury_details", "Tell us briefly who was hurt and how."),
    "claim.loss_type_invalid": ("loss_type", "Choose what happened from the list."),
    "policy.not_found": ("policy_id", "That policy is not on this account any more."),
    "claim.question_required": ("note", "Write the question the customer should answer."),
    "claim.answer_required": ("answer", "Write your answer before sending it."),
    "claim.reason_required": ("note", "Give the reason for declining; the customer will read it."),
    "claim.amount_required": ("amount", "Enter the approved amount."),
    "claim.illegal_transition": (None, "The claim has moved on in the meantime; showing its latest state."),
    "claim.adjuster_required": (None, "You need the adjuster permission to do this."),
    "claim.customer_only": (None, "Only the customer answers a request for information."),
    "claim.closed": (None, "This claim is closed, so photos can no longer be added."),
    "claim.not_found": (None, "We could not find that claim."),
    "account.not_found": (None, "We could not find that account."),
    "branch.verification_required": (None, "Verify the customer at the counter first."),
}

PHOTO_ERRORS = {
    "claim.photo_type_not_allowed": "Not a photo we can accept: use JPEG, PNG, HEIC or WebP.",
    "claim.photo_corrupt": "This photo is damaged or only partly copied.",
    "claim.photo_too_large": "This photo is larger than 32 MB.",
    "claim.photo_too_many_pixels": "This photo has too many pixels to accept.",
    "claim.photo_filename_invalid": "Rename this file: its name has characters we cannot accept.",
    "claim.photo_empty": "This file is empty.",
    "claim.closed": "The claim is closed; photos can no longer be added.",
    "claim.not_found": "The claim could not be found.",
    "interrupted": "The upload was interrupted when the app closed.",
    "unreachable": "Can't reach the Portal service right now.",
    "missing": "The file is no longer on this computer.",
}


def loss_type(code: str) -> str:
    return LOSS_TYPES.get(code, code.replace("_", " ").capitalize())


def error_message(code: str, detail: str = "") -> tuple[str | None, str]:
    return ERRORS.get(code, (None, detail or "Something went wrong. Please try again."))


def photo_error(code: str, detail: str = "") -> str:
    return PHOTO_ERRORS.get(code, detail or "The upload failed.")


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

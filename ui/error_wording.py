"""What a person reads for each problem code the service sends: the one map of the client.

The service refuses with a stable `code` (services/errors.py, docs/API.md); pages never write
their own copy of these sentences (there were eight maps, drifting apart). Pages that place a
message next to a field keep only the field mapping (ui/claims_wording.CLAIM_FIELDS).
"""

from __future__ import annotations

from portal_app.client import ApiError, PortalError, ServiceUnreachable

GENERIC = "Something went wrong. Please try again."
UNREACHABLE = "We can't reach the Portal service right now. Check your connection, then try again."

MESSAGES: dict[str, str] = {
    # Payments (docs/API.md "Payments")
    "payment.card_declined": "The card was declined. Try another card or contact your bank.",
    "payment.authentication_required": "Your bank wants to confirm this payment, which can't be done here. "
    "Try another card.",
    "payment.gateway_unavailable": "We couldn't reach the card processor. Nothing was charged — "
    "please try again.",
    "payment.gateway_rejected": "The card processor refused this payment. Nothing was charged.",
    "payment.amount_over_balance": "That is more than what is left to pay on this policy.",
    "payment.amount_not_positive": "Enter an amount greater than zero.",
    "payment.nothing_due": "There is nothing to pay on this policy right now.",
    "payment.charge_in_flight": "A payment on this policy is still being processed. Try again in a moment.",
    "payment.method_expired": "That card has expired. Choose or add another card.",
    "payment.method_not_found": "That card is no longer saved. Choose another card.",
    "payment.method_in_use_by_autopay": "This card pays a policy by autopay. Switch autopay to another card "
    "or off first.",
    "payment.method_in_use_by_schedule": "A scheduled payment uses this card. Change or cancel it first.",
    "payment.date_not_future": "Choose a date after today. To pay today, use Pay now.",
    "payment.date_too_far": "That date is further ahead than payments can be scheduled.",
    "payment.scheduled_not_editable": "This payment has already run or was cancelled.",
    "payment.day_out_of_range": "Choose a day of the month from the list.",
    "payment.day_beyond_grace": "That day would push an installment past its grace period.",
    "payment.policy_closed": "This policy is not in force, so this can't be changed here.",
    "payment.policy_cancelled": "This policy was cancelled and can no longer be paid here. Please call us.",
    "payment.authorization_mismatch": "The autopay terms changed. Review them and agree again.",
    "payment.card_data_refused": "Card numbers are only ever sent to the card processor.",
    "card.invalid_number": "That card number is not valid.",
    "card.incorrect_number": "That card number is not valid.",
    "card.invalid_expiry_month": "Check the expiry month.",
    "card.invalid_expiry_year": "Check the expiry year.",
    "card.invalid_cvc": "Check the security code.",
    "card.card_declined": "The card was declined when we tried to save it. Try another card.",
    # Claims
    "claim.loss_in_future": "The date and time of the loss cannot be in the future.",
    "claim.vehicle_required": "Say which vehicle was involved.",
    "claim.injury_details_required": "Tell us briefly who was hurt and how.",
    "claim.loss_type_invalid": "Choose what happened from the list.",
    "policy.not_found": "That policy is not on this account any more.",
    "claim.question_required": "Write the question the customer should answer.",
    "claim.answer_required": "Write your answer before sending it.",
    "claim.reason_required": "Give the reason for declining; the customer will read it.",
    "claim.amount_required": "Enter the approved amount.",
    "claim.illegal_transition": "The claim has moved on in the meantime; showing its latest state.",
    "claim.adjuster_required": "You need the adjuster permission to do this.",
    "claim.customer_only": "Only the customer answers a request for information.",
    "claim.closed": "This claim is closed, so photos can no longer be added.",
    "claim.not_found": "We could not find that claim.",
    "account.not_found": "We could not find that account.",
    "branch.verification_required": "Verify the customer at the counter first.",
    "claim.photo_type_not_allowed": "Not a photo we can accept: use JPEG, PNG, HEIC or WebP.",
    "claim.photo_corrupt": "This photo is damaged or only partly copied.",
    "claim.photo_too_large": "This photo is larger than the service accepts.",
    "claim.photo_too_many_pixels": "This photo has too many pixels to accept.",
    "claim.photo_filename_invalid": "Rename this file: its name has characters we cannot accept.",
    "claim.photo_empty": "This file is empty.",
    # Notifications
    "notification.required": "This notice is required by law, so it is always sent by email.",
    "notification.unknown_type": "That kind of notice no longer exists. Please reopen the settings.",
    "notification.unknown_channel": "Choose email or text message.",
    "notification.no_changes": "Nothing changed.",
    "notification.customers_only": "Notification settings belong to the policyholder's own sign-in.",
    "notification.not_found": "That notification is no longer there. The list is refreshed.",
    # Documents
    "document.not_found": "This document is no longer available on your account.",
    "document.corrupted": "This document failed its integrity check, so we will not show it. The problem has "
    "been recorded; call us for a fresh copy.",
    # Sign-in
    "auth.invalid_credentials": "The email or password is not right. Check both and try again.",
    "auth.throttled": "Too many attempts. Wait a moment, then try again.",
    "auth.locked": "This sign-in is locked for a while after too many attempts.",
    "auth.refresh_invalid": "Your session has ended. Please sign in again.",
    "auth.refresh_reused": "For your safety you were signed out everywhere. Please sign in again.",
    # States of the client itself (not service codes): uploads
    "upload.interrupted": "The upload was interrupted when the app closed.",
    "upload.unreachable": "Can't reach the Portal service right now.",
    "upload.missing": "The file is no longer on this computer.",
}


def message(code: str | None, fallback: str = "") -> str:
    """The sentence for `code`; the fallback (often the service's detail) for an unknown code."""
    return MESSAGES.get(code or "", fallback or GENERIC)


def message_for(exc: BaseException, fallback: str = "") -> str:
    """Word any error a client call raised."""
    if isinstance(exc, ServiceUnreachable):
        return UNREACHABLE
    if isinstance(exc, ApiError):
        return message(exc.code, fallback or exc.detail)
    if isinstance(exc, PortalError):
        return fallback or str(exc) or GENERIC
    return fallback or GENERIC

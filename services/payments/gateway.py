"""The payment gateway as the payments service sees it. `adapters/stripe_gateway.py` implements
it with the official Stripe SDK (real Stripe or localstripe); unit tests use a fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class CardInfo:
    """What we may keep about a card: Stripe's id, brand, last four, expiry."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str | None = None


@dataclass(frozen=True)
class IntentInfo:
    """A PaymentIntent's state as the gateway reports it."""

    id: str
    # requires_confirmation | requires_action | processing | succeeded | requires_payment_method | canceled
    status: str
    amount: int
    currency: str
    failure_code: str | None = None
    failure_message: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str
    amount: int


class GatewayError(Exception):
    """Base for gateway failures. `code` is ours (payment.*), stable for the API and the UI."""

    code = "payment.gateway_error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class CardDeclined(GatewayError):
    """The card issuer said no. `hard` declines are never retried automatically."""

    code = "payment.card_declined"

    def __init__(self, message: str, *, decline_code: str | None, hard: bool, intent_id: str | None) -> None:
        super().__init__(message, decline_code=decline_code)
        self.decline_code = decline_code
        self.hard = hard
        self.intent_id = intent_id


class GatewayUnavailable(GatewayError):
    """The call may or may not have reached Stripe: the outcome is unknown until reconciled."""

    code = "payment.gateway_unavailable"


class GatewayRejected(GatewayError):
    """Stripe refused the request itself (unknown card, bad parameters): nothing moved."""

    code = "payment.gateway_rejected"


class SignatureInvalid(GatewayError):
    code = "stripe.signature_invalid"


# Decline codes after which trying the same card again cannot work.
HARD_DECLINES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "fraudulent",
        "invalid_account",
        "incorrect_number",
        "expired_card",
        "restricted_card",
        "do_not_honor",
        "revocation_of_authorization",
        "card_not_supported",
        "invalid_number",
    }
)


class PaymentGateway(Protocol):
    """Threading rule: implementations are called from worker threads and must be thread-safe."""

    mode: str  # "local" (localstripe) or "stripe"
    publishable_key: str

    @property
    def api_base(self) -> str:
        """Where clients tokenise cards."""
        ...

    def create_customer(self, *, account_id: str, name: str, email: str | None, idempotency_key: str) -> str:
        """Create the Stripe customer for an account; returns its id."""
        ...

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardInfo:
        """Attach a client-tokenised card to the customer; returns what we may keep."""
        ...

    def detach_card(self, *, payment_method_id: str) -> None: ...

    def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentInfo:
        """Create an unconfirmed PaymentIntent: no money moves yet."""
        ...

    def confirm_intent(self, intent_id: str, *, idempotency_key: str) -> IntentInfo:
        """Confirm (charge). Raises CardDeclined, GatewayUnavailable or GatewayRejected."""
        ...

    def retrieve_intent(self, intent_id: str) -> IntentInfo: ...

    def cancel_intent(self, intent_id: str) -> IntentInfo:
        """Cancel a PaymentIntent that has not taken money, so it never can."""
        ...

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> RefundInfo: ...

    def verify_webhook(self, payload: bytes, signature: str) -> dict[str, Any]:
        """Check Stripe's signature and return the event; raises SignatureInvalid."""
        ...

"""PaymentGateway on the official Stripe SDK: the only module that imports stripe.

The same code talks to real Stripe (keys from the environment) or to localstripe on loopback.
"""

from __future__ import annotations

from typing import Any

import stripe

from services.payments.gateway import (
    HARD_DECLINES,
    CardDeclined,
    CardInfo,
    GatewayRejected,
    GatewayUnavailable,
    IntentInfo,
    RefundInfo,
    SignatureInvalid,
)

STRIPE_API = "https://api.stripe.com"


class StripeGateway:
    """Threading rule: stateless apart from the SDK client, which is safe to share across threads."""

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str,
        webhook_secret: str,
        api_base: str = "",
        mode: str = "stripe",
        timeout: float = 20.0,
    ) -> None:
        # Never write ~/.config/stripe/telemetry_id, never send usage telemetry.
        stripe.enable_telemetry = False
        base = api_base or STRIPE_API
        self.mode = mode
        self.publishable_key = publishable_key
        self.api_base = base
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": base},
            # Retries are ours to decide: an unknown outcome is reconciled, not blindly resent.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # --- customers and cards -----------------------------------------------------------------

    def create_customer(self, *, account_id: str, name: str, email: str | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"portal_account_id": account_id}}
        if email:
            params["email"] = email
        customer = self._call(
            self._client.v1.customers.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return str(customer.id)

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardInfo:
        pm = self._call(
            self._client.v1.payment_methods.attach, payment_method_id, params={"customer": customer_id}
        )
        return _card(pm)

    def detach_card(self, *, payment_method_id: str) -> None:
        self._call(self._client.v1.payment_methods.detach, payment_method_id)

    # --- charges -----------------------------------------------------------------------------

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
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "metadata": metadata,
        }
        if self.mode == "stripe":
            params["payment_method_types"] = ["card"]
        intent = self._call(
            self._client.v1.payment_intents.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return _intent(intent)

    def confirm_intent(self, intent_id: str, *, idempotency_key: str) -> IntentInfo:
        params: dict[str, Any] = {}
        if self.mode == "stripe":
            # Real Stripe: the customer is not present for autopay/scheduled runs. localstripe
            # refuses this parameter on confirm.
            params["off_session"] = True
        intent = self._call(
            self._client.v1.payment_intents.confirm,
            intent_id,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return _intent(intent)

    def retrieve_intent(self, intent_id: str) -> IntentInfo:
        return _intent(self._call(self._client.v1.payment_intents.retrieve, intent_id))

    def cancel_intent(self, intent_id: str) -> IntentInfo:
        return _intent(self._call(self._client.v1.payment_intents.cancel, intent_id))

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> RefundInfo:
        refund = self._call(
            self._client.v1.refunds.create,
            params={"payment_intent": intent_id, "amount": amount_minor},
            options={"idempotency_key": idempotency_key},
        )
        return RefundInfo(id=str(refund.id), status=str(refund.status), amount=int(refund.amount))

    # --- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, payload: bytes, signature: str) -> dict[str, Any]:
        if not self._webhook_secret:
            raise SignatureInvalid("No webhook secret is configured.")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise SignatureInvalid("The Stripe signature does not match.") from exc
        return event.to_dict()

    # --- errors ------------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            err = exc.error
            decline = getattr(err, "decline_code", None) or exc.code
            intent = getattr(err, "payment_intent", None)
            intent_id = intent.get("id") if isinstance(intent, dict) else getattr(intent, "id", None)
            raise CardDeclined(
                exc.user_message or "The card was declined.",
                decline_code=decline,
                hard=decline in HARD_DECLINES,
                intent_id=intent_id,
            ) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayUnavailable(str(exc.user_message or "Stripe could not be reached.")) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status == 0:
                raise GatewayUnavailable(str(exc.user_message or "Stripe had a problem.")) from exc
            raise GatewayRejected(
                str(exc.user_message or "Stripe refused the request."), status=status
            ) from exc


def _card(pm: Any) -> CardInfo:
    card = pm.card
    return CardInfo(
        id=str(pm.id),
        brand=str(card.brand),
        last4=str(card.last4),
        exp_month=int(card.exp_month),
        exp_year=int(card.exp_year),
        customer=str(pm.customer) if pm.customer else None,
    )


def _intent(pi: Any) -> IntentInfo:
    data = pi.to_dict() if hasattr(pi, "to_dict") else dict(pi)
    err = data.get("last_payment_error") or {}
    return IntentInfo(
        id=str(data["id"]),
        status=str(data["status"]),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        failure_code=err.get("code") if err else None,
        failure_message=err.get("message") if err else None,
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )

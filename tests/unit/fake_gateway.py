"""An in-memory PaymentGateway for unit tests (never used outside tests/unit)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from services.payments.gateway import (
    CardDeclined,
    CardInfo,
    GatewayUnavailable,
    IntentInfo,
    RefundInfo,
    SignatureInvalid,
)


@dataclass
class _Intent:
    id: str
    amount: int
    currency: str
    payment_method: str
    metadata: dict[str, str]
    status: str = "requires_confirmation"


@dataclass
class FakePaymentGateway:
    mode: str = "local"
    publishable_key: str = "pk_test_fake"
    api_base: str = "http://fake.invalid"
    intents: dict[str, _Intent] = field(default_factory=dict)
    charges: list[str] = field(default_factory=list)  # intent ids that took money
    decline: dict[str, bool] = field(default_factory=dict)  # payment method -> hard?
    # Faults to inject: "confirm_lost_reply" charges, then raises as if the reply was lost.
    faults: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_customer(self, *, account_id: str, name: str, email: str | None, idempotency_key: str) -> str:
        return f"cus_{account_id}"

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardInfo:
        return CardInfo(payment_method_id, "visa", "4242", 12, 2031, customer_id)

    def detach_card(self, *, payment_method_id: str) -> None:
        return None

    def create_intent(self, **spec: Any) -> IntentInfo:
        if "create_down" in self.faults:
            raise GatewayUnavailable("connection refused")
        with self.lock:
            intent = _Intent(
                f"pi_{len(self.intents) + 1}",
                spec["amount_minor"],
                spec["currency"],
                spec["payment_method_id"],
                dict(spec["metadata"]),
            )
            self.intents[intent.id] = intent
            return self._info(intent)

    def confirm_intent(self, intent_id: str, *, idempotency_key: str) -> IntentInfo:
        with self.lock:
            intent = self.intents[intent_id]
            if intent.status != "requires_confirmation":
                from services.payments.gateway import GatewayRejected

                raise GatewayRejected("already confirmed")
            if intent.payment_method in self.decline:
                intent.status = "requires_payment_method"
                raise CardDeclined(
                    "declined",
                    decline_code="card_declined"
                    if not self.decline[intent.payment_method]
                    else "stolen_card",
                    hard=self.decline[intent.payment_method],
                    intent_id=intent.id,
                )
            intent.status = "succeeded"
            self.charges.append(intent.id)
            if "confirm_lost_reply" in self.faults:
                self.faults.discard("confirm_lost_reply")
                raise GatewayUnavailable("timed out")
            return self._info(intent)

    def retrieve_intent(self, intent_id: str) -> IntentInfo:
        if "retrieve_down" in self.faults:
            raise GatewayUnavailable("down")
        return self._info(self.intents[intent_id])

    def cancel_intent(self, intent_id: str) -> IntentInfo:
        self.intents[intent_id].status = "canceled"
        return self._info(self.intents[intent_id])

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> RefundInfo:
        return RefundInfo(f"re_{intent_id}", "succeeded", amount_minor)

    def verify_webhook(self, payload: bytes, signature: str) -> dict[str, Any]:
        raise SignatureInvalid("fake")

    @staticmethod
    def _info(i: _Intent) -> IntentInfo:
        return IntentInfo(i.id, i.status, i.amount, i.currency, metadata=dict(i.metadata))

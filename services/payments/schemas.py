"""Request bodies of the payments API (responses are documented in docs/API.md)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from services.schemas_common import RequestModel


class AddPaymentMethod(RequestModel):
    # The id Stripe returned to the client when it tokenised the card (pm_...). Never a card number.
    stripe_payment_method_id: str = Field(min_length=3, max_length=64)
    make_default: bool = False


class PayNow(RequestModel):
    payment_method_id: str = Field(min_length=1, max_length=40)
    # None: the full payable balance.
    amount_minor: int | None = Field(default=None, ge=1, le=100_000_000)
    # Chosen by the client once per confirmation: a resend or double click pays once.
    request_key: str = Field(min_length=8, max_length=64)


class SchedulePayment(RequestModel):
    run_on: date
    amount_minor: int = Field(ge=1, le=100_000_000)
    payment_method_id: str = Field(min_length=1, max_length=40)


class UpdateScheduledPayment(RequestModel):
    run_on: date | None = None
    amount_minor: int | None = Field(default=None, ge=1, le=100_000_000)
    payment_method_id: str | None = Field(default=None, min_length=1, max_length=40)


class EnrollAutopay(RequestModel):
    payment_method_id: str = Field(min_length=1, max_length=40)
    authorization_text: str = Field(min_length=20, max_length=2000)


class PaymentDay(RequestModel):
    day: int = Field(ge=1, le=28)


class RefundRequest(RequestModel):
    amount_minor: int = Field(ge=1, le=100_000_000)
    reason: str = Field(min_length=3, max_length=500)

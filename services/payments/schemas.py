"""Request bodies of the payments API (responses are documented in docs/API.md)."""

from __future__ import annotations

from pydantic import Field

from services.schemas_common import (
    Flag,
    IdStr,
    IsoDate,
    MinorUnits,
    PaymentDayOfMonth,
    RequestKey,
    RequestModel,
)


class AddPaymentMethod(RequestModel):
    # The id Stripe returned to the client when it tokenised the card (pm_...). Never a card number.
    stripe_payment_method_id: str = Field(
        min_length=3, max_length=64, json_schema_extra={"pattern": "^pm_[A-Za-z0-9_]+$"}
    )
    make_default: Flag = False


class PayNow(RequestModel):
    payment_method_id: IdStr
    # None: the full payable balance.
    amount_minor: MinorUnits | None = None
    # Chosen by the client once per confirmation: a resend or double click pays once.
    request_key: RequestKey


class SchedulePayment(RequestModel):
    run_on: IsoDate
    amount_minor: MinorUnits
    payment_method_id: IdStr


class UpdateScheduledPayment(RequestModel):
    run_on: IsoDate | None = None
    amount_minor: MinorUnits | None = None
    payment_method_id: IdStr | None = None


class EnrollAutopay(RequestModel):
    payment_method_id: IdStr
    authorization_text: str = Field(min_length=20, max_length=2000)


class PaymentDay(RequestModel):
    day: PaymentDayOfMonth


class RefundRequest(RequestModel):
    amount_minor: MinorUnits
    reason: str = Field(min_length=3, max_length=500)

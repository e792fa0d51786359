"""Documents and ID card API shapes."""

from __future__ import annotations

from datetime import date, datetime

from services.schemas_common import ResponseModel


class DocumentOut(ResponseModel):
    id: str
    policy_id: str | None
    policy_number: str | None
    vehicle_id: str | None
    kind: str
    title: str
    file_name: str
    media_type: str
    size_bytes: int
    page_count: int
    sha256: str
    created_at: datetime


class DocumentList(ResponseModel):
    documents: list[DocumentOut]


class CardVehicle(ResponseModel):
    id: str
    vin: str
    year: int
    make: str
    model: str


class IdCardOut(ResponseModel):
    id: str
    policy_id: str
    policy_number: str
    status: str
    status_reason: str | None
    insurer_name: str
    insurer_code: str
    claims_phone: str
    named_insureds: list[str]
    vehicle: CardVehicle
    valid_from: date
    valid_to: date
    time_zone: str
    code: str
    page_document_id: str
    wallet_document_id: str
    issued_at: datetime


class IdCardList(ResponseModel):
    id_cards: list[IdCardOut]


class CardVerification(ResponseModel):
    status: str
    status_reason: str | None = None
    checked_at: datetime
    insurer_code: str | None = None
    policy_number: str | None = None
    vehicle: str | None = None
    vin: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

"""Policy detail API shapes."""

from __future__ import annotations

from datetime import datetime

from services.accounts.schemas import PolicySummary
from services.schemas_common import ResponseModel


class PartyOut(ResponseModel):
    full_name: str
    relationship: str


class VehicleOut(ResponseModel):
    id: str
    vin: str
    year: int
    make: str
    model: str
    removed_at: datetime | None


class PropertyOut(ResponseModel):
    address: str
    postcode: str
    dwelling: str
    year_built: int | None


class CoverageOut(ResponseModel):
    code: str
    name: str
    vehicle_id: str | None
    limit_minor: int | None
    limit_per_accident_minor: int | None
    deductible_minor: int | None
    premium_minor: int
    currency: str


class PolicyDetail(PolicySummary):
    account_id: str
    named_insureds: list[PartyOut]
    drivers: list[PartyOut]
    vehicles: list[VehicleOut]
    properties: list[PropertyOut]
    coverages: list[CoverageOut]

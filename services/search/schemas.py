"""Search API shapes."""

from __future__ import annotations

from services.schemas_common import ResponseModel


class CustomerHit(ResponseModel):
    account_id: str
    account_name: str
    holder_id: str | None
    full_name: str
    email: str | None
    phone: str | None
    postcode: str | None
    policy_numbers: list[str]
    matched_kind: str
    matched: str
    score: float


class CustomerSearch(ResponseModel):
    query: str
    results: list[CustomerHit]

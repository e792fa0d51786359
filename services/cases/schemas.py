"""Request bodies of the cases API (responses are the dicts services.cases.service builds)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.schemas_common import RequestModel


class AttachmentIn(RequestModel):
    filename: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=80)
    content_base64: str = Field(min_length=1, max_length=800_000)


class CaseCreate(RequestModel):
    kind: Literal["complaint", "dispute"]
    category: str = Field(min_length=1, max_length=40)
    subject: str = Field(max_length=300)
    description: str = Field(max_length=5000)
    policy_id: str | None = Field(default=None, max_length=40)
    payment_id: str | None = Field(default=None, max_length=40)
    claim_id: str | None = Field(default=None, max_length=40)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=5)


class CaseMessage(RequestModel):
    message: str = Field(max_length=5000)
    still_unresolved: bool = False


class CaseAcknowledge(RequestModel):
    message: str = Field(default="", max_length=5000)


class CaseResponse(RequestModel):
    message: str = Field(max_length=5000)
    internal: bool = False
    awaiting_customer: bool = False


class CaseEscalate(RequestModel):
    note: str = Field(max_length=2000)


class CaseResolve(RequestModel):
    outcome: str = Field(min_length=1, max_length=30)
    resolution: str = Field(max_length=5000)
    remedy_kind: str = Field(default="none", max_length=20)
    remedy_minor: int | None = Field(default=None, ge=0)
    refund_id: str | None = Field(default=None, max_length=40)
    reference: str | None = Field(default=None, max_length=80)


class CaseClose(RequestModel):
    final_response: str = Field(max_length=5000)

"""Request bodies of the cases API (responses are the dicts services.cases.service builds)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.cases.service import ATTACHMENT_TYPES, CATEGORIES, OUTCOMES, REMEDY_KINDS
from services.schemas_common import Flag, IdStr, MinorUnitsOrZero, RequestModel, one_of, text

# Who works a case (services.cases.models.Case.team).
Team = Literal["front_line", "supervisor", "legal"]


class AttachmentIn(RequestModel):
    filename: str = Field(min_length=1, max_length=200)
    media_type: str = one_of(*sorted(ATTACHMENT_TYPES))
    content_base64: str = Field(min_length=1, max_length=800_000)


class CaseCreate(RequestModel):
    kind: Literal["complaint", "dispute"]
    category: str = one_of(*CATEGORIES)
    subject: str = text(300, low=3, checked_by_service=True)
    description: str = text(5000, low=10, checked_by_service=True)
    policy_id: IdStr | None = None
    payment_id: IdStr | None = None
    claim_id: IdStr | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=5)


class CaseMessage(RequestModel):
    message: str = text(5000, low=2, checked_by_service=True)
    still_unresolved: Flag = False


class CaseAcknowledge(RequestModel):
    message: str = Field(default="", max_length=5000)


class CaseResponse(RequestModel):
    message: str = text(5000, low=2, checked_by_service=True)
    internal: Flag = False
    awaiting_customer: Flag = False


class CaseEscalate(RequestModel):
    note: str = text(2000, low=2, checked_by_service=True)


class CaseResolve(RequestModel):
    outcome: str = one_of(*OUTCOMES)
    resolution: str = text(5000, low=10, checked_by_service=True)
    remedy_kind: str = one_of(*REMEDY_KINDS, default="none")
    remedy_minor: MinorUnitsOrZero | None = None
    refund_id: IdStr | None = None
    reference: str | None = Field(default=None, max_length=80)


class CaseClose(RequestModel):
    final_response: str = text(5000, low=10, checked_by_service=True)

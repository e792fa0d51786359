"""HTTP for the supervisor's list of accounts being viewed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from services.api.deps import ActorDep, ContainerDep
from services.presence import service
from services.schemas_common import ResponseModel

router = APIRouter(tags=["staff"])


class StaffViewer(ResponseModel):
    user_id: str
    name: str
    role: str
    channel: str
    since: datetime


class OpenAccount(ResponseModel):
    account_id: str
    account_name: str
    staff: list[StaffViewer]
    customer_online: bool


class OpenAccounts(ResponseModel):
    accounts: list[OpenAccount]


@router.get(
    "/staff/open-accounts",
    response_model=OpenAccounts,
)
def open_accounts(actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Accounts agents and branch staff have open right now (supervisors)."""
    with c.db.read() as session:
        return {"accounts": service.open_accounts(session, actor, c.clock)}

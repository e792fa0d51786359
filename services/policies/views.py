"""HTTP for policies: the detail page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api.deps import ActorDep, ContainerDep
from services.policies import service
from services.policies.schemas import PolicyDetail

router = APIRouter(tags=["policies"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
}


@router.get("/policies/{policy_id}", response_model=PolicyDetail, responses=PROBLEMS)
def get_policy(policy_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Everything on one policy: term, money, people, vehicles or property, coverages."""
    with c.db.read() as session:
        return service.get_policy(session, actor, c.clock, policy_id=policy_id)

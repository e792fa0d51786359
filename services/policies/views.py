"""HTTP for policies: the detail page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api.deps import ActorDep, ContainerDep
from services.policies import service
from services.policies.schemas import PolicyDetail
from services.schemas_common import PathId

router = APIRouter(tags=["policies"])


@router.get("/policies/{policy_id}", response_model=PolicyDetail)
def get_policy(policy_id: PathId, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Everything on one policy: term, money, people, vehicles or property, coverages."""
    with c.db.read() as session:
        return service.get_policy(session, actor, c.clock, policy_id=policy_id)

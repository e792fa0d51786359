"""HTTP for staff customer search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import ActorDep, ContainerDep
from services.search import service
from services.search.schemas import CustomerSearch

router = APIRouter(tags=["staff"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    422: {"description": "Problem JSON"},
}


@router.get("/search/customers", response_model=CustomerSearch, responses=PROBLEMS)
def search_customers(
    actor: ActorDep,
    c: ContainerDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=service.MAX_RESULTS)] = 20,
) -> dict[str, Any]:
    """Customers by name, policy or claim number, phone, email or postcode (staff only)."""
    with c.db.read() as session:
        return service.search_customers(session, actor, query=q, limit=limit)

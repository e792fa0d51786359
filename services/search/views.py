"""HTTP for staff customer search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import ActorDep, ContainerDep
from services.schemas_common import page_size
from services.search import service
from services.search.schemas import CustomerSearch

router = APIRouter(tags=["staff"])
# The service refuses fewer than two letters or digits (search.query_too_short): say so.
SEARCHABLE = {"minLength": 2, "pattern": "[A-Za-z0-9][\\s\\S]*[A-Za-z0-9]"}


@router.get("/search/customers", response_model=CustomerSearch)
def search_customers(
    actor: ActorDep,
    c: ContainerDep,
    q: Annotated[str, Query(max_length=100, json_schema_extra=SEARCHABLE)],
    limit: Annotated[int, page_size(service.MAX_RESULTS)] = 20,
) -> dict[str, Any]:
    """Customers by name, policy or claim number, phone, email or postcode (staff only)."""
    with c.db.read() as session:
        return service.search_customers(session, actor, query=q, limit=limit)

"""HTTP for internal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from services.api.deps import ActorDep, ContainerDep
from services.notes import service
from services.schemas_common import RequestModel, ResponseModel

router = APIRouter(tags=["staff"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
    422: {"description": "Problem JSON"},
}


class NoteCreate(RequestModel):
    # Length is checked by the service so the answer carries note.empty / note.too_long.
    body: str = Field(max_length=20_000)


class NoteOut(ResponseModel):
    id: str
    account_id: str
    author_name: str
    author_role: str
    channel: str
    branch_id: str | None
    body: str
    created_at: datetime


class NoteList(ResponseModel):
    notes: list[NoteOut]


@router.get("/accounts/{account_id}/notes", response_model=NoteList, responses=PROBLEMS)
def list_notes(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Internal notes on the account, newest first (staff only)."""
    with c.db.read() as session:
        notes = service.list_notes(session, actor, c.clock, account_id=account_id)
        return {"notes": [service.note_dict(n) for n in notes]}


@router.post("/accounts/{account_id}/notes", response_model=NoteOut, status_code=201, responses=PROBLEMS)
def add_note(account_id: str, body: NoteCreate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Add an internal note (staff only; audited as note.added)."""
    with c.db.write() as session:
        return service.note_dict(
            service.add_note(session, actor, c.clock, account_id=account_id, body=body.body)
        )

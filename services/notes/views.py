"""HTTP for internal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from services.api.deps import ActorDep, ContainerDep
from services.notes import service
from services.schemas_common import PathId, RequestModel, ResponseModel, text

router = APIRouter(tags=["staff"])


class NoteCreate(RequestModel):
    # Length is checked by the service so the answer carries note.empty / note.too_long.
    body: str = text(20_000, low=1, checked_by_service=True)


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


@router.get("/accounts/{account_id}/notes", response_model=NoteList)
def list_notes(account_id: PathId, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Internal notes on the account, newest first (staff only)."""
    with c.db.read() as session:
        notes = service.list_notes(session, actor, c.clock, account_id=account_id)
        return {"notes": [service.note_dict(n) for n in notes]}


@router.post("/accounts/{account_id}/notes", response_model=NoteOut, status_code=201)
def add_note(account_id: PathId, body: NoteCreate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Add an internal note (staff only; audited as note.added)."""
    with c.db.write() as session:
        return service.note_dict(
            service.add_note(session, actor, c.clock, account_id=account_id, body=body.body)
        )

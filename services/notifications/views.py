"""HTTP for notifications: the customer's centre and choices, and the staff's delivery record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import ActorDep, ContainerDep
from services.notifications import schemas, service

router = APIRouter(tags=["notifications"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
    422: {"description": "Problem JSON"},
}


@router.get("/notifications", response_model=schemas.NotificationList, responses=PROBLEMS)
def list_notifications(
    actor: ActorDep,
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: datetime | None = None,
) -> dict[str, Any]:
    """The signed-in policyholder's notices, newest first, and how many are unread."""
    with c.db.read() as session:
        return service.list_notifications(session, actor, c.clock, limit=limit, before=before)


@router.post("/notifications/read", response_model=schemas.MarkedRead, responses=PROBLEMS)
def mark_read(body: schemas.MarkRead, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Mark the given notices (or all) read; audited as notification.read."""
    with c.db.write() as session:
        marked = service.mark_read(session, actor, c.clock, notification_ids=body.ids)
        unread = service.list_notifications(session, actor, c.clock, limit=1)["unread"]
    return {"marked": marked, "unread": unread}


@router.get("/notifications/preferences", response_model=schemas.Preferences, responses=PROBLEMS)
def get_preferences(actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Each notice type with its email and text settings, which ones are required, quiet hours."""
    with c.db.read() as session:
        return service.preferences_view(session, actor, c.clock)


@router.put("/notifications/preferences", response_model=schemas.Preferences, responses=PROBLEMS)
def set_preferences(body: schemas.PreferenceUpdate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Switch channels per type; refuses legally required ones with notification.required."""
    with c.db.write() as session:
        return service.set_preferences(
            session, actor, c.clock, changes=[ch.model_dump() for ch in body.changes]
        )


@router.get(
    "/accounts/{account_id}/notifications/deliveries", response_model=schemas.DeliveryList, responses=PROBLEMS
)
def account_deliveries(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Every notice delivery of an account with channel, address, state and result (staff)."""
    with c.db.read() as session:
        return {"deliveries": service.account_deliveries(session, actor, c.clock, account_id=account_id)}


@router.get("/notifications/sms-outbox", response_model=schemas.LocalSmsList, responses=PROBLEMS)
def sms_outbox(actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Texts kept by the embedded default's local SMS outbox, newest first (staff)."""
    with c.db.read() as session:
        return {"messages": service.local_sms_outbox(session, actor, c.clock)}

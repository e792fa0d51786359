"""HTTP and WebSocket for accounts, contact details, branch verification and the change feed."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from services.accounts import service
from services.accounts.schemas import (
    AccountOverview,
    BranchVerification,
    BranchVerifyRequest,
    ContactUpdate,
    EventPage,
    HolderOut,
)
from services.actor import Actor
from services.api.deps import ActorDep, ContainerDep, actor_from_token, bearer_token
from services.audit import service as audit
from services.bootstrap import Container
from services.errors import DomainError, NotFound, Unauthorized
from services.events.serialize import event_to_dict
from services.presence.runtime import PresenceRuntime
from services.presence.service import HEARTBEAT_SECONDS

router = APIRouter(tags=["accounts"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
}
BACKLOG_PAGE = 500


@router.get("/accounts/{account_id}", response_model=AccountOverview, responses=PROBLEMS)
def get_account(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """The account overview the policyholder, agent and branch desk all see."""
    # Staff opening an account is itself an audit event, so theirs is a write unit of work; a
    # customer's own overview is a plain read (on SQLite it then never queues behind writers).
    with c.db.write() if actor.is_staff else c.db.read() as session:
        return service.open_account(session, actor, c.clock, account_id=account_id)


@router.patch("/accounts/{account_id}/holders/{holder_id}", response_model=HolderOut, responses=PROBLEMS)
def update_contact(
    account_id: str, holder_id: str, body: ContactUpdate, actor: ActorDep, c: ContainerDep
) -> dict[str, Any]:
    """Change a holder's phone, email, address or postcode."""
    changes = body.model_dump(exclude_unset=True)
    with c.db.write() as session:
        holder = service.update_holder_contact(
            session, actor, c.clock, account_id=account_id, holder_id=holder_id, changes=changes
        )
        return service.holder_dict(holder)


@router.post("/branch/verify", response_model=BranchVerification, responses=PROBLEMS)
def verify_customer(body: BranchVerifyRequest, actor: ActorDep, c: ContainerDep) -> BranchVerification:
    """Branch staff verify the customer at the counter before acting for them."""
    with c.db.write() as session:
        outcome = service.verify_branch_customer(
            session,
            actor,
            c.clock,
            policy_number=body.policy_number,
            date_of_birth=body.date_of_birth,
            postcode=body.postcode,
        )
    if isinstance(outcome, DomainError):
        raise outcome  # after commit: failed checks are counted and audited
    return BranchVerification(
        verification_id=outcome.id,
        account_id=outcome.account_id,
        customer_name=outcome.customer_name,
        expires_at=outcome.expires_at,
    )


@router.get("/accounts/{account_id}/events", response_model=EventPage, responses=PROBLEMS)
def list_events(
    account_id: str,
    actor: ActorDep,
    c: ContainerDep,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """A page of the account's change log, oldest first, after `since`."""
    with c.db.read() as session:
        service.authorize_account(session, actor, c.clock, account_id)
        events = audit.list_account_events(session, account_id=account_id, since=since, limit=limit + 1)
    has_more = len(events) > limit
    events = events[:limit]
    return {
        "events": [event_to_dict(e) for e in events if _visible(actor, e.action)],
        "next_since": events[-1].seq if events else since,
        "has_more": has_more,
    }


# Internal notes are on the trail but for staff eyes only: customers never receive these events.
STAFF_ONLY_PREFIXES = ("note.",)


def _visible(actor: Actor, action: str) -> bool:
    return actor.is_staff or not action.startswith(STAFF_ONLY_PREFIXES)


def _authorize_feed(c: Container, token: str, account_id: str, address: str | None) -> Actor:
    actor = actor_from_token(c, token, request_id=None, client_address=address)
    with c.db.read() as session:
        service.authorize_account(session, actor, c.clock, account_id)
    return actor


def _backlog(c: Container, account_id: str, since: int) -> list[dict[str, Any]]:
    with c.db.read() as session:
        return [
            event_to_dict(e)
            for e in audit.list_account_events(
                session, account_id=account_id, since=since, limit=BACKLOG_PAGE
            )
        ]


@router.websocket("/accounts/{account_id}/events/live")
async def live_events(ws: WebSocket, account_id: str, since: int = 0, presence: bool = False) -> None:
    """Backlog after `since`, then every new event of the account as it commits.

    With `presence=true` the socket also carries `{"type": "presence"}` messages: who has the
    account open now. Every connection counts as presence either way.
    """
    want_presence = presence
    c: Container = ws.app.state.container
    await ws.accept()
    try:
        token = bearer_token(ws.headers.get("authorization"))
        actor = await asyncio.to_thread(
            _authorize_feed, c, token, account_id, ws.client.host if ws.client else None
        )
    except Unauthorized as exc:
        await ws.close(code=4401, reason=exc.code)
        return
    except DomainError as exc:
        await ws.close(code=4404 if isinstance(exc, NotFound) else 4403, reason=exc.code)
        return
    since = max(since, 0)

    async with c.hub.subscribe(account_id) as sub:
        # Subscribe before reading the backlog: anything committed in between is in the queue,
        # and the seq check below drops what the backlog already sent.
        reader = asyncio.create_task(_wait_for_disconnect(ws, sub.queue))
        presence_rt: PresenceRuntime = c.extras["presence"]  # type: ignore[assignment]
        presence_id: str | None = None
        beat: asyncio.Task[None] | None = None
        try:
            last = since
            while True:
                page = await asyncio.to_thread(_backlog, c, account_id, last)
                for event in page:
                    if _visible(actor, event["action"]):
                        await ws.send_json({"type": "event", "event": event})
                    last = event["seq"]
                if len(page) < BACKLOG_PAGE:
                    break
            await ws.send_json({"type": "ready", "last_seq": last})
            # Presence: everyone on the account (this subscriber included) gets the new list.
            presence_id = await presence_rt.join(actor, account_id)
            beat = asyncio.create_task(_heartbeat(presence_rt, presence_id))
            while True:
                delivery = await sub.queue.get()
                if delivery is None:
                    break  # disconnected, overflowed or shutting down: the client resumes with since
                if delivery.seq < 0:
                    if want_presence:  # a presence notice: not part of the log
                        await ws.send_text(delivery.wire)
                    continue
                if delivery.seq <= last:
                    continue
                if _visible(actor, delivery.event["action"]):  # type: ignore[index]
                    await ws.send_text(delivery.wire)
                last = delivery.seq
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            if beat is not None:
                beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if presence_id is not None:
                await presence_rt.leave(presence_id, account_id)
            if (
                ws.application_state == WebSocketState.CONNECTED
                and ws.client_state == WebSocketState.CONNECTED
            ):
                with contextlib.suppress(Exception):
                    await ws.close(code=1012 if sub.overflowed else 1001)


async def _heartbeat(presence: PresenceRuntime, presence_id: str) -> None:
    """Keep the presence row fresh; a row left by a crashed instance goes stale instead."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        with contextlib.suppress(Exception):
            await presence.heartbeat(presence_id)


async def _wait_for_disconnect(ws: WebSocket, queue: asyncio.Queue[Any]) -> None:
    """Clients only listen; any disconnect wakes the sender loop so it can finish."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except Exception:
        pass
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(None)

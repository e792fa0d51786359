"""HTTP for cases. The customer's routes hang off their account; staff tools live under /cases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.actor import Actor
from services.api.deps import ActorDep, ContainerDep
from services.api.openapi import binary, raises
from services.bootstrap import Container
from services.cases import service
from services.cases.dashboard import service_dashboard
from services.cases.schemas import (
    CaseAcknowledge,
    CaseClose,
    CaseCreate,
    CaseEscalate,
    CaseMessage,
    CaseResolve,
    CaseResponse,
    Team,
)
from services.errors import DomainError
from services.schemas_common import PathId

router = APIRouter(tags=["cases"])


def case_context(c: Container) -> service.CaseContext:
    ctx = c.extras.get("case_context")
    assert isinstance(ctx, service.CaseContext)
    return ctx


def _out(session: Any, case: Any, actor: Actor, c: Container) -> dict[str, Any]:
    return service.case_dict(session, case, c.clock, staff=actor.role != "policyholder")


# --- the customer's cases (staff reach them the same way, for the customer) --------------------


@router.post("/accounts/{account_id}/cases", status_code=201)
def open_case(account_id: PathId, body: CaseCreate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Raise a complaint or dispute; staff raise one for the customer during a call."""
    with c.db.write() as session:
        case = service.open_case(
            session,
            actor,
            c.clock,
            case_context(c),
            account_id=account_id,
            **body.model_dump(exclude={"attachments"}),
            attachments=[a.model_dump() for a in body.attachments],
        )
        return _out(session, case, actor, c)


@router.get("/accounts/{account_id}/cases")
def list_cases(account_id: PathId, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """An account's cases, newest first."""
    with c.db.read() as session:
        cases = service.list_cases(session, actor, c.clock, account_id=account_id)
        return {
            "cases": [_out(session, case, actor, c) for case in cases],
            # What the service accepts, so the app checks files before sending (never a copy).
            "limits": {
                "max_attachments": service.MAX_ATTACHMENTS,
                "max_attachment_bytes": service.MAX_ATTACHMENT_BYTES,
            },
        }


@router.get("/accounts/{account_id}/cases/{case_id}")
def get_case(account_id: PathId, case_id: PathId, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """One case: status, the next promised date, every response."""
    with c.db.read() as session:
        case = service.get_case(session, actor, c.clock, case_id=case_id, account_id=account_id)
        return _out(session, case, actor, c)


@router.get(
    "/accounts/{account_id}/cases/{case_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        **binary(*sorted(service.ATTACHMENT_TYPES), description="The attachment as uploaded"),
        500: {"description": "The stored attachment failed its integrity check (refused and recorded)"},
    },
)
def attachment(
    account_id: PathId, case_id: PathId, attachment_id: PathId, actor: ActorDep, c: ContainerDep
) -> Response:
    """The attachment's bytes, as uploaded."""
    with c.db.write() as session:  # write: a failed integrity check is recorded
        outcome = service.attachment_content(
            session,
            actor,
            c.clock,
            case_context(c),
            case_id=case_id,
            attachment_id=attachment_id,
            account_id=account_id,
        )
        if isinstance(outcome, DomainError):
            refusal = outcome
        else:
            att = outcome.attachment
            return Response(
                outcome.content,
                media_type=att.media_type,
                headers={
                    "Content-Disposition": f'attachment; filename="{att.id}"',
                    "X-Content-SHA256": att.sha256,
                },
            )
    raise refusal  # after commit: the failed integrity check stays on the record


@router.post("/accounts/{account_id}/cases/{case_id}/messages", responses=raises(409))
def customer_message(
    account_id: PathId, case_id: PathId, body: CaseMessage, actor: ActorDep, c: ContainerDep
) -> dict[str, Any]:
    """The customer writes about the case again (or an agent logs their call)."""
    with c.db.write() as session:
        case = service.record_contact(
            session,
            actor,
            c.clock,
            case_context(c),
            case_id=case_id,
            account_id=account_id,
            message=body.message,
            still_unresolved=body.still_unresolved,
        )
        return _out(session, case, actor, c)


# --- staff tools -------------------------------------------------------------------------------


@router.get("/cases/queue")
def queue(
    actor: ActorDep,
    c: ContainerDep,
    team: Annotated[Team | None, Query()] = None,
    overdue_only: bool = False,
) -> dict[str, Any]:
    """Open cases for staff, the most urgent promise first."""
    with c.db.read() as session:
        cases = service.case_queue(session, actor, c.clock, team=team, overdue_only=overdue_only)
        return {
            "cases": [_out(session, case, actor, c) for case in cases],
            # What the service accepts, so the app checks files before sending (never a copy).
            "limits": {
                "max_attachments": service.MAX_ATTACHMENTS,
                "max_attachment_bytes": service.MAX_ATTACHMENT_BYTES,
            },
        }


@router.get("/cases/dashboard")
def dashboard(
    actor: ActorDep, c: ContainerDep, days: Annotated[int, Query(ge=7, le=90)] = 14
) -> dict[str, Any]:
    """The supervisor's service figures (supervisors and administrators)."""
    with c.db.read() as session:
        return service_dashboard(session, actor, c.clock, days=days)


@router.post("/cases/{case_id}/acknowledge", responses=raises(409))
def acknowledge(case_id: PathId, body: CaseAcknowledge, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Staff acknowledge the case (the 24-hour commitment)."""
    with c.db.write() as session:
        case = service.acknowledge_case(session, actor, c.clock, case_id=case_id, message=body.message)
        return _out(session, case, actor, c)


@router.post("/cases/{case_id}/responses", responses=raises(409))
def respond(case_id: PathId, body: CaseResponse, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Staff reply to the customer, or add an internal note."""
    with c.db.write() as session:
        case = service.respond(session, actor, c.clock, case_id=case_id, **body.model_dump())
        return _out(session, case, actor, c)


@router.post("/cases/{case_id}/escalate", responses=raises(409))
def escalate(case_id: PathId, body: CaseEscalate, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Staff pass the case up (the front line lacks the authority)."""
    with c.db.write() as session:
        case = service.escalate_case(
            session, actor, c.clock, case_context(c), case_id=case_id, note=body.note
        )
        return _out(session, case, actor, c)


@router.post("/cases/{case_id}/resolution", responses=raises(409))
def resolve(case_id: PathId, body: CaseResolve, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Record the outcome and any refund or adjustment."""
    with c.db.write() as session:
        case = service.resolve_case(session, actor, c.clock, case_id=case_id, **body.model_dump())
        return _out(session, case, actor, c)


@router.post("/cases/{case_id}/final-response", responses=raises(409))
def close(case_id: PathId, body: CaseClose, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Send the final response and close the case."""
    with c.db.write() as session:
        case = service.close_case(
            session, actor, c.clock, case_id=case_id, final_response=body.final_response
        )
        return _out(session, case, actor, c)

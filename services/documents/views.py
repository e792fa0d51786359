"""HTTP for documents (list, PDF content) and ID cards (list, public verification)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.api.deps import ActorDep, ContainerDep
from services.bootstrap import Container
from services.documents import service
from services.documents.schemas import CardVerification, DocumentList, IdCardList
from services.errors import DomainError
from services.idcards import service as idcards
from services.signing import SigningKey

router = APIRouter(tags=["documents"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
}


def signing_key(c: Container) -> SigningKey:
    key = c.extras["idcard_key"]
    assert isinstance(key, SigningKey)
    return key


@router.get("/policies/{policy_id}/documents", response_model=DocumentList, responses=PROBLEMS)
def list_policy_documents(policy_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """The policy's documents, newest first; any that are due are generated first."""
    # A write unit of work: the first list of a term issues its documents (audited).
    with c.db.write() as session:
        docs = service.list_policy_documents(session, actor, c.clock, signing_key(c), policy_id=policy_id)
    return {"documents": docs}


@router.get("/accounts/{account_id}/documents", response_model=DocumentList, responses=PROBLEMS)
def list_account_documents(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """Every document on the account, newest first."""
    with c.db.write() as session:
        docs = service.list_account_documents(session, actor, c.clock, signing_key(c), account_id=account_id)
    return {"documents": docs}


@router.get(
    "/documents/{document_id}/content",
    responses={**PROBLEMS, 200: {"content": {"application/pdf": {}}}, 500: {"description": "Problem JSON"}},
    response_class=Response,
)
def document_content(
    document_id: str,
    actor: ActorDep,
    c: ContainerDep,
    disposition: Annotated[str, Query(pattern="^(inline|attachment)$")] = "inline",
) -> Response:
    """The PDF itself; `inline` is audited as document.viewed, `attachment` as document.downloaded."""
    with c.db.write() as session:
        outcome = service.open_document(
            session, actor, c.clock, document_id=document_id, disposition=disposition
        )
    if isinstance(outcome, DomainError):
        raise outcome  # after commit: the failed integrity check stays on the record
    info = outcome.document
    return Response(
        content=outcome.content,
        media_type=info["media_type"],
        headers={
            "Content-Disposition": f'{disposition}; filename="{info["file_name"]}"',
            "X-Content-SHA256": info["sha256"],
            "Cache-Control": "no-store",
        },
    )


@router.get("/accounts/{account_id}/id-cards", response_model=IdCardList, responses=PROBLEMS)
def list_id_cards(account_id: str, actor: ActorDep, c: ContainerDep) -> dict[str, Any]:
    """The ID cards to carry now, one per vehicle on each in-force auto policy."""
    with c.db.write() as session:
        cards = service.list_id_cards(session, actor, c.clock, signing_key(c), account_id=account_id)
    return {"id_cards": cards}


@router.get("/id-cards/verify", response_model=CardVerification)
def verify_id_card(
    c: ContainerDep, code: Annotated[str, Query(min_length=1, max_length=2000)]
) -> dict[str, Any]:
    """Public: is the card with this QR code valid, expired, revoked or forged? No sign-in needed."""
    with c.db.read() as session:
        return idcards.verify_card_code(session, c.clock, signing_key(c), code=code)

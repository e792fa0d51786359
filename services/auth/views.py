"""HTTP for sign-in, refresh, sign-out and /me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.api.deps import ActorDep, ContainerDep, client_address, request_id
from services.api.openapi import raises
from services.auth import service
from services.auth.models import User
from services.auth.schemas import Me, RefreshRequest, SignInRequest, TokenPairOut
from services.errors import DomainError, Unauthorized

router = APIRouter(tags=["auth"])


def me_for(session: Session, user: User) -> Me:
    accounts = session.execute(
        Account.__table__.select()
        .with_only_columns(Account.id, Account.name)
        .join(AccountHolder, AccountHolder.account_id == Account.id)
        .where(AccountHolder.user_id == user.id)
        .order_by(Account.name)
    ).all()
    return Me(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        branch_id=user.branch_id,
        accounts=[{"id": a.id, "name": a.name} for a in accounts],
    )


def _pair_out(session: Session, pair: service.TokenPair) -> TokenPairOut:
    return TokenPairOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=me_for(session, pair.user),
    )


@router.post("/auth/sign-in", response_model=TokenPairOut, responses=raises(401, 423, 429))
def sign_in(body: SignInRequest, request: Request, c: ContainerDep) -> TokenPairOut:
    """Email + password -> access and refresh tokens."""
    with c.db.write() as session:
        outcome = service.sign_in(
            session,
            c.auth,
            email=body.email,
            password=body.password,
            client_address=client_address(request),
            request_id=request_id(request),
        )
        result = None if isinstance(outcome, DomainError) else _pair_out(session, outcome)
    # Raised after commit so failures, throttle counters and their audit events are kept.
    if isinstance(outcome, DomainError):
        raise outcome
    assert result is not None
    return result


@router.post("/auth/refresh", response_model=TokenPairOut, responses=raises(401))
def refresh(body: RefreshRequest, request: Request, c: ContainerDep) -> TokenPairOut:
    """Rotate the refresh token."""
    with c.db.write() as session:
        outcome = service.refresh(
            session,
            c.auth,
            refresh_token=body.refresh_token,
            client_address=client_address(request),
            request_id=request_id(request),
        )
        result = None if isinstance(outcome, DomainError) else _pair_out(session, outcome)
    if isinstance(outcome, DomainError):
        raise outcome
    assert result is not None
    return result


@router.post("/auth/sign-out", status_code=204, response_class=Response, responses=raises(401))
def sign_out(body: RefreshRequest, request: Request, c: ContainerDep) -> Response:
    """Revoke the session the refresh token belongs to."""
    with c.db.write() as session:
        service.sign_out(
            session,
            c.auth,
            refresh_token=body.refresh_token,
            client_address=client_address(request),
            request_id=request_id(request),
        )
    return Response(status_code=204)


@router.get("/me", response_model=Me)
def me(actor: ActorDep, c: ContainerDep) -> Me:
    """The signed-in user and the accounts they hold."""
    with c.db.read() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise Unauthorized("auth.token_invalid", "Your session has ended. Please sign in again.")
        return me_for(session, user)

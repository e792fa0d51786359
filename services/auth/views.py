"""HTTP for sign-in, refresh, sign-out and /me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.api.deps import ActorDep, ContainerDep, client_address, request_id
from services.auth import oidc_service, service
from services.auth.models import User
from services.auth.oidc import OidcProvider, check_loopback_redirect
from services.auth.schemas import (
    Me,
    OidcConfigOut,
    OidcExchangeRequest,
    OidcSignOutOut,
    OidcStartOut,
    OidcStartRequest,
    RefreshRequest,
    SignInRequest,
    TokenPairOut,
)
from services.bootstrap import Container
from services.errors import DomainError, NotFound, Unauthorized

router = APIRouter(tags=["auth"])

PROBLEMS = {
    401: {"description": "Problem JSON"},
    422: {"description": "Problem JSON"},
    429: {"description": "Problem JSON"},
}


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


@router.post("/auth/sign-in", response_model=TokenPairOut, responses=PROBLEMS)
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


@router.post("/auth/refresh", response_model=TokenPairOut, responses=PROBLEMS)
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


@router.post("/auth/sign-out", status_code=204, response_class=Response, responses=PROBLEMS)
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


@router.get("/me", response_model=Me, responses=PROBLEMS)
def me(actor: ActorDep, c: ContainerDep) -> Me:
    """The signed-in user and the accounts they hold."""
    with c.db.read() as session:
        user = session.get(User, actor.user_id)
        if user is None:
            raise Unauthorized("auth.token_invalid", "Your session has ended. Please sign in again.")
        return me_for(session, user)


# --- single sign-on (OpenID Connect) -----------------------------------------------------------

OIDC_PROBLEMS = {
    **PROBLEMS,
    400: {"description": "Problem JSON"},
    403: {"description": "Problem JSON"},
    404: {"description": "Problem JSON"},
    503: {"description": "Problem JSON"},
}


def _oidc(c: Container) -> OidcProvider:
    provider = c.extras.get("oidc")
    if not isinstance(provider, OidcProvider):
        raise NotFound("auth.oidc_disabled", "Single sign-on is not offered by this Portal service.")
    return provider


@router.get("/auth/oidc/config", response_model=OidcConfigOut)
def oidc_config(c: ContainerDep) -> OidcConfigOut:
    """Whether single sign-on is offered, through whom, and whether staff may still use passwords."""
    provider = c.extras.get("oidc")
    enabled = isinstance(provider, OidcProvider)
    return OidcConfigOut(
        enabled=enabled,
        provider_name=provider.display_name if isinstance(provider, OidcProvider) else None,
        staff_password_sign_in=c.settings.staff_password_sign_in,
        loopback_port=c.settings.oidc_loopback_port,
    )


@router.post("/auth/oidc/start", response_model=OidcStartOut, responses=OIDC_PROBLEMS)
def oidc_start(body: OidcStartRequest, c: ContainerDep) -> OidcStartOut:
    """The provider's authorization URL (code + PKCE S256) and the signed state for this sign-in."""
    provider = _oidc(c)
    check_loopback_redirect(body.redirect_uri)
    return OidcStartOut(
        **oidc_service.start_sign_in(
            provider, redirect_uri=body.redirect_uri, code_challenge=body.code_challenge
        )
    )


@router.post("/auth/oidc/exchange", response_model=TokenPairOut, responses=OIDC_PROBLEMS)
def oidc_exchange(body: OidcExchangeRequest, request: Request, c: ContainerDep) -> TokenPairOut:
    """Authorization code + PKCE verifier (or an ID token) + state -> a portal session."""
    provider = _oidc(c)
    with c.db.write() as session:
        outcome = oidc_service.exchange(
            session,
            c.auth,
            provider,
            state=body.state,
            code_verifier=body.code_verifier,
            redirect_uri=body.redirect_uri,
            code=body.code,
            id_token=body.id_token,
            client_address=client_address(request),
            request_id=request_id(request),
        )
        result = None if isinstance(outcome, DomainError) else _pair_out(session, outcome)
    # Raised after commit: the refusal's audit event is kept, nothing else was written.
    if isinstance(outcome, DomainError):
        raise outcome
    assert result is not None
    return result


@router.post("/auth/oidc/sign-out", response_model=OidcSignOutOut, responses=OIDC_PROBLEMS)
def oidc_sign_out(body: RefreshRequest, request: Request, c: ContainerDep) -> OidcSignOutOut:
    """End the portal session; answer the provider's end-session URL for the browser."""
    provider = _oidc(c)
    with c.db.write() as session:
        url = oidc_service.sso_sign_out(
            session,
            c.auth,
            provider,
            refresh_token=body.refresh_token,
            client_address=client_address(request),
            request_id=request_id(request),
        )
    return OidcSignOutOut(end_session_url=url)

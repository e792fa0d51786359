"""Single sign-on: a validated ID token becomes a portal session; identities link once, by `sub`.

The rules: the groups claim decides the role (no claim at all: a customer); a provider
identity is linked to an existing portal user once, through a verified email, and never
creates an account; staff must have used a second factor; every sign-in, link, refusal and
sign-out is on the audit trail with the provider's `sub`, `amr` and `acr` (never a token).
Refusals are *returned* so the view commits their audit event, then raises them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.auth.models import STAFF_ROLES, RefreshToken, User
from services.auth.oidc import (
    ROLES_BY_RANK,
    STATE_TTL_SECONDS,
    IdClaims,
    OidcProvider,
    OidcRefusal,
    forbidden,
)
from services.auth.oidc_models import OidcIdentity, OidcSpentState
from services.auth.service import (
    AuthContext,
    TokenPair,
    _audit_on_user_chains,
    _digest,
    _issue_pair,
    actor_for,
    sign_out,
)
from services.db.base import new_id

SSO_FAMILY_PREFIX = "sso"


def role_for(claims: IdClaims, role_map: dict[str, str]) -> str:
    """The portal role the provider's groups claim gives; no groups claim at all is a customer."""
    if claims.groups is None or not claims.groups:
        return "policyholder"
    roles = {role_map[g] for g in claims.groups if g in role_map}
    if not roles:
        raise forbidden(
            "auth.oidc_role_unmapped",
            "Your groups at the identity provider give you no role in Portal. Ask your administrator.",
            claims,
        )
    return max(roles, key=ROLES_BY_RANK.index)


def has_second_factor(claims: IdClaims, provider: OidcProvider) -> bool:
    s = provider.settings
    wanted_amr = {v.strip() for v in s.oidc_staff_amr.split(",") if v.strip()}
    wanted_acr = {v.strip() for v in s.oidc_staff_acr.split(",") if v.strip()}
    return bool(wanted_amr.intersection(claims.amr)) or (claims.acr is not None and claims.acr in wanted_acr)


def start_sign_in(provider: OidcProvider, *, redirect_uri: str, code_challenge: str) -> dict[str, str]:
    """The authorization URL the desktop opens in the browser, with its signed state."""
    state, body = provider.states.issue(redirect_uri=redirect_uri, code_challenge=code_challenge)
    url = provider.authorization_url(
        state=state, nonce=body.nonce, redirect_uri=redirect_uri, code_challenge=code_challenge
    )
    return {"authorization_url": url, "state": state}


def exchange(
    session: Session,
    ctx: AuthContext,
    provider: OidcProvider,
    *,
    state: str | None,
    code_verifier: str,
    redirect_uri: str,
    code: str | None,
    id_token: str | None,
    client_address: str | None,
    request_id: str | None,
) -> TokenPair | OidcRefusal:
    """Check the state, redeem the code (or take the ID token), validate it, sign the person in."""
    anonymous = Actor(
        user_id=None, role="anonymous", channel="portal", request_id=request_id, client_address=client_address
    )
    user: User | None = None
    link: OidcIdentity | None = None
    try:
        signed = provider.states.check(state, code_verifier=code_verifier, redirect_uri=redirect_uri)
        token = id_token or provider.redeem_code(
            code=code or "", code_verifier=code_verifier, redirect_uri=redirect_uri
        )
        claims = provider.validate(token, nonce=signed.nonce)
        if session.get(OidcSpentState, signed.state_id) is not None:
            raise forbidden(
                "auth.oidc_state_used", "This sign-in was already used. Please start again.", claims
            )
        role = role_for(claims, provider.role_map)
        link = session.scalar(
            select(OidcIdentity).where(
                OidcIdentity.issuer == provider.issuer, OidcIdentity.subject == claims.subject
            )
        )
        user = session.get(User, link.user_id) if link else _user_to_link(session, provider, claims)
        assert user is not None
        _check_user(user, role, claims, provider)
    except OidcRefusal as refused:
        _audit_on_user_chains(
            session,
            actor_for(user, request_id=request_id, client_address=client_address) if user else anonymous,
            ctx.clock,
            user,
            action="auth.oidc_refused",
            outcome="denied",
            after={"reason": refused.code, **_audit_claims(refused.claims)},
        )
        return refused
    actor = actor_for(user, request_id=request_id, client_address=client_address)
    now = ctx.clock.now()
    if link is None:
        link = OidcIdentity(
            id=new_id("oid"),
            issuer=provider.issuer,
            subject=claims.subject,
            user_id=user.id,
            linked_email=claims.email or "",
            linked_at=now,
        )
        session.add(link)
        _audit_on_user_chains(
            session,
            actor,
            ctx.clock,
            user,
            action="auth.oidc_linked",
            outcome="success",
            after={"issuer": provider.issuer, "email": claims.email, **claims.audit()},
        )
    link.last_sign_in_at, link.last_amr, link.last_acr = now, list(claims.amr), claims.acr
    # A spent state is only worth keeping while it could still be presented.
    session.execute(
        delete(OidcSpentState).where(OidcSpentState.spent_at < now - timedelta(seconds=STATE_TTL_SECONDS))
    )
    session.add(OidcSpentState(state_id=signed.state_id, spent_at=now))
    # The family prefix marks a session that came through the provider (sign-out reads it).
    pair = _issue_pair(session, ctx, user, family_id=new_id(SSO_FAMILY_PREFIX))
    _audit_on_user_chains(
        session,
        actor,
        ctx.clock,
        user,
        action="auth.oidc_signed_in",
        outcome="success",
        after={"issuer": provider.issuer, "email": user.email, "role": user.role, **claims.audit()},
    )
    return pair


def _audit_claims(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: claims.get(k) for k in ("sub", "amr", "acr", "email") if k in claims}


def _user_to_link(session: Session, provider: OidcProvider, claims: IdClaims) -> User:
    """First SSO sign-in: the portal user with this verified email, never a new account."""
    if not claims.email or not claims.email_verified:
        raise forbidden(
            "auth.oidc_email_unverified",
            "Your email address is not verified at the identity provider, so we cannot match it to "
            "your Portal account. Verify it there, then try again.",
            claims,
        )
    user = session.scalar(select(User).where(User.email == claims.email))
    if user is None:
        raise forbidden(
            "auth.oidc_unknown_identity",
            "We have no Portal account for this sign-in. Sign in with your Portal password, or call us.",
            claims,
        )
    already = session.scalar(
        select(OidcIdentity.id).where(OidcIdentity.issuer == provider.issuer, OidcIdentity.user_id == user.id)
    )
    if already is not None:
        raise forbidden(
            "auth.oidc_already_linked",
            "Your Portal account is already linked to another identity at this provider.",
            claims,
        )
    return user


def _check_user(user: User, role: str, claims: IdClaims, provider: OidcProvider) -> None:
    if user.disabled:
        raise forbidden("auth.oidc_account_disabled", "This Portal account is disabled.", claims)
    if user.role != role:
        raise forbidden(
            "auth.oidc_role_mismatch",
            "Your role at the identity provider does not match your Portal account. Ask your administrator.",
            claims,
        )
    if user.role in STAFF_ROLES and not has_second_factor(claims, provider):
        raise forbidden(
            "auth.oidc_second_factor_required",
            "Staff must sign in with a second factor (an authenticator code or a security key).",
            claims,
        )


def sso_sign_out(
    session: Session,
    ctx: AuthContext,
    provider: OidcProvider,
    *,
    refresh_token: str,
    client_address: str | None,
    request_id: str | None,
) -> str | None:
    """End the session (as /auth/sign-out does); for an SSO session, audit it and give the end-session URL."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    through_provider = (
        row is not None and row.revoked_at is None and row.family_id.startswith(SSO_FAMILY_PREFIX + "_")
    )
    link = (
        session.scalar(
            select(OidcIdentity).where(
                OidcIdentity.issuer == provider.issuer, OidcIdentity.user_id == row.user_id
            )
        )
        if through_provider and row is not None
        else None
    )
    sign_out(session, ctx, refresh_token=refresh_token, client_address=client_address, request_id=request_id)
    if not through_provider:
        return None  # a password session: the provider has nothing to end
    user = session.get(User, link.user_id) if link else None
    if link is not None and user is not None:
        _audit_on_user_chains(
            session,
            actor_for(user, request_id=request_id, client_address=client_address),
            ctx.clock,
            user,
            action="auth.oidc_signed_out",
            outcome="success",
            after={
                "issuer": provider.issuer,
                "sub": link.subject,
                "amr": link.last_amr,
                "acr": link.last_acr,
            },
        )
    return provider.end_session_url()

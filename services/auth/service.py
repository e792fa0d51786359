"""Sign-in, token refresh and sign-out, with throttling, lockout and an audited trail."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, event, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.accounts.models import AccountHolder
from services.actor import CHANNEL_BY_ROLE, Actor
from services.audit import service as audit
from services.auth.models import STAFF_ROLES, RefreshToken, SignInThrottle, User
from services.auth.passwords import hash_password, verify_password
from services.auth.tokens import AccessClaims, AccessTokens, SignedInUser, SignInCache
from services.clock import Clock
from services.config import ServiceSettings
from services.db.base import new_id
from services.errors import DomainError, Forbidden, Unauthorized


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@dataclass(frozen=True)
class AuthContext:
    """What sign-in and refresh need besides the session; built once by bootstrap."""

    clock: Clock
    settings: ServiceSettings
    tokens: AccessTokens
    # Live and revoked sign-ins, so the per-request token check needs no database round trip.
    sign_ins: SignInCache = field(default_factory=SignInCache)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def actor_for(user: User, *, request_id: str | None = None, client_address: str | None = None) -> Actor:
    """The Actor a signed-in user acts as."""
    signed_in = SignedInUser(user.id, user.role, user.full_name, user.branch_id)
    return signed_in_actor(signed_in, request_id=request_id, client_address=client_address)


def signed_in_actor(
    user: SignedInUser, *, request_id: str | None = None, client_address: str | None = None
) -> Actor:
    """The Actor of a sign-in, from the user facts the token check keeps (no ORM object needed)."""
    return Actor(
        user_id=user.user_id,
        role=user.role,
        name=user.name,
        channel=CHANNEL_BY_ROLE.get(user.role, "portal"),
        branch_id=user.branch_id,
        request_id=request_id,
        client_address=client_address,
    )


def create_user(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    email: str,
    full_name: str,
    role: str,
    password: str | None = None,
    password_hash: str | None = None,
    branch_id: str | None = None,
) -> User:
    """Create a sign-in from a password (or an argon2 hash of one); audited on the system chain."""
    if (password is None) == (password_hash is None):
        raise ValueError("give exactly one of password and password_hash")
    user = User(
        id=new_id("usr"),
        email=normalise_email(email),
        full_name=full_name,
        role=role,
        password_hash=password_hash or hash_password(password or ""),
        branch_id=branch_id,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        clock,
        action="user.created",
        account_id=None,
        entity_type="user",
        entity_id=user.id,
        after={"email": user.email, "role": role, "full_name": full_name},
    )
    return user


def account_ids_of(session: Session, user_id: str) -> list[str]:
    return list(
        session.scalars(
            select(AccountHolder.account_id)
            .where(AccountHolder.user_id == user_id)
            .order_by(AccountHolder.account_id)
        )
    )


# --- throttling ---------------------------------------------------------------------------


class _Throttle:
    """Failure counting for one key: doubling waits after a few failures, then a lock."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        key: str,
        throttle_after: int,
        lock_after: int,
        lock_seconds: int,
    ) -> None:
        self.session, self.clock, self.key = session, clock, key
        self.throttle_after, self.lock_after, self.lock_seconds = throttle_after, lock_after, lock_seconds

    def _row(self) -> SignInThrottle | None:
        return self.session.get(SignInThrottle, self.key, with_for_update=True)

    def refusal(self) -> DomainError | None:
        """The error to answer with before even checking the password, or None."""
        row = self._row()
        if row is None:
            return None
        now = self.clock.now()
        if row.locked_until and row.locked_until > now:
            wait = math.ceil((row.locked_until - now).total_seconds())
            return DomainError(
                "auth.locked",
                f"Too many failed attempts. Sign-in is locked; try again in {_human(wait)}.",
                status=423,
                retry_after=wait,
            )
        if row.locked_until and row.locked_until <= now:
            row.failures, row.locked_until = 0, None
            return None
        if row.failures >= self.throttle_after and row.last_failure_at:
            ready = row.last_failure_at + timedelta(seconds=self._backoff(row.failures))
            if ready > now:
                wait = math.ceil((ready - now).total_seconds())
                return DomainError(
                    "auth.throttled",
                    f"Too many failed attempts. Please wait {_human(wait)} before trying again.",
                    status=429,
                    retry_after=wait,
                )
        return None

    def _backoff(self, failures: int) -> int:
        return min(2 ** (failures - self.throttle_after), 60)

    def fail(self) -> None:
        now = self.clock.now()
        row = self._row()
        if row is None:
            row = SignInThrottle(key=self.key, failures=0)
            self.session.add(row)
        elif row.last_failure_at and now - row.last_failure_at > timedelta(seconds=self.lock_seconds):
            row.failures = 0  # an old streak of failures is forgiven
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= self.lock_after:
            row.locked_until = now + timedelta(seconds=self.lock_seconds)

    def clear(self) -> None:
        row = self._row()
        if row is not None:
            self.session.delete(row)


def _human(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _throttles(session: Session, ctx: AuthContext, email: str, client_address: str | None) -> list[_Throttle]:
    s = ctx.settings
    throttles = [
        _Throttle(session, ctx.clock, f"user:{email}", s.throttle_after, s.lock_after, s.lock_seconds)
    ]
    if client_address:
        # An address is shared by whole offices: allow it more failures than one user.
        throttles.append(
            _Throttle(
                session,
                ctx.clock,
                f"ip:{client_address}",
                s.throttle_after * 4,
                s.lock_after * 4,
                s.lock_seconds,
            )
        )
    _lock_counters(session, [t.key for t in throttles])
    return throttles


def _lock_counters(session: Session, keys: list[str]) -> None:
    """Create the missing counters and lock them all, always in key order, before any check."""
    # A burst of first failures used to insert the same key twice (a 500) and to take the user and
    # address rows in different orders (PostgreSQL deadlocks): insert-if-missing, then lock sorted.
    keys = sorted(set(keys))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Rows alone still deadlocked under bursts (a new counter row is locked by its insert
        # before the sorted FOR UPDATE): attempts on the same counters first queue on advisory
        # locks, taken in key order and held to commit, so they never hold rows in two orders.
        for key in keys:
            session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    if dialect in ("postgresql", "sqlite"):
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(SignInThrottle)
            .values([{"key": k, "failures": 0} for k in keys])
            .on_conflict_do_nothing(index_elements=["key"])
        )
    session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.key.in_(keys))
        .order_by(SignInThrottle.key)
        .with_for_update()
    ).all()


# --- sign-in, refresh, sign-out --------------------------------------------------------------


def _audit_on_user_chains(
    session: Session,
    actor: Actor,
    clock: Clock,
    user: User | None,
    *,
    action: str,
    outcome: str,
    after: dict[str, object],
) -> None:
    """Record an auth event on each account the user holds (so disputes see sign-ins), else system."""
    accounts = account_ids_of(session, user.id) if user and user.role == "policyholder" else []
    for account_id in accounts or (None,):
        audit.record(
            session,
            actor,
            clock,
            action=action,
            account_id=account_id,
            entity_type="user",
            entity_id=user.id if user else None,
            after=after,
            outcome=outcome,
        )


def sign_in(
    session: Session,
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    client_address: str | None,
    request_id: str | None,
) -> TokenPair | DomainError:
    """Check the password under throttling. Returns tokens, or the error to raise after commit."""
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.email == email))
    attempt_actor = (
        actor_for(user, request_id=request_id, client_address=client_address)
        if user
        else Actor(
            user_id=None,
            role="anonymous",
            channel="portal",
            request_id=request_id,
            client_address=client_address,
        )
    )
    throttles = _throttles(session, ctx, email, client_address)
    for throttle in throttles:
        refusal = throttle.refusal()
        if refusal is not None:
            _audit_on_user_chains(
                session,
                attempt_actor,
                ctx.clock,
                user,
                action="auth.sign_in_refused",
                outcome="denied",
                after={"email": email, "reason": refusal.code},
            )
            return refusal
    if user is not None and user.role in STAFF_ROLES and not ctx.settings.staff_password_sign_in:
        # This deployment lets staff in only through the identity provider (with its second factor).
        _audit_on_user_chains(
            session,
            attempt_actor,
            ctx.clock,
            user,
            action="auth.sign_in_refused",
            outcome="denied",
            after={"email": email, "reason": "auth.password_sign_in_disabled"},
        )
        return Forbidden(
            "auth.password_sign_in_disabled",
            "Staff sign in with the company login here: use the single sign-on button.",
        )
    if user is None or user.disabled or not verify_password(user.password_hash if user else None, password):
        for throttle in throttles:
            throttle.fail()
        _audit_on_user_chains(
            session,
            attempt_actor,
            ctx.clock,
            user,
            action="auth.sign_in_failed",
            outcome="failure",
            after={"email": email, "reason": "disabled" if user and user.disabled else "invalid_credentials"},
        )
        refusal = throttles[0].refusal()
        if refusal is not None and refusal.code == "auth.locked":
            return refusal
        return Unauthorized("auth.invalid_credentials", "The email or password is not right.")
    throttles[0].clear()
    pair = _issue_pair(session, ctx, user, family_id=new_id("fam"))
    _audit_on_user_chains(
        session,
        attempt_actor,
        ctx.clock,
        user,
        action="auth.signed_in",
        outcome="success",
        after={"email": email},
    )
    return pair


def _issue_pair(session: Session, ctx: AuthContext, user: User, *, family_id: str) -> TokenPair:
    now = ctx.clock.now()
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            id=new_id("rtk"),
            user_id=user.id,
            family_id=family_id,
            token_hash=_digest(refresh),
            issued_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds),
        )
    )
    access = ctx.tokens.issue(AccessClaims(user.id, user.role, user.full_name, user.branch_id, family_id))
    return TokenPair(access, refresh, ctx.tokens.ttl_seconds, user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def refresh(
    session: Session,
    ctx: AuthContext,
    *,
    refresh_token: str,
    client_address: str | None,
    request_id: str | None,
) -> TokenPair | DomainError:
    """Rotate a refresh token. Replaying a used one revokes its whole family (theft signal)."""
    now = ctx.clock.now()
    row = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)).with_for_update()
    )
    invalid = Unauthorized("auth.refresh_invalid", "Your session has ended. Please sign in again.")
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return invalid
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return invalid
    actor = actor_for(user, request_id=request_id, client_address=client_address)
    if row.used_at is not None:
        _revoke_family(session, ctx, row.family_id, now)
        _audit_on_user_chains(
            session,
            actor,
            ctx.clock,
            user,
            action="auth.refresh_reused",
            outcome="denied",
            after={"family_id": row.family_id},
        )
        return Unauthorized(
            "auth.refresh_reused",
            "This session was used from somewhere else, so we signed it out everywhere. "
            "Please sign in again.",
        )
    row.used_at = now
    return _issue_pair(session, ctx, user, family_id=row.family_id)


def sign_out(
    session: Session,
    ctx: AuthContext,
    *,
    refresh_token: str,
    client_address: str | None,
    request_id: str | None,
) -> None:
    """Revoke the refresh token's family. Unknown tokens are ignored (sign-out always succeeds)."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    if row is None or row.revoked_at is not None:
        return
    _revoke_family(session, ctx, row.family_id, ctx.clock.now())
    user = session.get(User, row.user_id)
    if user is not None:
        _audit_on_user_chains(
            session,
            actor_for(user, request_id=request_id, client_address=client_address),
            ctx.clock,
            user,
            action="auth.signed_out",
            outcome="success",
            after={},
        )


def _revoke_family(session: Session, ctx: AuthContext, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    # Access tokens of this family die at commit: the after-commit hook drops the sign-in from
    # this instance's cache. (Only single-instance deployments cache, see SignInCache.)
    event.listen(session, "after_commit", lambda _s: ctx.sign_ins.revoke(family_id), once=True)


def family_revoked_clause(family_id: str) -> ColumnElement[bool]:
    """A boolean column: has this sign-in (refresh family) been revoked? Labelled `revoked`."""
    return (
        exists()
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
        .label("revoked")
    )

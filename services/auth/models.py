"""Users, refresh-token families, sign-in throttles, branches and branch verifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

ROLES = ("policyholder", "agent", "branch_staff", "supervisor", "admin")
STAFF_ROLES = frozenset({"agent", "branch_staff", "supervisor", "admin"})


class Branch(Base):
    __tablename__ = "branches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One issued refresh token. Tokens of one sign-in share a family; a replay revokes it."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    # SHA-256 of the token: the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class SignInThrottle(Base):
    """Failure counter per key ("user:<email>", "ip:<address>", "verify:<staff id>")."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class BranchVerification(Base):
    """Branch staff proved who the customer at the counter is; valid until expires_at."""

    __tablename__ = "branch_verifications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    holder_id: Mapped[str] = mapped_column(ForeignKey("account_holders.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

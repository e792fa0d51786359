"""Links from an identity at the insurer's OpenID provider to a portal user, and spent states."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime


class OidcIdentity(Base):
    """One provider identity (issuer + `sub`) linked once to one portal user; never re-pointed."""

    __tablename__ = "oidc_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),
        UniqueConstraint("issuer", "user_id", name="uq_oidc_identities_issuer_user"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # The verified address that proved the link, as the provider stated it then.
    linked_email: Mapped[str] = mapped_column(String(320))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # How the person authenticated last time (RFC 8176 amr values, acr): for sign-out's audit.
    last_amr: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    last_acr: Mapped[str | None] = mapped_column(String(200), default=None)


class OidcSpentState(Base):
    """A sign-in `state` that already produced a session: the same one never works twice."""

    __tablename__ = "oidc_spent_states"

    state_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

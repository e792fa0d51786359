"""The append-only audit trail and the head of each hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, BigIntPK, UTCDateTime

SYSTEM_CHAIN = "system"  # events with no account (staff sign-ins, unknown-user failures)


class AuditEvent(Base):
    """One immutable event. Database triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_account_seq", "account_id", "seq"),
        Index("ix_audit_events_chain", "chain_key", "chain_index", unique=True),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    chain_key: Mapped[str] = mapped_column(String(40))
    chain_index: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    on_behalf_of: Mapped[str | None] = mapped_column(String(40), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40), default=None)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    client_address: Mapped[str | None] = mapped_column(String(64), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The newest event of one chain; its row lock serialises writers of that chain."""

    __tablename__ = "audit_chain_heads"

    chain_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))

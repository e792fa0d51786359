"""Signed checkpoints: a chain head (length + last hash) sealed with the service's Ed25519 key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime


class AuditCheckpoint(Base):
    """One sealed chain head. Append-only like the trail it seals (database triggers).

    The public key travels with each row so a checkpoint stays checkable after the service key
    changes; whether that key is one we trust is a separate question `verify` answers.
    """

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_chain", "chain_key", "length", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain_key: Mapped[str] = mapped_column(String(40))
    length: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32-byte Ed25519 key
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 signature over the statement

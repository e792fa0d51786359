"""Stored customer documents (PDF bytes with their SHA-256) and the ID cards issued from them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from services.db.base import Base, UTCDateTime

DOCUMENT_KINDS = (
    "declarations",
    "id_card",
    "id_card_wallet",
    "policy_wording",
    "billing_statement",
    "claim_letter",
)


class Document(Base):
    """One generated PDF. Content and hash are written once; a new version is a new row."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    policy_id: Mapped[str | None] = mapped_column(ForeignKey("policies.id"), index=True, default=None)
    vehicle_id: Mapped[str | None] = mapped_column(ForeignKey("policy_vehicles.id"), default=None)
    kind: Mapped[str] = mapped_column(String(30))
    # What the document stands for (kind + policy + vehicle + term): lazy generation from two
    # requests at once cannot file the same paper twice.
    slot: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size_bytes: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: listing 200 documents must not drag 200 PDFs out of the database.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdCard(Base):
    """An issued ID card: the signed verification code its QR carries and what it vouches for."""

    __tablename__ = "id_cards"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("policy_vehicles.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    key_id: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(1000))
    page_document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    wallet_document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Household accounts and the people on them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountHolder(Base):
    """A person on an account; `user_id` is set once they have a portal sign-in."""

    __tablename__ = "account_holders"
    __table_args__ = (UniqueConstraint("account_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True, default=None)
    phone: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    date_of_birth: Mapped[date | None] = mapped_column(Date, default=None)
    address: Mapped[str | None] = mapped_column(String(400), default=None)
    postcode: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # Paperless: documents by email/app only, no post (a documents preference, set with contact details).
    paperless: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

"""One row per open live-feed connection, kept alive by heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime


class PresenceSession(Base):
    """A person with an account open (written by the live WebSocket endpoint, not audited:
    looking is not a change; staff opening an account is audited separately as account.viewed)."""

    __tablename__ = "presence_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[str] = mapped_column(String(40))
    user_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    instance_id: Mapped[str] = mapped_column(String(40))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

"""Notices, their deliveries per channel (the outbox), preferences and the local SMS outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

# A delivery moves queued -> sending -> (handed_over ->) sent | failed; `suppressed` when the
# customer switched the channel off after the notice was queued, or no address is on file.
# "sending": the attempt is recorded and nothing has reached the provider in a form it keeps.
# "handed_over" (email only): committed just before the SMTP end-of-data marker is written.
DELIVERY_STATUSES = ("queued", "sending", "handed_over", "sent", "failed", "suppressed")
CHANNELS = ("in_app", "email", "sms")


class Notification(Base):
    """One notice to one account holder: what the notification centre lists."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_holder_created", "holder_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("account_holders.id"))
    type: Mapped[str] = mapped_column(String(40))
    # Never the same notice twice: type + subject + occasion + recipient, unique.
    dedupe_key: Mapped[str] = mapped_column(String(240), unique=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # The audit event that caused it (empty for time-based notices from the sweep).
    cause_event_id: Mapped[str | None] = mapped_column(String(40), default=None)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class NotificationDelivery(Base):
    """The outbox: one row per notice per outside channel, written with the notice."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "not_before"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    # notification dedupe key + channel: a second row for the same notice and channel is refused.
    dedupe_key: Mapped[str] = mapped_column(String(260), unique=True)
    address: Mapped[str] = mapped_column(String(320))
    time_zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    # Earliest send time: quiet hours, spreading of large batches and retry backoff move it.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    provider_id: Mapped[str | None] = mapped_column(String(200), default=None)
    result: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True, default=None)


class NotificationPreference(Base):
    """A holder's choice for one type and channel; absent means the type's default."""

    __tablename__ = "notification_preferences"

    holder_id: Mapped[str] = mapped_column(ForeignKey("account_holders.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LocalSms(Base):
    """Text messages of the embedded default's SMS adapter: a local outbox staff can read."""

    __tablename__ = "local_sms_outbox"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The sender's idempotency key (the delivery id): a resend after a crash is a no-op.
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    to: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

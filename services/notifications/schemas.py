"""What crosses the API for notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.notifications.catalogue import CHOOSABLE, TYPES
from services.schemas_common import Flag, IdStr, RequestModel, ResponseModel, one_of


class NotificationOut(ResponseModel):
    id: str
    account_id: str
    type: str
    title: str
    body: str
    subject_type: str
    subject_id: str | None
    required: bool
    created_at: datetime
    read_at: datetime | None


class NotificationList(ResponseModel):
    notifications: list[NotificationOut]
    unread: int


class MarkRead(RequestModel):
    # None (or absent) marks every notice read.
    # An empty list is refused by the service (notification.ids_invalid).
    ids: list[IdStr] | None = Field(
        default=None, max_length=1000, json_schema_extra={"minItems": 1, "maxItems": 500}
    )


class MarkedRead(ResponseModel):
    marked: int
    unread: int


class ChannelState(ResponseModel):
    enabled: Flag
    locked: bool


class TypePreference(ResponseModel):
    type: str
    required: bool
    channels: dict[str, ChannelState]


class QuietHours(ResponseModel):
    start: str
    end: str


class Preferences(ResponseModel):
    types: list[TypePreference]
    email: str | None
    phone: str | None
    time_zone: str
    quiet_hours: QuietHours


class PreferenceChange(RequestModel):
    type: str = one_of(*TYPES)
    channel: str = one_of(*CHOOSABLE)
    enabled: Flag


class PreferenceUpdate(RequestModel):
    # An empty list is refused by the service (notification.no_changes).
    changes: list[PreferenceChange] = Field(max_length=100, json_schema_extra={"minItems": 1})


class DeliveryOut(ResponseModel):
    id: str
    notification_id: str
    type: str
    title: str
    channel: str
    address: str
    status: str
    result: str | None
    attempts: int
    not_before: datetime
    sent_at: datetime | None
    created_at: datetime


class DeliveryList(ResponseModel):
    deliveries: list[DeliveryOut]


class LocalSmsOut(ResponseModel):
    id: str
    to: str
    body: str
    account_id: str | None
    created_at: datetime


class LocalSmsList(ResponseModel):
    messages: list[LocalSmsOut]

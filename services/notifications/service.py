"""Notices: queued with the event that causes them, listed in the app, chosen per channel."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.accounts.models import AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.clock import Clock
from services.db.base import new_id
from services.errors import Forbidden, Invalid, NotFound
from services.notifications import render
from services.notifications.catalogue import CHOOSABLE, EMAIL, IN_APP, SMS, TYPES, channel_enabled
from services.notifications.models import (
    LocalSms,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from services.policies.models import Policy

# Nothing is sent between 21:00 and 08:00 in the customer's time zone; what falls due then is
# queued to the morning and spread over the first hours so the morning is not one burst.
QUIET_START = time(21, 0)
QUIET_END = time(8, 0)
MORNING_SPREAD_MINUTES = 120
DEFAULT_TIME_ZONE = "America/Chicago"


# --- quiet hours ---------------------------------------------------------------------------------


def in_quiet_hours(when: datetime, time_zone: str) -> bool:
    """True when `when` falls between 21:00 and 08:00 where the customer lives."""
    local = when.astimezone(ZoneInfo(time_zone)).time()
    return local >= QUIET_START or local < QUIET_END


def next_send_time(when: datetime, time_zone: str, spread_key: str = "") -> datetime:
    """`when` itself outside quiet hours, else the next 08:00 local plus a stable spread."""
    if not in_quiet_hours(when, time_zone):
        return when
    zone = ZoneInfo(time_zone)
    local = when.astimezone(zone)
    morning_day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    morning = datetime.combine(morning_day, QUIET_END, tzinfo=zone)
    # A stable offset per notice: the same notice always lands at the same minute.
    digest = int.from_bytes(hashlib.sha256(spread_key.encode()).digest()[:4], "big")
    minutes = digest % MORNING_SPREAD_MINUTES if spread_key else 0
    return (morning + timedelta(minutes=minutes)).astimezone(when.tzinfo)


# --- queueing (inside the causing transaction) ------------------------------------------------------


def recipients(session: Session, account_id: str) -> list[AccountHolder]:
    """Who hears about an account: the primary holder and every holder with a portal sign-in."""
    return list(
        session.scalars(
            select(AccountHolder)
            .where(
                AccountHolder.account_id == account_id,
                (AccountHolder.is_primary.is_(True)) | (AccountHolder.user_id.is_not(None)),
            )
            .order_by(AccountHolder.id)
        )
    )


def account_time_zone(session: Session, account_id: str, policy_id: str | None = None) -> str:
    """The customer's zone: the policy's, else the account's first policy's."""
    if policy_id:
        tz = session.scalar(select(Policy.time_zone).where(Policy.id == policy_id))
        if tz:
            return tz
    tz = session.scalar(
        select(Policy.time_zone).where(Policy.account_id == account_id).order_by(Policy.created_at).limit(1)
    )
    return tz or DEFAULT_TIME_ZONE


def preferences_of(session: Session, holder_id: str) -> dict[tuple[str, str], bool]:
    rows = session.scalars(
        select(NotificationPreference).where(NotificationPreference.holder_id == holder_id)
    )
    return {(p.type, p.channel): p.enabled for p in rows}


def _insert(session: Session, model: type, values: dict[str, Any], key: str) -> bool:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__  # type: ignore[attr-defined]
    # RETURNING, not rowcount: psycopg reports -1 for an ORM-routed INSERT .. ON CONFLICT.
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return session.connection().execute(stmt).first() is not None


def queue_notice(
    session: Session,
    now: datetime,
    *,
    account_id: str,
    notice_type: str,
    subject_type: str,
    subject_id: str | None,
    occasion: str = "",
    data: dict[str, Any],
    cause_event_id: str | None = None,
    policy_id: str | None = None,
    holder_ids: list[str] | None = None,
) -> int:
    """Write the notice for each recipient and its outbox rows, in the caller's transaction.

    The dedupe key (type, subject, occasion, recipient) is unique, so queueing the same notice
    again (a sweep running twice, two runners) adds nothing. Returns how many notices were new."""
    kind = TYPES[notice_type]
    tz = account_time_zone(session, account_id, policy_id)
    added = 0
    for holder in recipients(session, account_id):
        if holder_ids is not None and holder.id not in holder_ids:
            continue
        key = f"{notice_type}:{subject_id or '-'}:{occasion}:{holder.id}"
        values = {**data, "first_name": holder.full_name.split(" ")[0], "full_name": holder.full_name}
        title, body = render.in_app(notice_type, values)
        notification_id = new_id("ntf")
        if not _insert(
            session,
            Notification,
            {
                "id": notification_id,
                "account_id": account_id,
                "holder_id": holder.id,
                "type": notice_type,
                "dedupe_key": key,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "cause_event_id": cause_event_id,
                "title": title,
                "body": body,
                "data": render_safe(values),
                "required": kind.required,
                "created_at": now,
            },
            "dedupe_key",
        ):
            continue
        added += 1
        prefs = preferences_of(session, holder.id)
        addresses = {IN_APP: holder.id, EMAIL: holder.email or "", SMS: holder.phone or ""}
        for channel in (IN_APP, *CHOOSABLE):
            if not channel_enabled(kind, channel, prefs.get((notice_type, channel))):
                continue
            address = addresses[channel]
            # The in-app copy is delivered at once; outside channels wait for the morning.
            when = now if channel == IN_APP else next_send_time(now, tz, f"{key}:{channel}")
            _insert(
                session,
                NotificationDelivery,
                {
                    "id": new_id("ndl"),
                    "notification_id": notification_id,
                    "account_id": account_id,
                    "channel": channel,
                    "dedupe_key": f"{key}:{channel}",
                    "address": address,
                    "time_zone": tz,
                    # No address on file: kept as suppressed so the trail shows why nothing went.
                    "status": "queued" if address else "suppressed",
                    "result": None if address else "no_address",
                    "not_before": when,
                    "attempts": 0,
                    "created_at": now,
                },
                "dedupe_key",
            )
    return added


def render_safe(values: dict[str, Any]) -> dict[str, Any]:
    """Notice data as JSON-safe values (dates as ISO text)."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


# --- the customer's side ------------------------------------------------------------------------------


def _holders_of(session: Session, actor: Actor) -> list[AccountHolder]:
    if actor.role != "policyholder" or actor.user_id is None:
        raise Forbidden("notification.customers_only", "Notifications belong to the policyholder's sign-in.")
    return list(session.scalars(select(AccountHolder).where(AccountHolder.user_id == actor.user_id)))


def notification_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "account_id": n.account_id,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "subject_type": n.subject_type,
        "subject_id": n.subject_id,
        "required": n.required,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


def list_notifications(
    session: Session, actor: Actor, clock: Clock, *, limit: int = 50, before: datetime | None = None
) -> dict[str, Any]:
    """The signed-in policyholder's notices, newest first, with the unread count."""
    holder_ids = [h.id for h in _holders_of(session, actor)]
    query = select(Notification).where(Notification.holder_id.in_(holder_ids))
    if before is not None:
        query = query.where(Notification.created_at < before)
    rows = list(session.scalars(query.order_by(Notification.created_at.desc(), Notification.id).limit(limit)))
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.holder_id.in_(holder_ids), Notification.read_at.is_(None))
    )
    return {"notifications": [notification_dict(n) for n in rows], "unread": int(unread or 0)}


def mark_read(session: Session, actor: Actor, clock: Clock, *, notification_ids: list[str] | None) -> int:
    """Mark some (or, with None, all) of the policyholder's notices read; audited per account."""
    holders = _holders_of(session, actor)
    holder_ids = [h.id for h in holders]
    query = select(Notification).where(Notification.holder_id.in_(holder_ids), Notification.read_at.is_(None))
    if notification_ids is not None:
        if not notification_ids or len(notification_ids) > 500:
            raise Invalid("notification.ids_invalid", "Give between 1 and 500 notification ids.", field="ids")
        known = set(
            session.scalars(
                select(Notification.id).where(
                    Notification.id.in_(notification_ids), Notification.holder_id.in_(holder_ids)
                )
            )
        )
        if known != set(notification_ids):
            raise NotFound("notification.not_found", "We could not find that notification.")
        query = query.where(Notification.id.in_(notification_ids))
    rows = list(session.scalars(query))
    now = clock.now()
    by_account: dict[str, list[str]] = {}
    for n in rows:
        n.read_at = now
        by_account.setdefault(n.account_id, []).append(n.id)
    for account_id, ids in by_account.items():
        audit.record(
            session,
            actor,
            clock,
            action="notification.read",
            account_id=account_id,
            entity_type="notification",
            entity_id=ids[0] if len(ids) == 1 else None,
            after={"notification_ids": ids},
        )
    return len(rows)


def preferences_view(session: Session, actor: Actor, clock: Clock) -> dict[str, Any]:
    """Every type with each channel's state, whether the customer may change it, and quiet hours."""
    holders = _holders_of(session, actor)
    if not holders:
        raise NotFound("notification.no_holder", "This sign-in is not on an account.")
    holder = holders[0]
    prefs = preferences_of(session, holder.id)
    rows = []
    for kind in TYPES.values():
        rows.append(
            {
                "type": kind.key,
                "required": kind.required,
                "channels": {
                    ch: {
                        "enabled": channel_enabled(kind, ch, prefs.get((kind.key, ch))),
                        "locked": ch in kind.locked,
                    }
                    for ch in CHOOSABLE
                },
            }
        )
    return {
        "types": rows,
        "email": holder.email,
        "phone": holder.phone,
        "time_zone": account_time_zone(session, holder.account_id),
        "quiet_hours": {"start": QUIET_START.strftime("%H:%M"), "end": QUIET_END.strftime("%H:%M")},
    }


def set_preferences(
    session: Session, actor: Actor, clock: Clock, *, changes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Switch channels per type; locked (legally required) ones are refused, nothing half-written."""
    holders = _holders_of(session, actor)
    if not holders:
        raise NotFound("notification.no_holder", "This sign-in is not on an account.")
    if not changes:
        raise Invalid("notification.no_changes", "Choose at least one setting to change.", field="changes")
    # Check every change before writing any.
    for ch in changes:
        kind = TYPES.get(ch["type"])
        if kind is None:
            raise Invalid("notification.unknown_type", "That notification type does not exist.", field="type")
        if ch["channel"] not in CHOOSABLE:
            raise Invalid("notification.unknown_channel", "Choose email or text message.", field="channel")
        if ch["channel"] in kind.locked and not ch["enabled"]:
            raise Invalid(
                "notification.required",
                "This notice is required by law and is always sent by email.",
                field="enabled",
                type=kind.key,
                channel=ch["channel"],
            )
    now = clock.now()
    for holder in holders:
        prefs = preferences_of(session, holder.id)
        before: dict[str, bool] = {}
        after: dict[str, bool] = {}
        for ch in changes:
            kind = TYPES[ch["type"]]
            key = (ch["type"], ch["channel"])
            old = channel_enabled(kind, ch["channel"], prefs.get(key))
            row = session.get(NotificationPreference, (holder.id, ch["type"], ch["channel"]))
            if row is None:
                session.add(
                    NotificationPreference(
                        holder_id=holder.id,
                        type=ch["type"],
                        channel=ch["channel"],
                        enabled=bool(ch["enabled"]),
                        updated_at=now,
                    )
                )
            else:
                row.enabled, row.updated_at = bool(ch["enabled"]), now
            if old != bool(ch["enabled"]):
                before[f"{key[0]}.{key[1]}"] = old
                after[f"{key[0]}.{key[1]}"] = bool(ch["enabled"])
        session.flush()
        if after:
            audit.record(
                session,
                actor,
                clock,
                action="notification.preferences_changed",
                account_id=holder.account_id,
                entity_type="account_holder",
                entity_id=holder.id,
                before=before,
                after=after,
            )
    return preferences_view(session, actor, clock)


# --- staff ---------------------------------------------------------------------------------------------


def _staff_only(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("auth.forbidden", "Your role cannot do this.")


def account_deliveries(
    session: Session, actor: Actor, clock: Clock, *, account_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """What was sent to an account, by which channel, when and with what result (staff)."""
    from services.accounts.service import authorize_account

    _staff_only(actor)
    authorize_account(session, actor, clock, account_id)
    rows = session.execute(
        select(NotificationDelivery, Notification)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.account_id == account_id)
        .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id)
        .limit(limit)
    )
    return [
        {
            "id": d.id,
            "notification_id": n.id,
            "type": n.type,
            "title": n.title,
            "channel": d.channel,
            "address": d.address,
            "status": d.status,
            "result": d.result,
            "attempts": d.attempts,
            "not_before": d.not_before,
            "sent_at": d.sent_at,
            "created_at": d.created_at,
        }
        for d, n in rows
    ]


def local_sms_outbox(
    session: Session, actor: Actor, clock: Clock, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Text messages the embedded default's SMS adapter kept locally, newest first (staff)."""
    _staff_only(actor)
    rows = session.scalars(select(LocalSms).order_by(LocalSms.created_at.desc(), LocalSms.id).limit(limit))
    return [
        {"id": s.id, "to": s.to, "body": s.body, "account_id": s.account_id, "created_at": s.created_at}
        for s in rows
    ]

"""Presence rows: join, heartbeat, leave, and who is looking at what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from services.accounts.models import Account
from services.actor import Actor
from services.clock import Clock
from services.db.base import new_id
from services.errors import Forbidden
from services.presence.models import PresenceSession

HEARTBEAT_SECONDS = 20.0
# A row not refreshed for this long belongs to a connection (or instance) that died.
STALE_AFTER = timedelta(seconds=60)
PRESENCE_CHANNEL = "portal_presence"


def _notify(session: Session, account_id: str) -> None:
    # Presence writes are tiny autocommit-sized transactions, never inside busy audited writes,
    # so a NOTIFY with the account id as payload is cheap here (delivered at COMMIT).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :account)"), {"channel": PRESENCE_CHANNEL, "account": account_id}
        )


def join(session: Session, clock: Clock, *, actor: Actor, account_id: str, instance_id: str) -> str:
    """Record that this person has the account open; returns the presence id."""
    now = clock.now()
    # Rows of crashed instances are ignored once stale; sweep the long-dead ones here.
    session.execute(delete(PresenceSession).where(PresenceSession.last_seen_at < now - STALE_AFTER * 60))
    row = PresenceSession(
        id=new_id("prs"),
        account_id=account_id,
        user_id=actor.user_id or "",
        user_name=actor.name,
        role=actor.role,
        channel=actor.channel,
        branch_id=actor.branch_id,
        instance_id=instance_id,
        connected_at=now,
        last_seen_at=now,
    )
    session.add(row)
    _notify(session, account_id)
    return row.id


def leave(session: Session, *, presence_id: str, account_id: str) -> None:
    """The connection closed."""
    session.execute(delete(PresenceSession).where(PresenceSession.id == presence_id))
    _notify(session, account_id)


def heartbeat(session: Session, clock: Clock, *, presence_id: str) -> None:
    """Still connected."""
    session.execute(
        update(PresenceSession).where(PresenceSession.id == presence_id).values(last_seen_at=clock.now())
    )


def viewers(session: Session, clock: Clock, *, account_id: str) -> list[dict[str, Any]]:
    """Everyone with the account open now, one entry per person (earliest connection first)."""
    rows = session.scalars(
        select(PresenceSession)
        .where(
            PresenceSession.account_id == account_id,
            PresenceSession.last_seen_at >= clock.now() - STALE_AFTER,
        )
        .order_by(PresenceSession.connected_at, PresenceSession.id)
    )
    people: dict[str, dict[str, Any]] = {}
    for r in rows:
        people.setdefault(
            r.user_id,
            {
                "user_id": r.user_id,
                "name": r.user_name,
                "role": r.role,
                "channel": r.channel,
                "branch_id": r.branch_id,
                "since": r.connected_at,
            },
        )
    return list(people.values())


def open_accounts(session: Session, actor: Actor, clock: Clock) -> list[dict[str, Any]]:
    """Accounts staff have open right now, with who has them open (supervisors only)."""
    if actor.role not in {"supervisor", "admin"}:
        raise Forbidden("auth.forbidden", "Only supervisors see which accounts are being viewed.")
    rows = list(
        session.scalars(
            select(PresenceSession)
            .where(PresenceSession.last_seen_at >= clock.now() - STALE_AFTER)
            .order_by(PresenceSession.connected_at)
        )
    )
    staff_accounts = {r.account_id for r in rows if r.role != "policyholder"}
    names = dict(
        session.execute(select(Account.id, Account.name).where(Account.id.in_(staff_accounts))).all()
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.account_id not in staff_accounts:
            continue
        entry = out.setdefault(
            r.account_id,
            {
                "account_id": r.account_id,
                "account_name": names.get(r.account_id, ""),
                "staff": [],
                "customer_online": False,
            },
        )
        if r.role == "policyholder":
            entry["customer_online"] = True
        elif all(s["user_id"] != r.user_id for s in entry["staff"]):
            entry["staff"].append(
                {
                    "user_id": r.user_id,
                    "name": r.user_name,
                    "role": r.role,
                    "channel": r.channel,
                    "since": r.connected_at,
                }
            )
    return sorted(out.values(), key=lambda e: e["account_name"])

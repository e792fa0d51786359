"""The sender: drains the outbox with retries and backoff, never the same notice twice.

Protocol per delivery (each step its own short transaction):
1. claim: queued and due -> "sending", attempts + 1, a lease. Quiet hours, the customer's current
   choice and the per-minute budget are checked again here.
2. send through the adapter. Email: after the body is written and before the SMTP end-of-data
   line the row becomes "handed_over" (see adapters.SmtpMailer). Text: the delivery id is the
   provider's idempotency key.
3. finish: "sent" (or "failed" after the last attempt, or back to "queued" with backoff), and the
   notice goes on the audit trail (what, to whom, which channel, when, result) in that transaction.

After a crash, `recover` finds leases that ran out: "sending" rows are queued again (an SMTP
server discards a message whose end-of-data never came; an SMS resend carries the same
idempotency key), "handed_over" rows are recorded as sent but unconfirmed and never resent.
So texts and in-app notices are exactly once, and email is at most once.

Threading rule: one thread drives a sender at a time; several senders (processes) may run at
once, since claims take row locks (SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from sqlalchemy import func, select

from services.accounts.models import AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.audit.models import AuditEvent as AuditEventRow
from services.clock import Clock
from services.db.database import Database
from services.notifications import render
from services.notifications.adapters import Mailer, SendError, SmsProvider, Unconfirmed
from services.notifications.catalogue import IN_APP, SMS, TYPES, channel_enabled
from services.notifications.models import Notification, NotificationDelivery, NotificationPreference
from services.notifications.service import in_quiet_hours, next_send_time

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 60.0
BACKOFF_CAP = timedelta(hours=6)
ACTOR = Actor.system("Notifications")
OUTSIDE = ("email", "sms")


@dataclass(frozen=True)
class Claimed:
    id: str
    notification_id: str
    account_id: str
    channel: str
    address: str
    attempts: int
    dedupe_key: str


@dataclass
class SendStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0
    unconfirmed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


class NotificationSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        mailer: Mailer,
        sms: SmsProvider,
        *,
        sender_address: str = "",
        per_minute: int = 300,
        lease_seconds: float = 120.0,
        batch: int = 50,
        fault: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.mailer = mailer
        self.sms = sms
        self.sender_address = sender_address
        self.per_minute = max(1, per_minute)
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        # Fault injection for the crash tests (see main.py); a no-op otherwise.
        self.fault = fault or (lambda _point: None)

    # --- one pass --------------------------------------------------------------------------------

    def run_once(self, *, max_sends: int = 10_000) -> SendStats:
        """Recover crashed attempts, then send everything due now (within the budget)."""
        stats = SendStats()
        stats.recovered, stats.unconfirmed = self.recover()
        done = 0
        while done < max_sends:
            claimed = self.claim()
            if not claimed:
                break
            for d in claimed:
                self.deliver(d, stats)
                done += 1
        return stats

    def recover(self) -> tuple[int, int]:
        """Leases that ran out: a sender died mid-send. Returns (queued again, recorded unconfirmed)."""
        now = self.clock.now()
        requeued = unconfirmed = 0
        with self.db.write() as session:
            rows = list(
                session.scalars(
                    select(NotificationDelivery)
                    .where(
                        NotificationDelivery.status.in_(("sending", "handed_over")),
                        NotificationDelivery.lease_until < now,
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            for d in rows:
                if d.status == "handed_over":
                    # The end-of-data line may have gone out: sending again could deliver twice.
                    self._record(
                        session, d, "sent", result="unconfirmed", error="sender stopped after handover"
                    )
                    unconfirmed += 1
                else:
                    d.status, d.lease_until, d.not_before = "queued", None, now
                    d.last_error = "sender stopped mid-send; queued again"
                    requeued += 1
        return requeued, unconfirmed

    def _budget(self, session: Any, now: Any) -> int:
        recent = session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .where(
                NotificationDelivery.channel.in_(OUTSIDE),
                (NotificationDelivery.sent_at >= now - timedelta(minutes=1))
                | NotificationDelivery.status.in_(("sending", "handed_over")),
            )
        )
        return self.per_minute - int(recent or 0)

    def claim(self) -> list[Claimed]:
        """Take due deliveries: quiet hours, current choices and the per-minute budget apply."""
        now = self.clock.now()
        claimed: list[Claimed] = []
        with self.db.write() as session:
            budget = self._budget(session, now)
            rows = list(
                session.scalars(
                    select(NotificationDelivery)
                    .where(NotificationDelivery.status == "queued", NotificationDelivery.not_before <= now)
                    .order_by(NotificationDelivery.not_before, NotificationDelivery.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            for d in rows:
                if d.channel != IN_APP:
                    if in_quiet_hours(now, d.time_zone):
                        # A retry's backoff (or a late sweep) landed at night: wait for the morning.
                        d.not_before = next_send_time(now, d.time_zone, d.dedupe_key)
                        continue
                    if not self._still_wanted(session, d):
                        d.status, d.result = "suppressed", "preference_off"
                        continue
                    if budget <= 0:
                        continue  # large batches: the rest waits for the next minute
                    budget -= 1
                d.status = "sending"
                d.attempts += 1
                d.lease_until = now + self.lease
                claimed.append(
                    Claimed(
                        d.id, d.notification_id, d.account_id, d.channel, d.address, d.attempts, d.dedupe_key
                    )
                )
        return claimed

    def _still_wanted(self, session: Any, d: NotificationDelivery) -> bool:
        n = session.get(Notification, d.notification_id)
        kind = TYPES.get(n.type) if n else None
        if n is None or kind is None:
            return False
        pref = session.get(NotificationPreference, (n.holder_id, n.type, d.channel))
        return channel_enabled(kind, d.channel, pref.enabled if pref else None)

    # --- one delivery -----------------------------------------------------------------------------

    def deliver(self, d: Claimed, stats: SendStats) -> None:
        self.fault("claimed")
        try:
            if d.channel == IN_APP:
                provider_id, result = d.notification_id, "in_app"
            elif d.channel == SMS:
                provider_id, result = self._send_sms(d), "accepted"
            else:
                provider_id, result = self._send_email(d), "accepted"
        except Unconfirmed as exc:
            self._finish(d, "sent", result="unconfirmed", error=str(exc))
            stats.unconfirmed += 1
            return
        except SendError as exc:
            last = exc.permanent or d.attempts >= MAX_ATTEMPTS
            self._finish(d, "failed" if last else "queued", result="failed" if last else None, error=str(exc))
            if last:
                stats.failed += 1
            else:
                stats.retried += 1
            return
        except Exception as exc:  # a bug or a broken template: retry later, keep the trace
            log.exception("notification delivery %s failed", d.id)
            last = d.attempts >= MAX_ATTEMPTS
            self._finish(
                d, "failed" if last else "queued", result="failed" if last else None, error=repr(exc)
            )
            stats.retried += 0 if last else 1
            return
        self.fault("before_finish")
        if self._finish(d, "sent", result=result, provider_id=provider_id):
            stats.sent += 1
            stats.by_channel[d.channel] = stats.by_channel.get(d.channel, 0) + 1

    def _notice(self, d: Claimed) -> tuple[Notification, AccountHolder]:
        with self.db.read() as session:
            n = session.get(Notification, d.notification_id)
            assert n is not None
            holder = session.get(AccountHolder, n.holder_id)
            assert holder is not None
            return n, holder

    def _send_sms(self, d: Claimed) -> str:
        n, _holder = self._notice(d)
        body = render.sms_text(n.type, n.data or {})
        return self.sms.send(to=d.address, body=body, reference=d.id, account_id=d.account_id)

    def _send_email(self, d: Claimed) -> str:
        n, holder = self._notice(d)
        rendered = render.email(n.type, n.data or {}, full_name=holder.full_name, required=n.required)
        msg = EmailMessage()
        msg["Subject"] = rendered.subject
        msg["From"] = self.sender_address
        msg["To"] = formataddr((holder.full_name, d.address))
        # Stable per delivery: the evidence of which notice this was, and a receiver can dedupe.
        msg["Message-ID"] = f"<{d.id}@notices.portal>"
        msg["X-Portal-Notice"] = n.type
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")

        def handover() -> None:
            self.fault("before_handover")
            with self.db.write() as session:
                row = session.get(NotificationDelivery, d.id, with_for_update=True)
                if row is None or row.status != "sending" or row.attempts != d.attempts:
                    # Our lease ran out and another sender owns it now: do not hand over.
                    raise SendError("lease lost before handover")
                row.status = "handed_over"
            self.fault("after_handover")

        return self.mailer.send(msg, on_handover=handover)

    def _finish(
        self,
        d: Claimed,
        status: str,
        *,
        result: str | None,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        now = self.clock.now()
        with self.db.write() as session:
            row = session.get(NotificationDelivery, d.id, with_for_update=True)
            if row is None or row.status not in ("sending", "handed_over") or row.attempts != d.attempts:
                return False  # another sender recovered it after our lease ran out
            if status == "queued":
                delay = min(timedelta(seconds=BACKOFF_SECONDS * 2 ** (d.attempts - 1)), BACKOFF_CAP)
                row.status, row.lease_until, row.last_error = "queued", None, (error or "")[:500]
                row.not_before = next_send_time(now + delay, row.time_zone, row.dedupe_key)
                return True
            self._record(session, row, status, result=result, provider_id=provider_id, error=error)
            return True

    def _record(
        self,
        session: Any,
        row: NotificationDelivery,
        status: str,
        *,
        result: str | None,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Final state plus the audit event: what, to whom, which channel, when, result."""
        now = self.clock.now()
        row.status, row.result, row.lease_until = status, result, None
        row.provider_id = provider_id or row.provider_id
        row.last_error = (error or "")[:500] or None
        if status == "sent":
            row.sent_at = now
        n = session.get(Notification, row.notification_id)
        # The seq of the event that caused the notice: change logs show the delivery under it.
        cause_seq = (
            session.scalar(select(AuditEventRow.seq).where(AuditEventRow.event_id == n.cause_event_id))
            if n is not None and n.cause_event_id
            else None
        )
        audit.record(
            session,
            ACTOR,
            self.clock,
            action="notification.sent" if status == "sent" else "notification.failed",
            account_id=row.account_id,
            entity_type="notification",
            entity_id=row.notification_id,
            outcome="success" if status == "sent" else "failure",
            after={
                "type": n.type if n else None,
                "title": n.title if n else None,
                "holder_id": n.holder_id if n else None,
                "channel": row.channel,
                "to": row.address,
                "delivery_id": row.id,
                "result": result,
                "provider_id": row.provider_id,
                "attempts": row.attempts,
                "error": row.last_error,
                "cause_seq": cause_seq,
            },
        )

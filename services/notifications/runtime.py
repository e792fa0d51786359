"""The notifications runtime: adapters from settings, the sender, and the job-runner sweep.

Threading rule: `tick` is called by one job-runner thread at a time; the adapters it builds are
created once under a lock and are safe to share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from services.clock import Clock
from services.config import ServiceSettings
from services.db.database import Database
from services.notifications import rules
from services.notifications.adapters import (
    HttpSmsProvider,
    LocalSmsOutbox,
    MailDrop,
    Mailer,
    SmsProvider,
    SmtpMailer,
)
from services.notifications.sender import NotificationSender, SendStats

# Date-based notices change at most daily; looking once a minute is plenty.
SWEEP_EVERY = timedelta(minutes=1)


class NotificationsRuntime:
    def __init__(self, settings: ServiceSettings, clock: Clock, db: Database) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self._lock = threading.Lock()
        self._mailer: Mailer | None = None
        self._sms: SmsProvider | None = None
        self._last_sweep: datetime | None = None

    @property
    def mail_drop(self) -> Path:
        return Path(self.settings.data_dir) / "mail-outbox"

    def mailer(self) -> Mailer:
        with self._lock:
            if self._mailer is None:
                url = self.settings.smtp_url
                self._mailer = SmtpMailer(url, self.settings.smtp_from) if url else MailDrop(self.mail_drop)
            return self._mailer

    def sms(self) -> SmsProvider:
        with self._lock:
            if self._sms is None:
                url = self.settings.sms_url
                self._sms = (
                    HttpSmsProvider(url, self.settings.sms_token)
                    if url
                    else LocalSmsOutbox(self.db, self.clock)
                )
            return self._sms

    def sender(
        self, *, lease_seconds: float = 120.0, fault: Callable[[str], None] | None = None
    ) -> NotificationSender:
        return NotificationSender(
            self.db,
            self.clock,
            self.mailer(),
            self.sms(),
            sender_address=self.settings.smtp_from,
            per_minute=self.settings.notify_per_minute,
            lease_seconds=lease_seconds,
            fault=fault,
        )

    def sweep(self, *, force: bool = False) -> int:
        """Queue date-based notices (at most once a minute unless forced)."""
        now = self.clock.now()
        if not force and self._last_sweep is not None and now - self._last_sweep < SWEEP_EVERY:
            return 0
        self._last_sweep = now
        return rules.sweep(self.db, self.clock)

    def tick(self) -> SendStats:
        """What the job runner calls before each pass: sweep, then send what is due."""
        self.sweep()
        return self.sender().run_once(max_sends=500)

"""Delivery adapters: email over SMTP (or a local mail drop), text messages over an HTTP provider
(or the local outbox of the embedded default). Built by the notifications runtime only.

Threading rule: each adapter call opens its own connection; adapters are safe to share between
the sender's threads.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.clock import Clock
from services.db.base import new_id
from services.db.database import Database
from services.notifications.models import LocalSms


class SendError(Exception):
    """The provider refused or could not be reached; `permanent` says whether to try again."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Unconfirmed(Exception):
    """The message was handed over but the provider's answer never came: it may have been sent."""


Handover = Callable[[], None]


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, on_handover: Handover) -> str:
        """Send one message; call `on_handover` just before the point of no return."""
        ...


class SmsProvider(Protocol):
    def send(self, *, to: str, body: str, reference: str, account_id: str | None) -> str:
        """Send one text; `reference` is an idempotency key (a resend with it is a no-op)."""
        ...


# --- email ---------------------------------------------------------------------------------------------

_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpMailer:
    """Email over SMTP: smtp://host:port, smtps://host:port, smtp://…?starttls=1, user:password@.

    Sending is split around the end-of-data marker. An SMTP server keeps a message only once it
    reads the final "." line (RFC 5321 4.1.1.4: a connection lost before it means no message), so
    `on_handover` (which commits "handed over") runs after the body is written and before that
    line. A crash before it leaves nothing at the server: the message is sent again. A crash
    after it may or may not have been delivered and is never sent again: email is at most once,
    and the window in which a notice can be lost is one five-byte write."""

    def __init__(self, url: str, sender: str, *, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("PORTAL_SMTP_URL must start with smtp:// or smtps://")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.ssl else 25)
        query = parse_qs(parts.query)
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({self.host}:{self.port}, ssl={self.ssl}, starttls={self.starttls})"

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo_or_helo_if_needed()
        if self.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if self.username:
            smtp.login(self.username, self._password or "")
        return smtp

    def send(self, message: EmailMessage, *, on_handover: Handover) -> str:
        to = message["To"]
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"cannot reach the mail server: {type(exc).__name__}") from exc
        handed_over = False
        try:
            for command, args, ok in (("mail", (self.sender,), (250,)), ("rcpt", (to,), (250, 251))):
                code, reply = getattr(smtp, command)(*args)
                if code not in ok:
                    raise SendError(f"{command} refused: {code}", permanent=500 <= code < 600)
            code, reply = smtp.docmd("data")
            if code != 354:
                raise SendError(f"data refused: {code}", permanent=500 <= code < 600)
            payload = _LEADING_DOT.sub(b"..", message.as_bytes(policy=SMTP_POLICY))
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            smtp.send(payload)
            on_handover()
            handed_over = True
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
            if code != 250:
                raise SendError(f"message refused: {code}", permanent=500 <= code < 600)
            return reply.decode("utf-8", "replace")[:200] or "250"
        except (OSError, smtplib.SMTPException) as exc:
            if handed_over:
                raise Unconfirmed(
                    f"no answer after the message was handed over: {type(exc).__name__}"
                ) from exc
            raise SendError(f"mail server connection failed: {type(exc).__name__}") from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


class MailDrop:
    """The embedded default with no SMTP server: each message is an .eml file in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, *, on_handover: Handover) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(message["Message-ID"]).strip("<>")) + ".eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(message.as_bytes(policy=SMTP_POLICY))
        on_handover()
        # The rename is atomic: a message is in the drop whole or not at all, once per name.
        os.replace(tmp, self.folder / name)
        return name


# --- text messages -----------------------------------------------------------------------------------


class HttpSmsProvider:
    """One HTTP SMS provider: POST {to, body, reference} as JSON with a bearer token and an
    Idempotency-Key header; a 2xx answer carries the provider's message id."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"HttpSmsProvider({self.url})"

    def send(self, *, to: str, body: str, reference: str, account_id: str | None) -> str:
        headers = {"Idempotency-Key": reference}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            r = httpx.post(
                self.url,
                json={"to": to, "body": body, "reference": reference},
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise SendError(f"cannot reach the SMS provider: {type(exc).__name__}") from exc
        if r.status_code in (200, 201, 202):
            try:
                return str(r.json().get("id") or reference)[:200]
            except ValueError:
                return reference
        permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 409, 425, 429)
        raise SendError(f"SMS provider answered {r.status_code}", permanent=permanent)


class LocalSmsOutbox:
    """The embedded default: texts are kept in a local outbox table the staff window shows."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def send(self, *, to: str, body: str, reference: str, account_id: str | None) -> str:
        with self.db.write() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(
                insert(LocalSms)
                .values(
                    id=new_id("sms"),
                    reference=reference,
                    to=to,
                    body=body,
                    account_id=account_id,
                    created_at=self.clock.now(),
                )
                .on_conflict_do_nothing(index_elements=["reference"])
            )
            return session.scalar(select(LocalSms.id).where(LocalSms.reference == reference)) or reference

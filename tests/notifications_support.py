"""Real delivery endpoints for notification tests: an aiosmtpd SMTP server and a local HTTP
endpoint standing in for the SMS provider, both on loopback; plus clock helpers."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from services.clock import OffsetClock

SMS_TOKEN = "sms-test-token-" + "k" * 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server accepted (only complete messages: aiosmtpd calls DATA at the final dot)."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK queued as " + str(len(self.messages))

    def snapshot(self) -> list[Message]:
        with self.lock:
            return list(self.messages)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.snapshot()]


@contextmanager
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


@dataclass
class SmsEndpoint:
    """A provider stand-in: bearer token required, Idempotency-Key honoured, failures on demand."""

    received: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    posts: int = 0
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.posts += 1
            if headers.get("Authorization") != f"Bearer {SMS_TOKEN}":
                return 401, {"error": "unauthorized"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "try later"}
            key = headers.get("Idempotency-Key") or ""
            if key in self.by_key:
                return 200, {"id": self.by_key[key]}
            msg = json.loads(body)
            msg_id = f"SM{len(self.received) + 1:05d}"
            self.by_key[key] = msg_id
            self.received.append({**msg, "id": msg_id, "key": key})
            return 201, {"id": msg_id}


@contextmanager
def sms_server() -> Iterator[tuple[str, SmsEndpoint]]:
    endpoint = SmsEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = endpoint.handle(self.headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/messages", endpoint
    finally:
        server.shutdown()
        server.server_close()


def move_to_local(
    clock: OffsetClock, time_zone: str, hour: int, minute: int = 0, *, days: int = 0
) -> datetime:
    """Advance the clock to the next hour:minute local time in the zone (plus whole days)."""
    now = clock.now()
    local = now.astimezone(ZoneInfo(time_zone))
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    target += timedelta(days=days)
    clock.advance(target - local)
    return clock.now()


def daytime_zone(now: datetime) -> str:
    """A fixed-offset zone where it is now between 11:00 and 17:00 (tests that must not hit night)."""
    for offset in range(-12, 15):
        if 11 <= (now.hour + offset) % 24 < 17:
            return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    raise AssertionError("unreachable")

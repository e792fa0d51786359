"""Helpers for the staff tests: sign-ins are slow on purpose (argon2), so reuse tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support import Service

_TOKENS: dict[tuple[str, str], str] = {}


def token(service: Service, email: str) -> str:
    """An access token for a demo user, signed in once per service."""
    key = (service.url, email)
    if key not in _TOKENS:
        _TOKENS[key] = service.sign_in(email)["access_token"]
    return _TOKENS[key]


def client(service: Service, email: str) -> httpx.Client:
    return httpx.Client(
        base_url=service.url + "/api/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {token(service, email)}"},
    )


def settle(qtbot: Any, timeout_ms: int = 10_000) -> None:
    """Let the coroutines windows started (page loads after the last event) finish before the
    widgets are deleted, so none of them resumes against a deleted widget."""
    loop = asyncio.get_event_loop()
    qtbot.waitUntil(lambda: all(t.done() for t in asyncio.all_tasks(loop)), timeout=timeout_ms)

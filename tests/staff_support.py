"""Helpers for the staff tests: sign-ins are slow on purpose (argon2), so reuse tokens."""

from __future__ import annotations

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

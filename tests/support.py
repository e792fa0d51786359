"""Test helpers shared by integration, UI and e2e tests: real databases, a real service."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from portal_app.embedded import EmbeddedService
from services.bootstrap import Container
from services.clock import OffsetClock
from services.config import ServiceSettings
from services.demo import DEMO_PASSWORD

PG_ADMIN = os.environ.get("PORTAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN} is not reachable: {exc}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database; yields a SQLAlchemy URL that uses it."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    base = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


@functools.cache
def shared_secrets() -> dict[str, str]:
    """PORTAL_JWT_SECRET and both signing keys, fresh for this test run and the same for every
    process it starts: `portal serve` and `portal jobs` refuse PostgreSQL without them."""
    from portal_app.serving import new_secrets

    return new_secrets()


@dataclass
class Service:
    """A real service on loopback with its container, for driving it like a client would."""

    embedded: EmbeddedService
    clock: OffsetClock
    url: str

    @property
    def container(self) -> Container:
        assert self.embedded.container is not None
        return self.embedded.container

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", timeout=10)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
        with self.http() as c:
            r = c.post("/auth/sign-in", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            return r.json()

    def authed(self, email: str) -> httpx.Client:
        token = self.sign_in(email)["access_token"]
        return httpx.Client(
            base_url=self.url + "/api/v1", timeout=10, headers={"Authorization": f"Bearer {token}"}
        )

    def ws_url(self, path: str) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1" + path

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.container.db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []


@contextmanager
def running_service(
    database_url: str, data_dir: Path, *, seed: bool = True, **settings: Any
) -> Iterator[Service]:
    clock = OffsetClock()
    cfg = ServiceSettings(
        database_url=database_url,
        data_dir=data_dir,
        jwt_secret=settings.pop("jwt_secret", "test-secret-" + "x" * 40),
        **settings,
    )
    svc = EmbeddedService(cfg, seed_demo=seed, clock=clock)
    url = svc.start()
    try:
        yield Service(svc, clock, url)
    finally:
        svc.stop()

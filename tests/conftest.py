"""Fixtures: every integration test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Service, postgres_available, postgres_schema, running_service

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests, not skip them)")
    pytest.skip(reason)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _database_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'portal.sqlite3'}"
        return
    require_postgres()
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    with postgres_schema() as url:
        yield url


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    with running_service(database_url, tmp_path) as svc:
        yield svc


@pytest.fixture(scope="module", params=BACKENDS)
def module_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """One service for a module whose tests do not change what the others see."""
    folder = tmp_path_factory.mktemp("svc")
    for url in _database_url(request.param, folder):
        with running_service(url, folder) as svc:
            yield svc


@pytest.fixture(scope="session")
def localstripe() -> Iterator[object]:
    """One localstripe (state in memory) shared by every payments test of the session."""
    from services.payments.localstripe import LocalStripe

    server = LocalStripe(None, from_scratch=True)
    server.start()
    yield server
    server.stop()

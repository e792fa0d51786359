"""Health for load balancers and orchestrators: liveness (the process answers) and readiness
(the database, the blob store and Stripe all answer), plus the original combined `/health`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services import __version__
from services.api.deps import ContainerDep
from services.api.problems import problem
from services.bootstrap import Container

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/health")
def health(c: ContainerDep) -> dict[str, Any]:
    """Liveness plus a database round trip."""
    with c.db.read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok", "database": c.db.dialect, "version": __version__}


@router.get("/health/live")
async def live() -> dict[str, Any]:
    """The process is up and its event loop answers; nothing else is checked (no restarts for a
    database outage that a restart cannot fix)."""
    return {"status": "ok", "version": __version__}


@router.get("/health/ready", responses={503: {"description": "A dependency is down"}})
def ready(c: ContainerDep) -> Any:
    """Ready to serve: the database, the blob store and Stripe answer. 503 names what is down."""
    checks = {name: _timed(check, c) for name, check in CHECKS.items()}
    down = [name for name, result in checks.items() if not result["ok"]]
    if down:
        return problem(
            503,
            "health.not_ready",
            "Not ready",
            "Not ready: " + ", ".join(f"{n.replace('_', ' ')} ({checks[n]['error']})" for n in down) + ".",
            down=down,
            checks=checks,
        )
    return JSONResponse({"status": "ready", "version": __version__, "checks": checks})


def _timed(check: Callable[[Container], str], c: Container) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check(c)
    except Exception as exc:  # any failure means "down"; the message says which and why
        return {"ok": False, "error": _describe(exc), "ms": _ms(started)}
    return {"ok": True, "detail": detail, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _describe(exc: Exception) -> str:
    text_ = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text_}"[:200] if text_ else type(exc).__name__


def _database(c: Container) -> str:
    with c.db.read() as session:
        session.execute(text("SELECT 1"))
    return c.db.dialect


def _blob_store(c: Container) -> str:
    from services.bootstrap import blob_store

    store = blob_store(c)
    store.ping()
    return store.describe()


def _stripe(c: Container) -> str:
    from services.payments.runtime import payments_runtime

    gateway = payments_runtime(c).gateway()
    base = gateway.api_base.rstrip("/")
    # Any HTTP answer (Stripe says 401 to a request without a key) means it is reachable.
    httpx.get(base + "/v1/customers", timeout=CHECK_TIMEOUT_SECONDS)
    return f"{gateway.mode} at {base}"


CHECKS: dict[str, Callable[[Container], str]] = {
    "database": _database,
    "blob_store": _blob_store,
    "stripe": _stripe,
}

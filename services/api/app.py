"""The FastAPI application factory: routers, problem JSON, lifespan of the live feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import __version__
from services.accounts.views import router as accounts_router
from services.api import problems
from services.api.deps import RequestContextMiddleware
from services.api.health import router as health_router
from services.audit.views import router as evidence_router
from services.auth.views import router as auth_router
from services.bootstrap import Container
from services.cases.views import router as cases_router
from services.claims.views import router as claims_router
from services.documents.views import router as documents_router
from services.notes.views import router as notes_router
from services.notifications.views import router as notifications_router
from services.observability.metrics import METRICS_PATH, Metrics, MetricsMiddleware, metrics_endpoint
from services.payments.views import router as payments_router
from services.payments.views import webhook_router as stripe_webhook_router
from services.policies.views import router as policies_router
from services.presence.views import router as presence_router
from services.search.views import router as search_router

API_PREFIX = "/api/v1"


def create_app(container: Container) -> FastAPI:
    """Build the API around an already-wired container."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await container.start_background()
        try:
            yield
        finally:
            await container.stop_background()

    app = FastAPI(
        title="Portal service",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    problems.install(app)
    for router in (health_router, auth_router, accounts_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(claims_router, prefix=API_PREFIX)
    app.include_router(policies_router, prefix=API_PREFIX)
    app.include_router(documents_router, prefix=API_PREFIX)
    app.include_router(payments_router, prefix=API_PREFIX)
    app.include_router(stripe_webhook_router, prefix=API_PREFIX)
    app.include_router(cases_router, prefix=API_PREFIX)
    app.include_router(evidence_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    for staff_router in (search_router, notes_router, presence_router):
        app.include_router(staff_router, prefix=API_PREFIX)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=container.settings.max_body_bytes,
        large_body_prefixes=tuple(container.extras.get("large_body_prefixes", ())),  # type: ignore[arg-type]
    )
    # Prometheus: outermost, so refused and failed requests are counted and timed too.
    if "metrics" in container.extras:
        app.add_route(METRICS_PATH, metrics_endpoint, include_in_schema=False)
        metrics = container.extras["metrics"]
        assert isinstance(metrics, Metrics)
        app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app

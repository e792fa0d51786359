"""Prometheus metrics: HTTP requests per route template, live subscribers, the job queue, charge
outcomes and notification deliveries.

Multi-process: with `PROMETHEUS_MULTIPROC_DIR` set (as `portal serve --workers N` does) every worker
writes its values to files there and `/metrics`, answered by any worker, sums all of them. The
queue figures are read from the database at scrape time, so every instance reports the same queue.

Threading rule: prometheus_client metrics are thread-safe; `Metrics` is shared by the event loop,
the threadpool and the job runner's threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.clock import Clock
from services.db.database import Database
from services.jobs.models import Job

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # 404s and scanners: one label value, not one per raw path
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_COUNTED = {
    "payment.succeeded": ("charges", "succeeded"),
    "payment.failed": ("charges", "failed"),
    "notification.sent": ("notifications", "sent"),
    "notification.failed": ("notifications", "failed"),
}
_PENDING = "portal.metrics_pending"


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """The service's metrics and how to render them for a scrape."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.multiprocess = multiprocess_mode()
        # In multi-process mode values live in files, not in a registry; scrapes collect the files.
        self.registry: CollectorRegistry | None = None if self.multiprocess else CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "portal_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["method", "route", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "portal_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.live = Gauge(
            "portal_live_subscribers",
            "Open live-feed WebSocket connections",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.charges = Counter(
            "portal_charges",
            "Card charges that finished, by kind (pay_now, autopay, scheduled) and outcome",
            ["kind", "outcome"],
            registry=reg,
        )
        self.notifications = Counter(
            "portal_notification_deliveries",
            "Notices handed to email/text providers, by channel and outcome",
            ["channel", "outcome"],
            registry=reg,
        )
        self._queue = JobQueueCollector(db, clock)
        if reg is not None:
            reg.register(self._queue)

    def render(self) -> tuple[bytes, str]:
        """The exposition text for one scrape, and its content type."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(self._queue)
        else:
            assert self.registry is not None
            registry = self.registry
        return generate_latest(registry), CONTENT_TYPE_LATEST

    # --- audit events as outcomes -------------------------------------------------------------

    def on_audit_event(self, session: Session, event: Any) -> None:
        """Audit hook: note charge and delivery outcomes, counted only once their transaction commits."""
        counted = _COUNTED.get(event.action)
        if counted is None:
            return
        after = event.after or {}
        label = after.get("kind") if counted[0] == "charges" else after.get("channel")
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []
            from sqlalchemy import event as sa_event

            sa_event.listen(session, "after_commit", self._flush, once=True)
            sa_event.listen(session, "after_rollback", _discard, once=True)
        pending.append((counted[0], str(label or "unknown"), counted[1]))

    def _flush(self, session: Session) -> None:
        for family, label, outcome in session.info.pop(_PENDING, ()):
            getattr(self, family).labels(label, outcome).inc()


def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)


class JobQueueCollector:
    """Queue depth and the age of the oldest due job, read from the jobs table at scrape time."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def describe(self) -> list[Any]:
        return []  # no describe-time query: registering must not touch the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        due = and_(Job.status == "queued", Job.run_at <= now)
        depth = GaugeMetricFamily(
            "portal_job_queue_depth", "Jobs due now and not yet taken, by kind", labels=["kind"]
        )
        running = GaugeMetricFamily(
            "portal_jobs_running", "Jobs a runner holds a lease on, by kind", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "portal_job_queue_oldest_age_seconds", "How long the oldest due job has been waiting"
        )
        dead = GaugeMetricFamily("portal_jobs_dead", "Jobs that failed every attempt (need a person)")
        try:
            with self.db.read() as session:
                rows = session.execute(
                    select(Job.kind, Job.status, func.count(), func.min(Job.run_at))
                    .where(or_(due, Job.status == "running"))
                    .group_by(Job.kind, Job.status)
                ).all()
                dead_count = session.scalar(select(func.count()).where(Job.status == "dead")) or 0
        except Exception:  # the database is down: readiness says so; the scrape still answers
            return
        first: datetime | None = None
        for kind, status, count, run_at in rows:
            (depth if status == "queued" else running).add_metric([kind], count)
            if status == "queued" and run_at is not None:
                first = run_at if first is None or run_at < first else first
        oldest.add_metric([], max(0.0, (now - _aware(first)).total_seconds()) if first else 0.0)
        dead.add_metric([], dead_count)
        yield from (depth, running, oldest, dead)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template; tracks open live feeds.

    Pure ASGI (no BaseHTTPMiddleware): one dict lookup and a clock read per request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.metrics.live.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.metrics.live.dec()
            return
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefix ("/api/v1/claims/{claim_id}")."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return UNMATCHED
    # Routes of an included router know only their own part; the prefix is what the raw path has
    # in front of it (templates here never let one parameter span several segments).
    parts = scope["path"].split("/")
    keep = len(parts) - template.count("/")
    return "/".join(parts[:keep]) + template if keep > 0 else template


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they are still part of the totals)."""
    if multiprocess_mode():
        mark_process_dead(pid)


async def metrics_endpoint(request: Any) -> Any:
    """GET /metrics: the Prometheus exposition (the queue figures need a database read)."""
    import asyncio

    from starlette.responses import Response

    metrics: Metrics = request.app.state.container.extras["metrics"]
    body, content_type = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=content_type)

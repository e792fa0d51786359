"""Composition root: the one place that picks concrete adapters and wires the service."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from services.audit.checkpoints import load_audit_key
from services.auth.oidc import OidcProvider
from services.auth.service import AuthContext
from services.auth.tokens import AccessTokens
from services.cases.service import CaseContext, CaseRules
from services.claims.photos import PhotoStore
from services.claims.sla import parse_holidays
from services.clock import Clock, SystemClock
from services.config import ServiceSettings
from services.db.database import Database, make_engine
from services.events.dispatcher import FeedDispatcher, PostgresWakeListener
from services.events.hub import FeedHub
from services.idcards.keys import load_signing_key
from services.notifications import rules as notification_rules
from services.notifications.runtime import NotificationsRuntime
from services.payments.runtime import PaymentsRuntime
from services.presence.runtime import PresenceRuntime
from services.presence.service import PRESENCE_CHANNEL
from services.search.service import install_index_maintenance


@dataclass
class Container:
    """Everything a running service instance holds. Built by `build`, owned by the app."""

    settings: ServiceSettings
    clock: Clock
    db: Database
    auth: AuthContext
    hub: FeedHub
    dispatcher: FeedDispatcher
    pg_listener: PostgresWakeListener | None = None
    extras: dict[str, object] = field(default_factory=dict)

    async def start_background(self) -> None:
        """Start the feed (call on the loop that serves WebSockets)."""
        await self.dispatcher.start()
        if self.pg_listener is not None:
            await self.pg_listener.start()
        if self.settings.jobs_in_process:
            from services.jobs.kinds import build_registry
            from services.jobs.runner import InProcessRunner, JobRunner

            runner = InProcessRunner(
                JobRunner(self.db, self.clock, build_registry(self)), self.settings.jobs_poll_seconds
            )
            runner.start()
            self.extras["job_runner"] = runner

    async def stop_background(self) -> None:
        runner = self.extras.pop("job_runner", None)
        if runner is not None:
            await asyncio.to_thread(runner.stop)  # type: ignore[attr-defined]
        payments = self.extras.get("payments")
        if payments is not None:
            await asyncio.to_thread(payments.close)  # type: ignore[attr-defined]
        if self.pg_listener is not None:
            await self.pg_listener.stop()
        oidc = self.extras.get("oidc")
        if oidc is not None:
            oidc.close()  # type: ignore[attr-defined]
        self.hub.close_all()
        await self.dispatcher.stop()


def libpq_conninfo(url: str) -> str:
    """SQLAlchemy URL -> a libpq URL psycopg can connect with."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def build(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> Container:
    """Wire a service instance from settings (database, tokens, feed)."""
    settings = settings or ServiceSettings.load()
    clock = clock or SystemClock()
    db = Database(make_engine(settings.database_url))
    secret = settings.jwt_secret or secrets.token_urlsafe(48)
    auth = AuthContext(
        clock=clock, settings=settings, tokens=AccessTokens(secret, settings.access_token_ttl_seconds, clock)
    )
    hub = FeedHub()
    dispatcher = FeedDispatcher(db, hub, poll_seconds=settings.feed_poll_seconds)
    db.on_audit_commit(dispatcher.wake_threadsafe)
    listener = None
    extras: dict[str, object] = {}
    # Claim photos: content-addressed files under the data dir; their upload route streams
    # bodies far above max_body_bytes and enforces its own per-photo limit.
    extras["claim_photos"] = PhotoStore(
        Path(settings.data_dir) / "claim-photos",
        max_bytes=settings.claim_photo_max_bytes,
        max_pixels=settings.claim_photo_max_pixels,
    )
    extras["large_body_prefixes"] = ("/api/v1/claims/uploads/",)
    # ID cards are signed with a key from the environment or the OS keyring (never a file).
    extras["idcard_key"] = load_signing_key(Path(settings.data_dir))
    # Audit checkpoints and evidence packs: their own Ed25519 key, same rules (env or keyring).
    extras["audit_key"] = load_audit_key(Path(settings.data_dir))
    extras["case_context"] = CaseContext(
        rules=CaseRules(
            holidays=parse_holidays(settings.case_holidays or settings.claim_holidays),
            final_weeks=settings.case_final_response_weeks,
        )
    )
    # Payments: the Stripe gateway (or localstripe when no key is set) starts on first use.
    extras["payments"] = PaymentsRuntime(settings, clock, db)
    # Notifications: notices are queued by an audit hook in the causing transaction.
    extras["notifications"] = NotificationsRuntime(settings, clock, db)
    db.add_audit_hook(notification_rules.on_audit_event)
    # Presence (who has an account open) rides the same feed; search terms follow every flush.
    presence = PresenceRuntime(db, hub, clock)
    extras["presence"] = presence
    install_index_maintenance()
    if settings.oidc_enabled:
        # Single sign-on: discovery and keys are fetched (and cached) on first use, not here.
        extras["oidc"] = OidcProvider(settings, clock, state_secret=secret)
    if db.dialect == "postgresql":
        listener = PostgresWakeListener(
            libpq_conninfo(settings.database_url),
            dispatcher,
            extra_channels={PRESENCE_CHANNEL: presence.on_notify},
        )
    return Container(
        settings=settings,
        clock=clock,
        db=db,
        auth=auth,
        hub=hub,
        dispatcher=dispatcher,
        pg_listener=listener,
        extras=extras,
    )

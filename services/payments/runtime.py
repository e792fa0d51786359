"""What the payments domain needs at run time: the gateway (built lazily), the database, the
clock and the settings. Built by services/bootstrap.py and hung on the Container.

Threading rule: `gateway()` may be called from any thread; the first call starts localstripe
(when no Stripe key is configured) under a lock, later calls return the same gateway.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.clock import Clock
from services.config import ServiceSettings
from services.db.database import Database
from services.payments.gateway import PaymentGateway
from services.payments.localstripe import LocalStripe

log = logging.getLogger(__name__)

LOCAL_SECRET_KEY = "sk_test_portal_localstripe"
LOCAL_PUBLISHABLE_KEY = "pk_test_portal_localstripe"
WEBHOOK_PATH = "/api/v1/stripe/webhook"


@dataclass(frozen=True)
class Timeline:
    """Delinquency and dunning periods, in days (from settings)."""

    grace_days: int = 10
    cancel_after_days: int = 30
    reinstate_within_days: int = 30
    reminder_days: int = 3
    retry_days: int = 3
    max_soft_retries: int = 2
    suspend_after_failures: int = 3

    @classmethod
    def from_settings(cls, s: ServiceSettings) -> Timeline:
        return cls(
            grace_days=s.grace_days,
            cancel_after_days=max(s.cancel_after_days, s.grace_days + 1),
            reinstate_within_days=s.reinstate_within_days,
            reminder_days=s.autopay_reminder_days,
        )


class PaymentsRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        clock: Clock,
        db: Database,
        *,
        gateway: PaymentGateway | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self.timeline = Timeline.from_settings(settings)
        self._gateway = gateway
        self._local: LocalStripe | None = None
        self._lock = threading.Lock()
        self._service_url: str | None = None

    @property
    def local(self) -> LocalStripe | None:
        """The localstripe this runtime started, if any."""
        return self._local

    def gateway(self) -> PaymentGateway:
        """The gateway, starting localstripe first when no Stripe key is configured."""
        if self._gateway is not None:
            return self._gateway
        with self._lock:
            if self._gateway is None:
                self._gateway = self._build()
            return self._gateway

    def _build(self) -> PaymentGateway:
        from services.payments.adapters.stripe_gateway import StripeGateway

        s = self.settings
        if s.stripe_secret_key:
            mode = "local" if s.stripe_api_base.startswith(("http://127.", "http://localhost")) else "stripe"
            return StripeGateway(
                secret_key=s.stripe_secret_key,
                publishable_key=s.stripe_publishable_key,
                webhook_secret=s.stripe_webhook_secret,
                api_base=s.stripe_api_base,
                mode=mode,
            )
        # The embedded default: our own localstripe with its own state file, so saved cards
        # survive a restart of the app and never collide with another instance.
        local = LocalStripe(Path(s.data_dir) / "localstripe" / "state.pickle")
        url = local.start()
        self._local = local
        webhook_secret = "whsec_" + secrets.token_urlsafe(24)
        gateway = StripeGateway(
            secret_key=LOCAL_SECRET_KEY,
            publishable_key=LOCAL_PUBLISHABLE_KEY,
            webhook_secret=webhook_secret,
            api_base=url,
            mode="local",
        )
        if self._service_url:
            self._register_webhook(local, webhook_secret)
        self._webhook_secret = webhook_secret
        return gateway

    def _register_webhook(self, local: LocalStripe, secret: str) -> None:
        assert self._service_url is not None
        try:
            local.register_webhook("portal", self._service_url + WEBHOOK_PATH, secret)
        except Exception:  # the service still works; reconciliation jobs catch up
            log.exception("could not register the localstripe webhook")

    def on_serving(self, base_url: str) -> None:
        """Tell the runtime where the service listens (localstripe posts webhooks there)."""
        self._service_url = base_url
        if self._local is not None and self._local.running:
            self._register_webhook(self._local, self._webhook_secret)

    def close(self) -> None:
        """Stop localstripe if this runtime started it."""
        if self._local is not None:
            self._local.stop()
            self._local = None
            self._gateway = None

    def describe(self) -> dict[str, Any]:
        g = self.gateway()
        return {"mode": g.mode, "publishable_key": g.publishable_key, "api_base": g.api_base}


def payments_runtime(container: Any) -> PaymentsRuntime:
    """The PaymentsRuntime that bootstrap hung on the container."""
    rt = container.extras.get("payments")
    if rt is None:
        raise RuntimeError("payments are not wired on this container (services.bootstrap.build)")
    return rt

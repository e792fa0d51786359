"""What the payments domain needs at run time: the gateway (built lazily), the database, the
clock and the settings. Built by services/bootstrap.py and hung on the Container.

Threading rule: `gateway()` may be called from any thread; the first call starts the Stripe
sandbox's supervisor (when no Stripe key is configured) under a lock, later calls return the same
gateway. The sandbox is shared by every process on the data directory and outlives the thread
that first asked for it (services/payments/localstripe.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.clock import Clock
from services.config import ServiceSettings
from services.db.database import Database
from services.payments.gateway import CardInfo, GatewayUnavailable, IntentInfo, PaymentGateway, RefundInfo
from services.payments.localstripe import LocalStripe, SharedSandbox

log = logging.getLogger(__name__)

LOCAL_SECRET_KEY = "sk_test_portal_localstripe"
LOCAL_PUBLISHABLE_KEY = "pk_test_portal_localstripe"
WEBHOOK_PATH = "/api/v1/stripe/webhook"
# How long a call waits for the sandbox to come up (first start, or a restart after it died).
START_WAIT_SECONDS = 20.0


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
        self._sandbox: SharedSandbox | None = None
        self._lock = threading.Lock()
        self._service_url: str | None = None
        # Per process: localstripe signs the webhooks it posts to this instance with it.
        self._webhook_secret = "whsec_" + secrets.token_urlsafe(24)

    @property
    def local(self) -> LocalStripe | None:
        """The localstripe this process runs for the data directory, if it is the owner."""
        sandbox = self._sandbox
        return sandbox.local if sandbox is not None and sandbox.owner else None

    @property
    def sandbox(self) -> SharedSandbox | None:
        """The shared Stripe sandbox this runtime uses (None with real Stripe keys)."""
        return self._sandbox

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
        # The embedded default: one localstripe per data directory (its state file there, so saved
        # cards survive a restart), supervised for the life of the process and shared with every
        # other process on the directory; the gateway follows its current address.
        if self._sandbox is None:
            self._sandbox = SharedSandbox(Path(s.data_dir) / "localstripe")
            self._sandbox.on_change(self._sandbox_changed)
        gateway = SandboxGateway(self._sandbox, self._webhook_secret)
        gateway.api_base  # noqa: B018 - waits for the first start, raising GatewayUnavailable if it fails
        return gateway

    def _sandbox_changed(self, url: str) -> None:
        # A new sandbox (restart, takeover) knows no webhooks: tell it where we listen.
        if self._service_url:
            self._register_webhook(url)

    def _register_webhook(self, url: str) -> None:
        assert self._service_url is not None
        try:
            r = httpx.post(
                f"{url}/_config/webhooks/portal",
                data={"url": self._service_url + WEBHOOK_PATH, "secret": self._webhook_secret},
                timeout=5,
            )
            r.raise_for_status()
        except Exception:  # the service still works; reconciliation jobs catch up
            log.exception("could not register the localstripe webhook")

    def on_serving(self, base_url: str) -> None:
        """Tell the runtime where the service listens (localstripe posts webhooks there)."""
        self._service_url = base_url
        if self._sandbox is not None and self._sandbox.running_url is not None:
            self._register_webhook(self._sandbox.running_url)

    def close(self) -> None:
        """Stop supervising the sandbox (its owner stops localstripe; another process takes over)."""
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
            self._gateway = None

    def ping(self, timeout: float = 2.0) -> None:
        """Readiness: raises GatewayUnavailable when the Stripe sandbox does not answer. With real
        Stripe keys nothing is sent (a probe must not spend Stripe's rate limit)."""
        if self.settings.stripe_secret_key:
            return
        url = self.gateway().api_base
        try:
            httpx.get(
                f"{url}/v1/customers",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {LOCAL_SECRET_KEY}"},
                timeout=timeout,
            ).raise_for_status()
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(f"The Stripe sandbox at {url} does not answer: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        g = self.gateway()
        return {"mode": g.mode, "publishable_key": g.publishable_key, "api_base": g.api_base}


class SandboxGateway:
    """The Stripe gateway on the shared sandbox: each call goes to the sandbox's current address,
    so a restarted or taken-over localstripe (new port) is followed, never a port captured once.

    Threading rule: as PaymentGateway (thread-safe; the inner gateway is swapped under a lock)."""

    mode = "local"
    publishable_key = LOCAL_PUBLISHABLE_KEY

    def __init__(self, sandbox: SharedSandbox, webhook_secret: str) -> None:
        self._sandbox = sandbox
        self._webhook_secret = webhook_secret
        self._lock = threading.Lock()
        self._inner: PaymentGateway | None = None
        self._inner_url: str | None = None

    @property
    def api_base(self) -> str:
        try:
            return self._sandbox.start(timeout=START_WAIT_SECONDS)  # at once when it runs
        except TimeoutError as exc:
            # Nothing reached Stripe: the charging code records and reports it as such.
            raise GatewayUnavailable("The Stripe sandbox is not running.") from exc

    def _current(self) -> PaymentGateway:
        from services.payments.adapters.stripe_gateway import StripeGateway

        url = self.api_base
        with self._lock:
            if self._inner is None or self._inner_url != url:
                self._inner = StripeGateway(
                    secret_key=LOCAL_SECRET_KEY,
                    publishable_key=LOCAL_PUBLISHABLE_KEY,
                    webhook_secret=self._webhook_secret,
                    api_base=url,
                    mode="local",
                )
                self._inner_url = url
            return self._inner

    def create_customer(self, *, account_id: str, name: str, email: str | None, idempotency_key: str) -> str:
        return self._current().create_customer(
            account_id=account_id, name=name, email=email, idempotency_key=idempotency_key
        )

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardInfo:
        return self._current().attach_card(payment_method_id=payment_method_id, customer_id=customer_id)

    def detach_card(self, *, payment_method_id: str) -> None:
        self._current().detach_card(payment_method_id=payment_method_id)

    def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentInfo:
        return self._current().create_intent(
            amount_minor=amount_minor,
            currency=currency,
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )

    def confirm_intent(self, intent_id: str, *, idempotency_key: str) -> IntentInfo:
        return self._current().confirm_intent(intent_id, idempotency_key=idempotency_key)

    def retrieve_intent(self, intent_id: str) -> IntentInfo:
        return self._current().retrieve_intent(intent_id)

    def cancel_intent(self, intent_id: str) -> IntentInfo:
        return self._current().cancel_intent(intent_id)

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> RefundInfo:
        return self._current().refund(
            intent_id=intent_id, amount_minor=amount_minor, idempotency_key=idempotency_key
        )

    def verify_webhook(self, payload: bytes, signature: str) -> dict[str, Any]:
        return self._current().verify_webhook(payload, signature)


def payments_runtime(container: Any) -> PaymentsRuntime:
    """The PaymentsRuntime that bootstrap hung on the container."""
    rt = container.extras.get("payments")
    if rt is None:
        raise RuntimeError("payments are not wired on this container (services.bootstrap.build)")
    return rt

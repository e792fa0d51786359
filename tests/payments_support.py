"""Helpers for payments tests: a service wired to the session's localstripe, cards tokenised
the way the desktop client does it, the job runner, and Stripe-side checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.jobs.kinds import build_registry
from services.jobs.runner import JobRunner
from services.payments.localstripe import LocalStripe
from services.payments.runtime import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY
from tests.support import Service, running_service

WEBHOOK_SECRET = "whsec_portal_tests"
VISA = "4242424242424242"
DECLINE_AT_CHARGE = "4000000000000341"
NEEDS_3DS = "4000002760003184"
ALEX = "alex.morgan@example.com"
PRIYA = "priya.shah@example.com"


def stripe_settings(ls: LocalStripe) -> dict[str, Any]:
    return {
        "stripe_secret_key": LOCAL_SECRET_KEY,
        "stripe_publishable_key": LOCAL_PUBLISHABLE_KEY,
        "stripe_api_base": ls.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
    }


@contextmanager
def payments_service(
    database_url: str, data_dir: Path, ls: LocalStripe, **settings: Any
) -> Iterator[Service]:
    with running_service(database_url, data_dir, **stripe_settings(ls), **settings) as svc:
        yield svc


def runner(svc: Service, **kw: Any) -> JobRunner:
    c = svc.container
    return JobRunner(c.db, c.clock, build_registry(c), **kw)


def run_jobs(svc: Service) -> int:
    return runner(svc).run_once()


def tokenise(ls_url: str, number: str = VISA, exp_year: int = 2031) -> str:
    """What the desktop client does: send the card to Stripe with the publishable key."""
    r = httpx.post(
        f"{ls_url}/v1/payment_methods",
        headers={"Authorization": f"Bearer {LOCAL_PUBLISHABLE_KEY}"},
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": str(exp_year),
            "card[cvc]": "123",
        },
    )
    r.raise_for_status()
    return str(r.json()["id"])


def account_id(client: httpx.Client) -> str:
    return str(client.get("/me").json()["accounts"][0]["id"])


def view(client: httpx.Client, acc: str) -> dict[str, Any]:
    r = client.get(f"/accounts/{acc}/payments")
    assert r.status_code == 200, r.text
    return r.json()


def policy(v: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(p for p in v["policies"] if p["number"].startswith(prefix))


def add_card(client: httpx.Client, acc: str, ls_url: str, number: str = VISA, **kw: Any) -> dict[str, Any]:
    r = client.post(
        f"/accounts/{acc}/payment-methods", json={"stripe_payment_method_id": tokenise(ls_url, number), **kw}
    )
    assert r.status_code == 201, r.text
    return r.json()


def pay(
    client: httpx.Client, policy_id: str, method_id: str, amount: int | None, key: str | None = None
) -> httpx.Response:
    return client.post(
        f"/policies/{policy_id}/payments",
        json={"payment_method_id": method_id, "amount_minor": amount, "request_key": key or uuid.uuid4().hex},
    )


def stripe_intents(ls_url: str) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds (paged)."""
    out: list[dict[str, Any]] = []
    after = None
    headers = {"Authorization": f"Bearer {LOCAL_SECRET_KEY}"}
    while True:
        params: dict[str, Any] = {"limit": 100}
        if after:
            params["starting_after"] = after
        page = httpx.get(f"{ls_url}/v1/payment_intents", params=params, headers=headers, timeout=30).json()
        out.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return out
        after = page["data"][-1]["id"]


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    ts = at or int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={sig}"


class _SignIn(httpx.Auth):
    """Signs in again when a moved clock has expired the access token."""

    requires_response_body = True

    def __init__(self, svc: Service, email: str) -> None:
        self.svc, self.email = svc, email
        self.token = svc.sign_in(email)["access_token"]

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401 and b"token_expired" in response.content:
            self.token = self.svc.sign_in(self.email)["access_token"]
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


def client(svc: Service, email: str) -> httpx.Client:
    """A client signed in as `email` that survives clock moves."""
    return httpx.Client(base_url=svc.url + "/api/v1", timeout=30, auth=_SignIn(svc, email))

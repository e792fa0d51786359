"""PortalClient: the one way the desktop app reaches the Portal service (HTTP + WebSocket)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import random
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from portal_app.client.case_models import Case, CaseLimits, ServiceDashboard
from portal_app.client.errors import ApiError, NotSignedIn, ServiceUnreachable
from portal_app.client.models import (
    AccountNote,
    AccountOverview,
    BranchVerification,
    Claim,
    ClaimPhoto,
    CustomerHit,
    DocumentInfo,
    EventsPage,
    Health,
    Holder,
    IdCardInfo,
    InsurerProfile,
    Me,
    NoticeList,
    NotificationSettings,
    OidcConfig,
    OidcStart,
    OpenAccount,
    PaymentRow,
    PaymentsConfig,
    PaymentsOverview,
    PolicyDetail,
    SavedCard,
    ScheduledPaymentRow,
    TokenPair,
    Viewer,
)

API_PREFIX = "/api/v1"
# WebSocket close codes from docs/API.md.
CLOSE_BAD_TOKEN = 4401
CLOSE_NOT_FOUND = 4404


class LiveState(enum.StrEnum):
    """What the live change feed is doing, for the status-bar indicator."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


# After this many failed connection attempts in a row the feed reports OFFLINE rather than
# RECONNECTING: a blip is "reconnecting", a service that stays away is "offline".
OFFLINE_AFTER_ATTEMPTS = 3


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


class PortalClient:
    """Async API client holding one signed-in session (access + refresh token).

    Threading/async rule: an instance belongs to the asyncio loop that first awaits it (the qasync
    loop in the app). Await every coroutine on that loop, never from another thread; the callbacks
    (`on_refresh_token`, `on_session_ended`, live `on_state`) run on that loop too, so they may
    touch Qt widgets directly. Not thread-safe.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        on_refresh_token: Callable[[str], None] | None = None,
        on_session_ended: Callable[[ApiError], None] | None = None,
        service_headers: dict[str, str] | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        loopback = _is_loopback(self._base_url)
        # Sent with every request and WebSocket: the embedded service's per-launch key.
        self._service_headers = dict(service_headers or {})
        verify: ssl.SSLContext | bool = True
        if loopback and self._base_url.startswith("http://"):
            # Plain HTTP on this computer: no CA bundle to load (0.4 s and more on the GUI thread
            # when the client is made). A context that trusts nothing fails closed should TLS come up.
            verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # Proxy variables must not reroute the embedded service on 127.0.0.1.
        self._http = httpx.AsyncClient(
            base_url=self._base_url + API_PREFIX,
            timeout=timeout,
            trust_env=not loopback,
            verify=verify,
            headers={
                "Accept": "application/json",
                "User-Agent": "Portal-Desktop/0.1",
                **self._service_headers,
            },
        )
        # Set by rebase(): a live feed waiting out its backoff reconnects at once.
        self._wake = asyncio.Event()
        self._loopback = loopback
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        # One refresh at a time: refresh tokens rotate and a replayed one revokes the whole
        # family, so two concurrent 401s must not both spend the same refresh token.
        self._refresh_lock = asyncio.Lock()
        self.user: Me | None = None
        self.on_refresh_token = on_refresh_token
        self.on_session_ended = on_session_ended

    # --- session state ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    def rebase(self, base_url: str) -> None:
        """Follow the service to a new address (the embedded service restarted); the session stays."""
        self._base_url = base_url.rstrip("/")
        self._http.base_url = httpx.URL(self._base_url + API_PREFIX)
        self._wake.set()

    @property
    def refresh_token(self) -> str | None:
        return self._refresh_token

    @property
    def signed_in(self) -> bool:
        return self._refresh_token is not None or self._access_token is not None

    def restore(self, refresh_token: str) -> None:
        """Adopt a refresh token kept from an earlier run; the next call exchanges it."""
        self._refresh_token = refresh_token
        self._access_token = None

    def _adopt(self, pair: TokenPair) -> TokenPair:
        self._access_token = pair.access_token
        self._refresh_token = pair.refresh_token
        self.user = pair.user
        if self.on_refresh_token is not None:
            self.on_refresh_token(pair.refresh_token)
        return pair

    def _forget(self) -> None:
        self._access_token = None
        self._refresh_token = None
        self.user = None

    # --- HTTP plumbing ---------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            response = await self._http.request(method, path, json=body, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise ServiceUnreachable(self._base_url, str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = response.text
            raise ApiError.from_problem(response.status_code, problem)
        return response

    async def _authed(
        self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send with the access token; on auth.token_expired refresh once and resend."""
        token = await self._access()
        try:
            return await self._send(method, path, body=body, params=params, token=token)
        except ApiError as exc:
            if exc.code != "auth.token_expired" or self._refresh_token is None:
                raise
        token = await self._refresh_after(token)
        return await self._send(method, path, body=body, params=params, token=token)

    async def _access(self) -> str:
        if self._access_token is not None:
            return self._access_token
        if self._refresh_token is None:
            raise NotSignedIn("Sign in first.")
        return await self._refresh_after(None)

    async def _refresh_after(self, stale: str | None) -> str:
        """Refresh unless another task already replaced the stale access token."""
        async with self._refresh_lock:
            if self._access_token is not None and self._access_token != stale:
                return self._access_token
            pair = await self.refresh()
            return pair.access_token

    # --- auth ------------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> TokenPair:
        """POST /auth/sign-in; keeps the tokens for later calls."""
        response = await self._send("POST", "/auth/sign-in", body={"email": email, "password": password})
        return self._adopt(TokenPair.from_json(response.json()))

    async def refresh(self, refresh_token: str | None = None) -> TokenPair:
        """POST /auth/refresh; the old refresh token stops working, the new one is reported."""
        token = refresh_token or self._refresh_token
        if not token:
            raise NotSignedIn("No session to refresh.")
        try:
            response = await self._send("POST", "/auth/refresh", body={"refresh_token": token})
        except ApiError as exc:
            if exc.ends_session:
                self._forget()
                if self.on_session_ended is not None:
                    self.on_session_ended(exc)
            raise
        return self._adopt(TokenPair.from_json(response.json()))

    async def sign_out(self) -> bool:
        """Forget the session locally, then revoke it on the service.

        Returns False when the service could not be told (it was unreachable): the local
        session is gone either way, which is what the person pressing "Sign out" expects.
        """
        token = self._refresh_token
        self._forget()
        if token is None:
            return True
        try:
            await self._send("POST", "/auth/sign-out", body={"refresh_token": token})
        except (ServiceUnreachable, ApiError):
            return False
        return True

    # --- single sign-on (docs/API.md "Single sign-on") ----------------------------------------

    async def insurer(self) -> InsurerProfile:
        """The insurer's name, phone lines and addresses (no sign-in needed)."""
        response = await self._send("GET", "/insurer")
        return InsurerProfile.from_json(response.json())

    async def oidc_config(self) -> OidcConfig:
        response = await self._send("GET", "/auth/oidc/config")
        return OidcConfig.from_json(response.json())

    async def oidc_start(self, redirect_uri: str, code_challenge: str) -> OidcStart:
        body = {"redirect_uri": redirect_uri, "code_challenge": code_challenge}
        data = (await self._send("POST", "/auth/oidc/start", body=body)).json()
        return OidcStart(authorization_url=str(data["authorization_url"]), state=str(data["state"]))

    async def oidc_exchange(
        self, *, state: str | None, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenPair:
        """POST /auth/oidc/exchange; keeps the tokens like sign_in does."""
        body = {"state": state, "code": code, "code_verifier": code_verifier, "redirect_uri": redirect_uri}
        response = await self._send("POST", "/auth/oidc/exchange", body=body)
        return self._adopt(TokenPair.from_json(response.json()))

    async def oidc_sign_out(self) -> str | None:
        """Like sign_out, for a session that came through the provider; its end-session URL."""
        token = self._refresh_token
        self._forget()
        if token is None:
            return None
        try:
            response = await self._send("POST", "/auth/oidc/sign-out", body={"refresh_token": token})
        except (ServiceUnreachable, ApiError):
            return None
        url = response.json().get("end_session_url")
        return str(url) if url else None

    # --- resources -------------------------------------------------------------------------

    async def me(self) -> Me:
        response = await self._authed("GET", "/me")
        self.user = Me.from_json(response.json())
        return self.user

    async def account(self, account_id: str) -> AccountOverview:
        """GET /accounts/{id}: the overview (staff opening it writes an account.viewed event)."""
        response = await self._authed("GET", f"/accounts/{quote(account_id, safe='')}")
        return AccountOverview.from_json(response.json())

    async def account_events(self, account_id: str, since: int = 0, limit: int = 100) -> EventsPage:
        response = await self._authed(
            "GET",
            f"/accounts/{quote(account_id, safe='')}/events",
            params={"since": since, "limit": limit},
        )
        return EventsPage.from_json(response.json())

    async def update_holder_contact(
        self,
        account_id: str,
        holder_id: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = None,
        postcode: str | None = None,
        paperless: bool | None = None,
    ) -> Holder:
        """PATCH a holder's contact details and paperless preference; only the fields given are sent."""
        fields: dict[str, Any] = {
            "phone": phone,
            "email": email,
            "address": address,
            "postcode": postcode,
            "paperless": paperless,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        response = await self._authed(
            "PATCH",
            f"/accounts/{quote(account_id, safe='')}/holders/{quote(holder_id, safe='')}",
            body=body,
        )
        return Holder.from_json(response.json())

    async def policy(self, policy_id: str) -> PolicyDetail:
        """GET /policies/{id}: the detail page's data."""
        response = await self._authed("GET", f"/policies/{quote(policy_id, safe='')}")
        return PolicyDetail.from_json(response.json())

    async def documents(self, account_id: str) -> list[DocumentInfo]:
        """GET /accounts/{id}/documents: every document on the account, newest first."""
        response = await self._authed("GET", f"/accounts/{quote(account_id, safe='')}/documents")
        return [DocumentInfo.from_json(d) for d in response.json()["documents"]]

    async def policy_documents(self, policy_id: str) -> list[DocumentInfo]:
        response = await self._authed("GET", f"/policies/{quote(policy_id, safe='')}/documents")
        return [DocumentInfo.from_json(d) for d in response.json()["documents"]]

    async def document_content(self, document_id: str, *, download: bool = False) -> bytes:
        """The PDF bytes; the service records a view (or a download when `download`)."""
        response = await self._authed(
            "GET",
            f"/documents/{quote(document_id, safe='')}/content",
            params={"disposition": "attachment" if download else "inline"},
        )
        return response.content

    async def id_cards(self, account_id: str) -> list[IdCardInfo]:
        """GET /accounts/{id}/id-cards: the cards to carry now."""
        response = await self._authed("GET", f"/accounts/{quote(account_id, safe='')}/id-cards")
        return [IdCardInfo.from_json(d) for d in response.json()["id_cards"]]

    async def branch_verify(
        self, policy_number: str, date_of_birth: str, postcode: str
    ) -> BranchVerification:
        response = await self._authed(
            "POST",
            "/branch/verify",
            body={
                "policy_number": policy_number,
                "date_of_birth": date_of_birth,
                "postcode": postcode,
            },
        )
        return BranchVerification.from_json(response.json())

    async def health(self) -> Health:
        response = await self._send("GET", "/health")
        return Health.from_json(response.json())

    # --- payments --------------------------------------------------------------------------

    async def payments_config(self) -> PaymentsConfig:
        """Where and with which publishable key cards are tokenised."""
        response = await self._authed("GET", "/payments/config")
        return PaymentsConfig.from_json(response.json())

    async def payments(self, account_id: str) -> PaymentsOverview:
        """GET /accounts/{id}/payments: schedules, cards, autopay, scheduled payments, history."""
        response = await self._authed("GET", f"/accounts/{quote(account_id, safe='')}/payments")
        return PaymentsOverview.from_json(response.json())

    async def tokenize_card(
        self, config: PaymentsConfig, *, number: str, exp_month: int, exp_year: int, cvc: str
    ) -> str:
        """Send the card to Stripe itself (never to Portal) and return its payment-method id."""
        digits = "".join(ch for ch in number if ch.isdigit())
        try:
            async with httpx.AsyncClient(
                base_url=config.api_base, timeout=20, trust_env=not _is_loopback(config.api_base)
            ) as stripe_http:
                response = await stripe_http.post(
                    "/v1/payment_methods",
                    headers={"Authorization": f"Bearer {config.publishable_key}"},
                    data={
                        "type": "card",
                        "card[number]": digits,
                        "card[exp_month]": str(exp_month),
                        "card[exp_year]": str(exp_year),
                        "card[cvc]": cvc,
                    },
                )
        except httpx.TransportError as exc:
            raise ServiceUnreachable(config.api_base, str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            try:
                error = response.json().get("error") or {}
            except ValueError:
                error = {}
            code = str(error.get("code") or "invalid_card")
            raise ApiError(
                code=f"card.{code}", status=response.status_code, detail=str(error.get("message") or "")
            )
        return str(response.json()["id"])

    async def add_card(
        self, account_id: str, stripe_payment_method_id: str, *, make_default: bool = False
    ) -> SavedCard:
        response = await self._authed(
            "POST",
            f"/accounts/{quote(account_id, safe='')}/payment-methods",
            body={"stripe_payment_method_id": stripe_payment_method_id, "make_default": make_default},
        )
        return SavedCard.from_json(response.json())

    async def set_default_card(self, account_id: str, method_id: str) -> SavedCard:
        response = await self._authed(
            "POST",
            f"/accounts/{quote(account_id, safe='')}/payment-methods/{quote(method_id, safe='')}/default",
        )
        return SavedCard.from_json(response.json())

    async def remove_card(self, account_id: str, method_id: str) -> None:
        await self._authed(
            "DELETE", f"/accounts/{quote(account_id, safe='')}/payment-methods/{quote(method_id, safe='')}"
        )

    async def pay_now(
        self, policy_id: str, *, payment_method_id: str, amount_minor: int | None, request_key: str
    ) -> PaymentRow:
        """Charge a saved card now (amount None: the full balance). Declines raise ApiError."""
        response = await self._authed(
            "POST",
            f"/policies/{quote(policy_id, safe='')}/payments",
            body={
                "payment_method_id": payment_method_id,
                "amount_minor": amount_minor,
                "request_key": request_key,
            },
        )
        return PaymentRow.from_json(response.json())

    async def schedule_payment(
        self, policy_id: str, *, run_on: date, amount_minor: int, payment_method_id: str
    ) -> ScheduledPaymentRow:
        response = await self._authed(
            "POST",
            f"/policies/{quote(policy_id, safe='')}/scheduled-payments",
            body={
                "run_on": run_on.isoformat(),
                "amount_minor": amount_minor,
                "payment_method_id": payment_method_id,
            },
        )
        return ScheduledPaymentRow.from_json(response.json())

    async def update_scheduled_payment(
        self,
        scheduled_id: str,
        *,
        run_on: date | None = None,
        amount_minor: int | None = None,
        payment_method_id: str | None = None,
    ) -> ScheduledPaymentRow:
        body: dict[str, Any] = {}
        if run_on is not None:
            body["run_on"] = run_on.isoformat()
        if amount_minor is not None:
            body["amount_minor"] = amount_minor
        if payment_method_id is not None:
            body["payment_method_id"] = payment_method_id
        response = await self._authed(
            "PATCH", f"/scheduled-payments/{quote(scheduled_id, safe='')}", body=body
        )
        return ScheduledPaymentRow.from_json(response.json())

    async def cancel_scheduled_payment(self, scheduled_id: str) -> ScheduledPaymentRow:
        response = await self._authed("DELETE", f"/scheduled-payments/{quote(scheduled_id, safe='')}")
        return ScheduledPaymentRow.from_json(response.json())

    async def enroll_autopay(
        self, policy_id: str, *, payment_method_id: str, authorization_text: str
    ) -> None:
        await self._authed(
            "PUT",
            f"/policies/{quote(policy_id, safe='')}/autopay",
            body={"payment_method_id": payment_method_id, "authorization_text": authorization_text},
        )

    async def disable_autopay(self, policy_id: str) -> None:
        await self._authed("DELETE", f"/policies/{quote(policy_id, safe='')}/autopay")

    async def set_payment_day(self, policy_id: str, day: int) -> int:
        """Move future installments to `day` of the month; returns how many moved."""
        response = await self._authed(
            "PUT", f"/policies/{quote(policy_id, safe='')}/payment-day", body={"day": day}
        )
        return len(response.json().get("moved") or [])

    async def payment_receipt(self, payment_id: str) -> bytes:
        """The PDF receipt of a completed payment."""
        response = await self._authed("GET", f"/payments/{quote(payment_id, safe='')}/receipt.pdf")
        return response.content

    # --- staff: search, notes, presence ----------------------------------------------------

    async def search_customers(self, query: str, limit: int = 20) -> list[CustomerHit]:
        """GET /search/customers: ranked customers for a partial name, number, phone, email or postcode."""
        response = await self._authed("GET", "/search/customers", params={"q": query, "limit": limit})
        return [CustomerHit.from_json(d) for d in response.json()["results"]]

    async def account_notes(self, account_id: str) -> list[AccountNote]:
        """GET /accounts/{id}/notes: internal notes, newest first (staff only)."""
        response = await self._authed("GET", f"/accounts/{quote(account_id, safe='')}/notes")
        return [AccountNote.from_json(d) for d in response.json()["notes"]]

    async def add_account_note(self, account_id: str, body: str) -> AccountNote:
        """POST /accounts/{id}/notes: add an internal note (audited as note.added)."""
        response = await self._authed(
            "POST", f"/accounts/{quote(account_id, safe='')}/notes", body={"body": body}
        )
        return AccountNote.from_json(response.json())

    async def open_accounts(self) -> list[OpenAccount]:
        """GET /staff/open-accounts: accounts staff have open now (supervisors)."""
        response = await self._authed("GET", "/staff/open-accounts")
        return [OpenAccount.from_json(d) for d in response.json()["accounts"]]

    # --- cases and evidence (docs/API.md "Cases", "Evidence") -------------------------------

    async def cases(self, account_id: str) -> list[Case]:
        """GET /accounts/{id}/cases: the account's complaints and disputes, newest first."""
        return (await self.case_list(account_id))[0]

    async def case_list(self, account_id: str) -> tuple[list[Case], CaseLimits]:
        """The account's cases and the attachment limits the service enforces on new ones."""
        data = (await self._authed("GET", f"/accounts/{quote(account_id, safe='')}/cases")).json()
        return [Case.from_json(c) for c in data.get("cases") or []], CaseLimits.from_json(data["limits"])

    async def case(self, account_id: str, case_id: str) -> Case:
        path = f"/accounts/{quote(account_id, safe='')}/cases/{quote(case_id, safe='')}"
        return Case.from_json((await self._authed("GET", path)).json())

    async def raise_case(self, account_id: str, **fields: Any) -> Case:
        """POST /accounts/{id}/cases: kind, category, subject, description, policy_id, attachments."""
        response = await self._authed("POST", f"/accounts/{quote(account_id, safe='')}/cases", body=fields)
        return Case.from_json(response.json())

    async def case_message(
        self, account_id: str, case_id: str, message: str, *, still_unresolved: bool = False
    ) -> Case:
        path = f"/accounts/{quote(account_id, safe='')}/cases/{quote(case_id, safe='')}/messages"
        body = {"message": message, "still_unresolved": still_unresolved}
        return Case.from_json((await self._authed("POST", path, body=body)).json())

    async def case_queue(self, *, team: str | None = None, overdue_only: bool = False) -> list[Case]:
        """Staff: open cases, the most urgent promise first."""
        params: dict[str, Any] = {"overdue_only": "true" if overdue_only else "false"}
        if team:
            params["team"] = team
        response = await self._authed("GET", "/cases/queue", params=params)
        return [Case.from_json(c) for c in response.json().get("cases") or []]

    async def case_action(self, case_id: str, action: str, body: dict[str, Any]) -> Case:
        """Staff: acknowledge | responses | escalate | resolution | final-response."""
        path = f"/cases/{quote(case_id, safe='')}/{quote(action, safe='')}"
        return Case.from_json((await self._authed("POST", path, body=body)).json())

    async def service_dashboard(self, days: int = 14) -> ServiceDashboard:
        response = await self._authed("GET", "/cases/dashboard", params={"days": days})
        return ServiceDashboard.from_json(response.json())

    async def evidence_pack(
        self, account_id: str, *, date_from: date | None = None, date_to: date | None = None
    ) -> bytes:
        """Staff: the account's evidence pack as zip bytes."""
        params = {k: v.isoformat() for k, v in (("from", date_from), ("to", date_to)) if v}
        response = await self._authed(
            "GET", f"/staff/accounts/{quote(account_id, safe='')}/evidence", params=params
        )
        return response.content

    async def dispute_answer(
        self, policy_id: str, kind: str, *, date_from: date | None = None, date_to: date | None = None
    ) -> dict[str, Any]:
        """Staff: kind "cancellation" or "charges" for a policy (plain JSON, see docs/API.md)."""
        params = {k: v.isoformat() for k, v in (("from", date_from), ("to", date_to)) if v}
        path = f"/staff/policies/{quote(policy_id, safe='')}/disputes/{quote(kind, safe='')}"
        return dict((await self._authed("GET", path, params=params)).json())

    async def audit_public_key(self) -> dict[str, Any]:
        return dict((await self._send("GET", "/audit/public-key")).json())

    # --- claims ----------------------------------------------------------------------------

    async def file_claim(self, **fields: Any) -> Claim:
        """POST /claims: first notice of loss; the answer carries the claim number at once."""
        response = await self._authed("POST", "/claims", body=fields)
        return Claim.from_json(response.json())

    async def claims(self, account_id: str) -> list[Claim]:
        response = await self._authed("GET", "/claims", params={"account_id": account_id})
        return [Claim.from_json(c) for c in response.json().get("claims") or []]

    async def claim(self, claim_id: str) -> Claim:
        response = await self._authed("GET", f"/claims/{quote(claim_id, safe='')}")
        return Claim.from_json(response.json())

    async def claim_queue(self, *, overdue_only: bool = False) -> list[Claim]:
        """Open claims for adjusters, overdue first."""
        response = await self._authed(
            "GET", "/claims/queue", params={"overdue_only": "true" if overdue_only else "false"}
        )
        return [Claim.from_json(c) for c in response.json().get("claims") or []]

    async def move_claim(
        self, claim_id: str, action: str, *, note: str = "", amount_minor: int | None = None
    ) -> Claim:
        """POST /claims/{id}/transitions (acknowledge, start_review, request_info, respond, ...)."""
        body: dict[str, Any] = {"action": action, "note": note}
        if amount_minor is not None:
            body["amount_minor"] = amount_minor
        response = await self._authed("POST", f"/claims/{quote(claim_id, safe='')}/transitions", body=body)
        return Claim.from_json(response.json())

    async def claim_photos(self, claim_id: str) -> list[ClaimPhoto]:
        response = await self._authed("GET", f"/claims/{quote(claim_id, safe='')}/photos")
        return [ClaimPhoto.from_json(p) for p in response.json().get("photos") or []]

    async def claim_photo_content(self, claim_id: str, photo_id: str, rendition: str = "display") -> bytes:
        response = await self._authed(
            "GET",
            f"/claims/{quote(claim_id, safe='')}/photos/{quote(photo_id, safe='')}/content",
            params={"rendition": rendition},
        )
        return response.content

    async def upload_claim_photo(
        self,
        claim_id: str,
        path: Path,
        *,
        filename: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        chunk_size: int = 1 << 20,
    ) -> ClaimPhoto:
        """Stream a photo file to the claim; `on_progress(sent, total)` runs after each chunk.

        The file is read chunk by chunk in a worker thread, so a 25 MB photo never sits whole in
        memory and the loop (the Qt thread) never waits on the disk. Cancel the awaiting task to
        abort: the connection is dropped and the service keeps nothing.
        """
        size = (await asyncio.to_thread(path.stat)).st_size

        async def body() -> AsyncIterator[bytes]:
            fh = await asyncio.to_thread(path.open, "rb")
            try:
                sent = 0
                while sent < size:
                    chunk = await asyncio.to_thread(fh.read, min(chunk_size, size - sent))
                    if not chunk:
                        break
                    sent += len(chunk)
                    yield chunk
                    if on_progress is not None:
                        on_progress(sent, size)
            finally:
                await asyncio.to_thread(fh.close)

        url = f"/claims/uploads/{quote(claim_id, safe='')}"
        stale: str | None = None
        for _attempt in range(2):
            token = await self._access() if stale is None else await self._refresh_after(stale)
            try:
                response = await self._http.post(
                    url,
                    params={"filename": filename or path.name},
                    content=body(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(size),
                    },
                    timeout=httpx.Timeout(120.0, connect=10.0),
                )
            except httpx.TransportError as exc:
                raise ServiceUnreachable(self._base_url, str(exc) or type(exc).__name__) from exc
            if response.status_code < 400:
                return ClaimPhoto.from_json(response.json())
            try:
                problem = response.json()
            except ValueError:
                problem = response.text
            error = ApiError.from_problem(response.status_code, problem)
            if error.code != "auth.token_expired" or stale is not None or self._refresh_token is None:
                raise error
            stale = token  # the access token expired mid-session: refresh once and send again
        raise ApiError(code="auth.token_expired", status=401, detail="Your session has ended.")

    # --- notifications (docs/API.md "Notifications") -------------------------------------

    async def notifications(self, limit: int = 50) -> NoticeList:
        """GET /notifications: the signed-in policyholder's notices, newest first, and the unread count."""
        response = await self._authed("GET", "/notifications", params={"limit": limit})
        return NoticeList.from_json(response.json())

    async def mark_notifications_read(self, ids: list[str] | None = None) -> int:
        """POST /notifications/read: mark these (or all) read; returns how many stay unread."""
        response = await self._authed("POST", "/notifications/read", body={"ids": ids})
        return int(response.json()["unread"])

    async def notification_settings(self) -> NotificationSettings:
        """GET /notifications/preferences: email and text per type, required ones, quiet hours."""
        response = await self._authed("GET", "/notifications/preferences")
        return NotificationSettings.from_json(response.json())

    async def set_notification_settings(self, changes: list[tuple[str, str, bool]]) -> NotificationSettings:
        """PUT /notifications/preferences: (type, channel, enabled) changes, all or nothing."""
        body = {"changes": [{"type": t, "channel": c, "enabled": e} for t, c, e in changes]}
        response = await self._authed("PUT", "/notifications/preferences", body=body)
        return NotificationSettings.from_json(response.json())

    # --- live change feed ------------------------------------------------------------------

    def _ws_url(self, account_id: str, since: int) -> str:
        parts = urlsplit(self._base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return (
            f"{scheme}://{parts.netloc}{parts.path}{API_PREFIX}/accounts/"
            f"{quote(account_id, safe='')}/events/live?since={since}&presence=true"
        )

    async def live_events(
        self,
        account_id: str,
        since: int = 0,
        *,
        on_state: Callable[[LiveState], None] | None = None,
        on_presence: Callable[[list[Viewer]], None] | None = None,
        max_backoff: float = 15.0,
    ) -> AsyncIterator[Any]:
        """Yield the account's AuditEvents after `since`: backlog first, then live, forever.

        Reconnects with capped, jittered exponential backoff and resumes from the last seq it
        yielded, so a dropped connection loses nothing and repeats nothing. Raises ApiError
        for account.not_found and for a session that has ended; stop it by cancelling the
        consuming task or calling `aclose()` on the iterator.
        """
        # Imported here: websockets is only needed once an account is open, not at start-up.
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

        from portal_app.client.models import AuditEvent

        last_seq = since
        failures = 0
        auth_retries = 0
        state: LiveState | None = None

        def report(new: LiveState) -> None:
            nonlocal state
            if new is not state:
                state = new
                if on_state is not None:
                    on_state(new)

        report(LiveState.CONNECTING)
        while True:
            token = await self._access()
            close_code: int | None = None
            try:
                async with connect(
                    self._ws_url(account_id, last_seq),
                    additional_headers={"Authorization": f"Bearer {token}", **self._service_headers},
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    proxy=None if self._loopback else True,
                ) as ws:
                    async for raw in ws:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "event":
                            event = AuditEvent.from_json(message["event"])
                            if event.seq <= last_seq:
                                continue  # already yielded before a reconnect
                            last_seq = event.seq
                            yield event
                        elif kind == "ready":
                            failures = 0
                            auth_retries = 0
                            report(LiveState.LIVE)
                        elif kind == "presence" and on_presence is not None:
                            # Who has the account open now (not part of the log; not resumed).
                            on_presence([Viewer.from_json(v) for v in message.get("viewers") or []])
                    close_code = ws.close_code
            except ConnectionClosed as exc:
                close_code = exc.rcvd.code if exc.rcvd is not None else None
            except InvalidStatus as exc:
                # A refusal before the upgrade: map it onto the close codes of the contract.
                status = exc.response.status_code
                close_code = {401: CLOSE_BAD_TOKEN, 403: CLOSE_BAD_TOKEN, 404: CLOSE_NOT_FOUND}.get(status)
            except (OSError, TimeoutError, InvalidHandshake):
                close_code = None  # nothing answered: the service is down or restarting

            if close_code == CLOSE_NOT_FOUND:
                report(LiveState.OFFLINE)
                raise ApiError(code="account.not_found", status=404, detail="We could not find that account.")
            if close_code == CLOSE_BAD_TOKEN:
                auth_retries += 1
                if auth_retries > 2:
                    report(LiveState.OFFLINE)
                    raise ApiError(code="auth.token_invalid", status=401, detail="The live feed refused us.")
                # Expired access token: refresh (this raises if the session itself has ended).
                await self._refresh_after(token)
                continue

            failures += 1
            report(LiveState.RECONNECTING if failures < OFFLINE_AFTER_ATTEMPTS else LiveState.OFFLINE)
            delay = min(max_backoff, 0.5 * 2 ** (failures - 1))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay * random.uniform(0.8, 1.2))

    # --- lifetime --------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

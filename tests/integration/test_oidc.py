"""Single sign-on against a real OpenID provider (Canaille), on SQLite and PostgreSQL.

The browser's leg runs through Canaille's real login pages (password, then a TOTP code). Tokens
the provider cannot be made to issue (another audience, expired, staff without a second factor)
are forged with the provider's own signing key; tokens it would never sign (unknown key,
`alg: none`, HS256 keyed with its public key) with our own. Every refusal must leave only its
audit event behind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import BACKENDS, _database_url
from tests.oidc_provider import CLIENT_ID, PEOPLE, BrowserLeg, Provider, pkce_pair, running_provider
from tests.support import Service, running_service

REDIRECT = "http://127.0.0.1:48123/callback"
ROLE_MAP = "portal-agents=agent,portal-supervisors=supervisor"
SCOPES = "openid profile email groups"  # Canaille sends the groups claim for this scope only


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("canaille")) as p:
        p.allow_redirect(REDIRECT)
        yield p


@pytest.fixture(scope="module", params=BACKENDS)
def sso(
    request: pytest.FixtureRequest, provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("svc")
    for url in _database_url(request.param, folder):
        with running_service(
            url,
            folder,
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_provider_name="Portal Mutual ID",
            oidc_role_map=ROLE_MAP,
            oidc_scopes=SCOPES,
        ) as svc:
            yield svc


# --- helpers ---------------------------------------------------------------------------------


class Flow:
    """One sign-in as the desktop runs it: PKCE pair, /start, the browser, then /exchange."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.verifier, challenge = pkce_pair()
        with service.http() as c:
            r = c.post("/auth/oidc/start", json={"redirect_uri": REDIRECT, "code_challenge": challenge})
        assert r.status_code == 200, r.text
        self.state = r.json()["state"]
        self.url = r.json()["authorization_url"]
        self.params = {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def browse(self, provider: Provider, who: str, **override: str) -> dict[str, str]:
        params = {**self.params, **override}
        back = BrowserLeg(provider).authorize(PEOPLE[who], params)
        assert back["state"] == params["state"]
        return back

    def exchange(self, **body: Any) -> httpx.Response:
        payload = {"state": self.state, "code_verifier": self.verifier, "redirect_uri": REDIRECT, **body}
        payload = {k: v for k, v in payload.items() if v is not None}
        with self.service.http() as c:
            return c.post("/auth/oidc/exchange", json=payload)

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


def sign_in_through_provider(service: Service, provider: Provider, who: str) -> httpx.Response:
    flow = Flow(service)
    return flow.exchange(code=flow.browse(provider, who)["code"])


def count(service: Service, table: str) -> int:
    return service.sql(f"SELECT count(*) FROM {table}")[0][0]


def writes(service: Service) -> dict[str, int]:
    """Everything an SSO sign-in could write besides audit events."""
    return {t: count(service, t) for t in ("refresh_tokens", "oidc_identities", "oidc_spent_states", "users")}


def audit_after(service: Service, action: str) -> list[dict[str, Any]]:
    rows = service.sql("SELECT after FROM audit_events WHERE action = :a ORDER BY seq", a=action)
    return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]


def refused(
    service: Service, response: httpx.Response, status: int, code: str, before: dict[str, int]
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert writes(service) == before, "a refusal must write nothing but its audit event"
    assert audit_after(service, "auth.oidc_refused")[-1]["reason"] == code


def forge(
    provider: Provider, flow: Flow, who: str, *, key: Any = None, kid: str | None = None, **claims: Any
) -> str:
    """An ID token as the provider would sign it (or with `key`), with claims overridden."""
    person = PEOPLE[who]
    now = int(time.time())
    payload = {
        "iss": provider.issuer,
        "aud": [CLIENT_ID],
        "sub": person.user_name,
        "iat": now,
        "exp": now + 300,
        "nonce": flow.nonce,
        "email": person.email,
        "email_verified": True,
        "amr": ["pwd", "otp", "mfa"],
        **({"groups": list(person.groups)} if person.groups else {}),
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    signing = key if key is not None else jwt.PyJWK(provider.signing_jwk, algorithm="RS256").key
    return jwt.encode(
        payload, signing, algorithm="RS256", headers={"kid": kid or provider.signing_jwk["kid"]}
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], mac_key: bytes | None) -> str:
    """A JWT built by hand: `alg: none` (no signature) or HS256 with whatever key is given."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(mac_key, signing_input.encode(), hashlib.sha256).digest() if mac_key else b""
    return f"{signing_input}.{_b64(signature)}"


# --- configuration -----------------------------------------------------------------------------


def test_config_says_sso_is_offered_and_by_whom(sso: Service) -> None:
    with sso.http() as c:
        body = c.get("/auth/oidc/config").json()
    assert body == {
        "enabled": True,
        "provider_name": "Portal Mutual ID",
        "staff_password_sign_in": True,
        "loopback_port": 0,
    }


def test_start_refuses_a_redirect_that_is_not_loopback(sso: Service) -> None:
    _, challenge = pkce_pair()
    with sso.http() as c:
        r = c.post(
            "/auth/oidc/start",
            json={"redirect_uri": "https://evil.example/callback", "code_challenge": challenge},
        )
    assert r.status_code == 422 and r.json()["code"] == "auth.oidc_redirect_invalid"


# --- success paths, one per role -------------------------------------------------------------------


def test_policyholder_links_once_by_verified_email_and_signs_out(sso: Service, provider: Provider) -> None:
    # Given Alex at the insurer's provider, never signed in through it before
    flow = Flow(sso)
    assert flow.params["code_challenge_method"] == "S256" and flow.params["client_id"] == CLIENT_ID
    code = flow.browse(provider, "alex")["code"]
    # When the desktop exchanges the code
    r = flow.exchange(code=code)
    # Then Alex has a portal session on the Morgans' account, and the identity is linked by sub
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == "alex.morgan@example.com" and body["user"]["role"] == "policyholder"
    assert [a["name"] for a in body["user"]["accounts"]] == ["Morgan household"]
    links = sso.sql(
        "SELECT l.subject, u.email FROM oidc_identities l JOIN users u ON u.id = l.user_id "
        "WHERE subject = 'alex'"
    )
    assert [tuple(x) for x in links] == [("alex", "alex.morgan@example.com")]
    with sso.http() as c:
        me = c.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "alex.morgan@example.com"
    signed_in = audit_after(sso, "auth.oidc_signed_in")[-1]
    assert signed_in["sub"] == "alex" and signed_in["amr"] == ["pwd", "otp", "mfa"] and "acr" in signed_in
    linked_events = len(audit_after(sso, "auth.oidc_linked"))

    # When Alex signs in through the provider a second time: the same link, no second one
    again = sign_in_through_provider(sso, provider, "alex")
    assert again.status_code == 200 and again.json()["user"]["id"] == body["user"]["id"]
    assert len(audit_after(sso, "auth.oidc_linked")) == linked_events
    assert count(sso, "oidc_identities") == len(
        {r[0] for r in sso.sql("SELECT subject FROM oidc_identities")}
    )

    # When Alex signs out: the session ends and the provider's end-session URL is offered
    with sso.http() as c:
        out = c.post("/auth/oidc/sign-out", json={"refresh_token": body["refresh_token"]})
        assert out.status_code == 200
        assert out.json()["end_session_url"].startswith(provider.issuer + "/oauth/end_session?client_id=")
        assert c.post("/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401
    signed_out = audit_after(sso, "auth.oidc_signed_out")[-1]
    assert signed_out["sub"] == "alex" and signed_out["amr"] == ["pwd", "otp", "mfa"]
    # No token or code ever reaches the trail.
    trail = " ".join(str(r[0]) for r in sso.sql("SELECT after FROM audit_events"))
    for secret in (code, body["access_token"], body["refresh_token"], flow.state):
        assert secret not in trail


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_staff_with_a_second_factor_get_their_role(sso: Service, provider: Provider, who: str) -> None:
    r = sign_in_through_provider(sso, provider, who)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["role"] == who
    assert r.json()["user"]["email"] == PEOPLE[who].email


def test_a_rotated_provider_key_is_fetched_once_when_its_kid_is_new(sso: Service, provider: Provider) -> None:
    # Given the service has the provider's keys cached (an earlier sign-in)
    assert sign_in_through_provider(sso, provider, "alex").status_code == 200
    # (past the few seconds in which an unknown kid does not refetch: made-up kids are cheap)
    sso.clock.advance(timedelta(seconds=11))
    # When the provider rotates its signing key and signs the next ID token with the new one
    provider.rotate_key()
    # Then the unknown kid makes the service refetch the keys, and the sign-in works
    assert sign_in_through_provider(sso, provider, "alex").status_code == 200


# --- bad input through the real provider ---------------------------------------------------------


@pytest.mark.parametrize("state", ["wrong", "missing", "another sign-in's"])
def test_a_wrong_or_missing_state_is_refused(sso: Service, provider: Provider, state: str) -> None:
    flow = Flow(sso)
    code = flow.browse(provider, "alex")["code"]
    before = writes(sso)
    sent = {"wrong": flow.state[:-4] + "AAAA", "missing": None, "another sign-in's": Flow(sso).state}[state]
    r = flow.exchange(code=code, state=sent)
    refused(sso, r, 400, "auth.oidc_state_invalid", before)


def test_a_replayed_authorization_code_is_refused(sso: Service, provider: Provider) -> None:
    flow = Flow(sso)
    code = flow.browse(provider, "alex")["code"]
    assert flow.exchange(code=code).status_code == 200
    before = writes(sso)
    refused(sso, flow.exchange(code=code), 401, "auth.oidc_code_rejected", before)


def test_a_nonce_from_another_sign_in_is_refused(sso: Service, provider: Provider) -> None:
    # Given a browser that came back with an ID token minted for another sign-in's nonce
    flow, other = Flow(sso), Flow(sso)
    code = flow.browse(provider, "alex", nonce=other.nonce)["code"]
    before = writes(sso)
    refused(sso, flow.exchange(code=code), 401, "auth.oidc_nonce_mismatch", before)


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("jamie", "auth.oidc_email_unverified"),
        ("stranger", "auth.oidc_unknown_identity"),
        ("contractor", "auth.oidc_role_unmapped"),
    ],
)
def test_identities_portal_cannot_accept_are_refused(
    sso: Service, provider: Provider, who: str, code: str
) -> None:
    before = writes(sso)
    refused(sso, sign_in_through_provider(sso, provider, who), 403, code, before)
    event = audit_after(sso, "auth.oidc_refused")[-1]
    assert event["sub"] == who and event["amr"] == ["pwd", "otp", "mfa"]


# --- bad tokens, forged --------------------------------------------------------------------------

OWN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(provider: Provider) -> bytes:
    public = jwt.PyJWK(provider.signing_jwk, algorithm="RS256").key.public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


FORGERIES: dict[str, tuple[int, str]] = {
    "another issuer": (401, "auth.oidc_wrong_issuer"),
    "another audience": (401, "auth.oidc_wrong_audience"),
    "expired": (401, "auth.oidc_token_expired"),
    "our own key, unknown kid": (401, "auth.oidc_unknown_key"),
    "our own key, the provider's kid": (401, "auth.oidc_signature_invalid"),
    "alg none": (401, "auth.oidc_algorithm_refused"),
    "HS256 keyed with the provider's public key": (401, "auth.oidc_algorithm_refused"),
    "staff without a second factor": (403, "auth.oidc_second_factor_required"),
}


def _forgery(kind: str, provider: Provider, flow: Flow) -> str:
    now = int(time.time())
    if kind == "another issuer":
        return forge(provider, flow, "alex", iss="http://127.0.0.1:9/other-insurer")
    if kind == "another audience":
        return forge(provider, flow, "alex", aud=["someone-else"])
    if kind == "expired":
        return forge(provider, flow, "alex", iat=now - 7200, exp=now - 3600)
    if kind == "our own key, unknown kid":
        return forge(provider, flow, "alex", key=OWN_KEY, kid="not-the-providers")
    if kind == "our own key, the provider's kid":
        return forge(provider, flow, "alex", key=OWN_KEY)
    claims = jwt.decode(forge(provider, flow, "alex"), options={"verify_signature": False})
    if kind == "alg none":
        return hand_made({"alg": "none", "typ": "JWT"}, claims, None)
    if kind == "HS256 keyed with the provider's public key":
        header = {"alg": "HS256", "typ": "JWT", "kid": provider.signing_jwk["kid"]}
        return hand_made(header, claims, _public_pem(provider))
    assert kind == "staff without a second factor"
    return forge(provider, flow, "agent", amr=["pwd"])


@pytest.mark.parametrize("kind", list(FORGERIES))
def test_forged_or_unfit_id_tokens_are_refused(sso: Service, provider: Provider, kind: str) -> None:
    flow = Flow(sso)
    token = _forgery(kind, provider, flow)
    before = writes(sso)
    status, code = FORGERIES[kind]
    refused(sso, flow.exchange(id_token=token), status, code, before)


def test_the_provider_signed_token_path_works_once_per_state(sso: Service, provider: Provider) -> None:
    # The control for the forgeries: the same construction, unaltered, is accepted...
    flow = Flow(sso)
    token = forge(provider, flow, "alex")
    assert flow.exchange(id_token=token).status_code == 200
    # ...and only once: the state is spent.
    before = writes(sso)
    refused(sso, flow.exchange(id_token=token), 403, "auth.oidc_state_used", before)


# --- deployments ---------------------------------------------------------------------------------


def test_sso_is_off_in_the_embedded_default(module_service: Service) -> None:
    with module_service.http() as c:
        assert c.get("/auth/oidc/config").json()["enabled"] is False
        _, challenge = pkce_pair()
        r = c.post("/auth/oidc/start", json={"redirect_uri": REDIRECT, "code_challenge": challenge})
    assert r.status_code == 404 and r.json()["code"] == "auth.oidc_disabled"


def test_a_deployment_can_switch_password_sign_in_off_for_staff(tmp_path: Path, provider: Provider) -> None:
    with running_service(
        f"sqlite:///{tmp_path / 'p.sqlite3'}",
        tmp_path,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_role_map=ROLE_MAP,
        oidc_scopes=SCOPES,
        staff_password_sign_in=False,
    ) as svc:
        with svc.http() as c:
            assert c.get("/auth/oidc/config").json()["staff_password_sign_in"] is False
            r = c.post(
                "/auth/sign-in", json={"email": "agent@portal.example", "password": "portal-demo-2026"}
            )
            assert r.status_code == 403 and r.json()["code"] == "auth.password_sign_in_disabled"
        # Customers keep their passwords; staff come in through the provider.
        svc.sign_in("alex.morgan@example.com")
        assert sign_in_through_provider(svc, provider, "agent").status_code == 200


def test_sso_sign_out_of_a_password_session_offers_no_provider_sign_out(sso: Service) -> None:
    # Given Jamie signed in with a password on a service that also offers SSO
    pair = sso.sign_in("jamie.morgan@example.com")
    events = len(audit_after(sso, "auth.oidc_signed_out"))
    # When the app signs out through the SSO endpoint (it does whenever SSO is offered)
    with sso.http() as c:
        out = c.post("/auth/oidc/sign-out", json={"refresh_token": pair["refresh_token"]})
        # Then the session ends, but there is no provider session to end and no SSO event
        assert out.status_code == 200 and out.json() == {"end_session_url": None}
        assert c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert len(audit_after(sso, "auth.oidc_signed_out")) == events

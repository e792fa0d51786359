"""The insurer's OpenID provider as the service sees it: discovery, keys, code redemption, ID tokens.

Nothing here touches the database. `OidcProvider` caches the discovery document and the JWKS
(an unknown `kid` refetches the keys once, which is how a provider's key rotation arrives) and
checks ID tokens against an algorithm allow-list, the issuer, our client id, `exp`/`iat` with a
small skew (on the injected clock) and the nonce bound to the sign-in's state. `SignInState`
is the stateless, HMAC-signed `state` the service hands out: it carries the nonce, the
redirect URI and the PKCE challenge, so a state only works with the verifier of the app that
started that sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from services.clock import Clock
from services.config import ServiceSettings
from services.errors import DomainError, Forbidden

STATE_TTL_SECONDS = 600
# Tokens naming an unknown key refetch the JWKS at most this often: anyone can ask for a state
# and send a token with a made-up `kid`, and each must not cost the provider a request.
JWKS_REFETCH_SECONDS = 10
# When several groups map to roles, the strongest wins (a supervisor who is also an agent).
ROLES_BY_RANK = ("policyholder", "branch_staff", "agent", "supervisor", "admin")


def parse_role_map(text: str) -> dict[str, str]:
    """ "group=role,group=role" -> {group: role}; unknown roles are a configuration error."""
    mapping: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        group, _, role = pair.rpartition("=")
        if not group.strip() or role.strip() not in ROLES_BY_RANK:
            raise ValueError(f"PORTAL_OIDC_ROLE_MAP: {pair!r} is not group=role with a portal role")
        mapping[group.strip()] = role.strip()
    return mapping


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636)."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


class OidcRefusal(DomainError):
    """An SSO refusal: recorded on the audit trail (with what is known of the identity), then raised."""

    def __init__(self, code: str, detail: str, *, status: int = 401, **claims: Any) -> None:
        super().__init__(code, detail, status=status)
        self.claims = claims  # sub / amr / acr / email when known: for the audit event only


def refusal(code: str, detail: str, status: int = 401) -> OidcRefusal:
    return OidcRefusal(code, detail, status=status)


@dataclass(frozen=True)
class SignInState:
    """What the signed `state` carries back from the browser."""

    state_id: str
    nonce: str
    redirect_uri: str
    code_challenge: str
    expires_at: int


class StateSigner:
    """HMAC-SHA256 over a small JSON body; the key is derived from the service's token secret."""

    def __init__(self, secret: str, clock: Clock) -> None:
        self._key = hashlib.sha256(b"portal-oidc-state:" + secret.encode()).digest()
        self._clock = clock

    def issue(self, *, redirect_uri: str, code_challenge: str) -> tuple[str, SignInState]:
        body = SignInState(
            state_id=secrets.token_urlsafe(18),
            nonce=secrets.token_urlsafe(24),
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            expires_at=int(self._clock.now().timestamp()) + STATE_TTL_SECONDS,
        )
        raw = json.dumps(body.__dict__, separators=(",", ":")).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}", body

    def check(self, state: str | None, *, code_verifier: str, redirect_uri: str) -> SignInState:
        """The state's contents, or auth.oidc_state_invalid (missing, forged, stale, not this app's)."""
        invalid = refusal(
            "auth.oidc_state_invalid",
            "This sign-in did not start here, or took too long. Please start again.",
            status=400,
        )
        if not state or "." not in state:
            raise invalid
        raw_b64, mac_b64 = state.split(".", 1)
        try:
            raw, mac = _unb64(raw_b64), _unb64(mac_b64)
            if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()):
                raise invalid
            body = SignInState(**json.loads(raw))
        except (ValueError, TypeError):
            raise invalid from None
        if body.expires_at < self._clock.now().timestamp():
            raise invalid
        # Bound to the app that started it: its PKCE verifier and its loopback address.
        if not hmac.compare_digest(body.code_challenge, s256(code_verifier)):
            raise invalid
        if body.redirect_uri != redirect_uri:
            raise invalid
        return body


def check_loopback_redirect(redirect_uri: str) -> None:
    """RFC 8252 §7.3: only a plain-http loopback IP literal with a port is a native app's redirect."""
    parts = urlsplit(redirect_uri)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or parts.hostname not in {"127.0.0.1", "::1"} or not port or parts.fragment:
        raise refusal(
            "auth.oidc_redirect_invalid",
            "The sign-in must return to this computer's loopback address (http://127.0.0.1:PORT/...).",
            status=422,
        )


@dataclass(frozen=True)
class IdClaims:
    """The checked claims of an ID token, as the rest of the service uses them."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...] | None  # None: the provider sent no groups claim
    amr: tuple[str, ...]
    acr: str | None

    def audit(self) -> dict[str, Any]:
        return {"sub": self.subject, "amr": list(self.amr), "acr": self.acr}


class OidcProvider:
    """Talks to the configured provider. Thread-safe: views call it from the worker threadpool."""

    def __init__(self, settings: ServiceSettings, clock: Clock, state_secret: str) -> None:
        self.settings = settings
        self.clock = clock
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.algorithms = tuple(a for a in _split(settings.oidc_algorithms) if not a.upper().startswith("HS"))
        if not self.algorithms or "none" in {a.lower() for a in self.algorithms}:
            raise ValueError("PORTAL_OIDC_ALGORITHMS must list asymmetric signature algorithms only")
        self.role_map = parse_role_map(settings.oidc_role_map)  # a bad map stops the start-up
        self.states = StateSigner(state_secret, clock)
        self._lock = threading.Lock()
        self._discovery: dict[str, Any] | None = None
        self._discovery_at = 0.0
        self._jwks: dict[str, dict[str, Any]] = {}
        self._jwks_at = 0.0
        self._http = httpx.Client(
            timeout=10, trust_env=urlsplit(self.issuer).hostname not in {"127.0.0.1", "localhost"}
        )

    def close(self) -> None:
        self._http.close()

    @property
    def display_name(self) -> str:
        return self.settings.oidc_provider_name or urlsplit(self.issuer).hostname or "your provider"

    # --- provider metadata and keys -----------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise refusal(
                "auth.oidc_provider_unavailable",
                f"We could not reach {self.display_name}. Please try again in a moment.",
                status=503,
            ) from exc
        if not isinstance(body, dict):
            raise refusal("auth.oidc_provider_unavailable", "The provider answered nonsense.", status=503)
        return body

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata, cached; its issuer must be exactly the configured one."""
        with self._lock:
            fresh = self._now() - self._discovery_at < self.settings.oidc_jwks_cache_seconds
            if self._discovery is not None and fresh:
                return self._discovery
        doc = self._get_json(self.issuer + "/.well-known/openid-configuration")
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise refusal(
                "auth.oidc_provider_unavailable",
                "The provider's metadata names another issuer; SSO is misconfigured.",
                status=503,
            )
        with self._lock:
            self._discovery, self._discovery_at = doc, self._now()
        return doc

    def _load_jwks(self) -> dict[str, dict[str, Any]]:
        keys = self._get_json(str(self.discovery()["jwks_uri"])).get("keys", [])
        by_kid = {str(k.get("kid", "")): k for k in keys if isinstance(k, dict)}
        with self._lock:
            self._jwks, self._jwks_at = by_kid, self._now()
        return by_kid

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def key_for(self, kid: str) -> dict[str, Any] | None:
        """The provider's public key with this id; an unknown id refetches the keys (rotation) once."""
        with self._lock:
            age = self._now() - self._jwks_at
            cached = self._jwks if age < self.settings.oidc_jwks_cache_seconds else {}
        if kid in cached:
            return cached[kid]
        if cached and age < JWKS_REFETCH_SECONDS:
            return None  # just fetched: the provider has no such key
        return self._load_jwks().get(kid)

    # --- the authorization request and the code ---------------------------------------------

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str, code_challenge: str) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.discovery()['authorization_endpoint']}?{urlencode(params)}"

    def end_session_url(self) -> str | None:
        endpoint = self.discovery().get("end_session_endpoint")
        return f"{endpoint}?{urlencode({'client_id': self.client_id})}" if endpoint else None

    def redeem_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> str:
        """The ID token for an authorization code; a spent, stale or foreign code is refused."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier,
        }
        auth = (
            (self.client_id, self.settings.oidc_client_secret) if self.settings.oidc_client_secret else None
        )
        try:
            response = self._http.post(str(self.discovery()["token_endpoint"]), data=form, auth=auth)
        except httpx.HTTPError as exc:
            raise refusal(
                "auth.oidc_provider_unavailable",
                f"We could not reach {self.display_name}. Please try again in a moment.",
                status=503,
            ) from exc
        if response.status_code in (400, 401):
            raise refusal(
                "auth.oidc_code_rejected",
                f"{self.display_name} did not accept this sign-in (it may have been used already). "
                "Please start again.",
            )
        if response.status_code != 200:
            raise refusal("auth.oidc_provider_unavailable", "The provider failed to answer.", status=503)
        token = response.json().get("id_token")
        if not isinstance(token, str):
            raise refusal("auth.oidc_token_malformed", "The provider sent no ID token.")
        return token

    # --- the ID token -------------------------------------------------------------------------

    def validate(self, id_token: str, *, nonce: str) -> IdClaims:
        """Check signature, algorithm, issuer, audience, time and nonce; return the claims."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise refusal("auth.oidc_token_malformed", "The ID token is not a signed token.") from None
        alg = str(header.get("alg", ""))
        if alg not in self.algorithms:
            # alg "none" and HS256 (a MAC keyed with our public key) end here.
            raise refusal(
                "auth.oidc_algorithm_refused", f"ID tokens signed with {alg or 'nothing'} are refused."
            )
        jwk = self.key_for(str(header.get("kid", "")))
        if jwk is None:
            raise refusal(
                "auth.oidc_unknown_key", "The ID token was signed with a key the provider does not have."
            )
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[alg],
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "sub", "aud", "exp", "iat"],
                },
            )
        except jwt.InvalidSignatureError:
            raise refusal(
                "auth.oidc_signature_invalid", "The ID token's signature does not verify."
            ) from None
        except jwt.PyJWTError:
            raise refusal("auth.oidc_token_malformed", "The ID token is not well formed.") from None
        self._check_claims(claims, nonce)
        groups_claim = claims.get(self.settings.oidc_groups_claim)
        groups = None
        if isinstance(groups_claim, list):
            groups = tuple(str(g) for g in groups_claim)
        elif isinstance(groups_claim, str):
            groups = (groups_claim,)
        verified = claims.get("email_verified")
        amr = claims.get("amr")
        return IdClaims(
            subject=str(claims["sub"]),
            email=str(claims["email"]).strip().lower() if claims.get("email") else None,
            # Some providers send the boolean as a string.
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
            name=str(claims["name"]) if claims.get("name") else None,
            groups=groups,
            amr=tuple(str(a) for a in amr) if isinstance(amr, list) else (),
            acr=str(claims["acr"]) if claims.get("acr") else None,
        )

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        known = {"sub": claims.get("sub"), "amr": claims.get("amr"), "acr": claims.get("acr")}
        if str(claims["iss"]).rstrip("/") != self.issuer:
            raise OidcRefusal("auth.oidc_wrong_issuer", "The ID token comes from another provider.", **known)
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if self.client_id not in audience or (len(audience) > 1 and claims.get("azp") != self.client_id):
            raise OidcRefusal(
                "auth.oidc_wrong_audience", "The ID token was issued to another application.", **known
            )
        now = self.clock.now().timestamp()
        skew = self.settings.oidc_clock_skew_seconds
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError):
            raise OidcRefusal(
                "auth.oidc_token_malformed", "The ID token's times are not numbers.", **known
            ) from None
        if exp + skew <= now:
            raise OidcRefusal(
                "auth.oidc_token_expired", "The ID token has expired. Please sign in again.", **known
            )
        if iat - skew > now:
            raise OidcRefusal("auth.oidc_token_expired", "The ID token is dated in the future.", **known)
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise OidcRefusal("auth.oidc_nonce_mismatch", "The ID token belongs to another sign-in.", **known)


def forbidden(code: str, detail: str, claims: IdClaims) -> OidcRefusal:
    """A refusal about who the person is (not about the token): 403, with their identity for audit."""
    return OidcRefusal(code, detail, status=Forbidden.status, **claims.audit(), email=claims.email)

"""A real OpenID provider for the tests: Canaille (from PyPI) on loopback, with Portal's people.

Canaille runs in this process on a threaded werkzeug server with its SQL backend on a SQLite
file, the way a small deployment runs it. Everyone signs in with a password and then a TOTP
code (Canaille's authentication factors are provider-wide), so its ID tokens carry
`amr: ["pwd", "otp", "mfa"]`. The provider's signing key is generated here, which lets the
tests also forge tokens *as the provider* for the cases it cannot produce on its own (an
expired token, another audience, staff without a second factor).

`BrowserLeg` drives Canaille's real login pages with httpx: it reads each HTML form (CSRF token
included), fills it and follows the redirects until the provider sends the browser back to the
app's redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

CLIENT_ID = "portal-desktop"
PASSWORD = "correct horse battery staple"
STAFF_GROUPS = {"agent": "portal-agents", "supervisor": "portal-supervisors"}


@dataclass(frozen=True)
class Person:
    user_name: str
    email: str
    name: str
    totp_secret: str
    groups: tuple[str, ...] = ()
    email_verified: bool = True


PEOPLE = {
    "alex": Person("alex", "alex.morgan@example.com", "Alex Morgan", "0e8c90aedcc0798871f3746d7e5a0d9d"),
    "agent": Person(
        "agent", "agent@portal.example", "Avery Agent", "5dedd7a7e734c498d3c6b0c1935b84ff", ("portal-agents",)
    ),
    "supervisor": Person(
        "supervisor",
        "supervisor@portal.example",
        "Sam Supervisor",
        "1c3160ef58a8fdcb043fd1a6031fcbfc",
        ("portal-supervisors",),
    ),
    # A customer whose address the provider never confirmed: must be refused, never linked.
    "jamie": Person(
        "jamie",
        "jamie.morgan@example.com",
        "Jamie Morgan",
        "e09064e9abe080992954d7a3157343e3",
        email_verified=False,
    ),
    # Someone the provider knows but Portal does not.
    "stranger": Person("stranger", "stranger@example.com", "Stan Ranger", "51c4cd90e7e05926c3f78d21ad819d66"),
    # A member of a group the portal maps to no role.
    "contractor": Person(
        "contractor",
        "contractor@portal.example",
        "Casey Contractor",
        "d100c5a7993c1dcbe102bc666e0967f2",
        ("contractors",),
    ),
}


def totp_now(secret: str) -> str:
    """The current TOTP code for a Canaille secret (RFC 6238, SHA-1, 6 digits, 30 s)."""
    import hmac
    import struct

    key = secret.encode()  # Canaille keys TOTP with the secret's own bytes (otpauth)
    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Provider:
    """A running Canaille: its issuer URL, the private signing key (JWK dict), its Flask app."""

    issuer: str
    signing_jwk: dict[str, Any]
    app: Any
    backend: Any
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow_redirect(self, redirect_uri: str) -> None:
        """Register a loopback redirect URI on the client (Canaille matches them exactly)."""
        from canaille.app import models

        with self._lock, self.app.app_context():
            client = self.backend.get(models.Client, client_id=CLIENT_ID)
            if redirect_uri not in client.redirect_uris:
                client.redirect_uris = [*client.redirect_uris, redirect_uri]
                client.post_logout_redirect_uris = [*client.post_logout_redirect_uris, redirect_uri]
                self.backend.save(client)

    def rotate_key(self) -> dict[str, Any]:
        """Canaille's key rotation: a new active signing key; the old one stays published, inactive."""
        from joserfc.jwk import RSAKey

        key = RSAKey.generate_key(2048)
        key.ensure_kid()
        new = {**key.as_dict(private=True), "alg": "RS256", "use": "sig"}
        with self._lock:
            oidc = self.app.config["CANAILLE_OIDC"]
            oidc["INACTIVE_JWKS"] = [*(oidc.get("INACTIVE_JWKS") or []), self.signing_jwk]
            oidc["ACTIVE_JWKS"] = [new]
            self.signing_jwk = new
        return new


def _canaille_config(port: int, folder: Path, jwk: dict[str, Any]) -> dict[str, Any]:
    return {
        "TESTING": True,
        "ENV_FILE": None,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PREFERRED_URL_SCHEME": "http",
        "SERVER_NAME": f"127.0.0.1:{port}",
        "SESSION_COOKIE_NAME": "canaille_session",
        "CANAILLE": {
            "NAME": "Portal Mutual ID",
            "DATABASE": "sql",
            "JAVASCRIPT": False,
            "AUTHENTICATION_FACTORS": ["password", "otp"],
            "OTP_METHOD": "TOTP",
            "HIDE_INVALID_LOGINS": False,
            "ACL": {"DEFAULT": {"PERMISSIONS": ["use_oidc"], "READ": ["user_name", "groups"]}},
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"null": {"class": "logging.NullHandler"}},
                "loggers": {"canaille": {"level": "WARNING", "handlers": ["null"]}},
            },
        },
        "CANAILLE_SQL": {"DATABASE_URI": f"sqlite:///{folder / 'canaille.sqlite3'}", "AUTO_MIGRATE": True},
        "CANAILLE_OIDC": {
            "ACTIVE_JWKS": [jwk],
            "REQUIRE_NONCE": True,
        },
    }


def _seed(app: Any, backend: Any) -> None:
    from canaille.app import models

    with app.app_context():
        groups: dict[str, Any] = {}
        for person in PEOPLE.values():
            for name in person.groups:
                if name not in groups:
                    group = models.Group(display_name=name)
                    backend.save(group)
                    groups[name] = group
        for person in PEOPLE.values():
            given, family = person.name.split(" ", 1)
            user = models.User(
                user_name=person.user_name,
                emails=[person.email],
                formatted_name=person.name,
                given_name=given,
                family_name=family,
                title=None if person.email_verified else "unverified",
                secret_token=person.totp_secret,
                # Canaille sends a user with no OTP login yet to its enrolment page first;
                # these people enrolled their authenticator app long ago.
                last_otp_login=datetime_utc_now(),
                groups=[groups[g] for g in person.groups],
            )
            backend.save(user)
            backend.set_user_password(user, PASSWORD)
        client = models.Client(
            client_id=CLIENT_ID,
            client_name="Portal desktop",
            client_id_issued_at=datetime_utc_now(),
            redirect_uris=[],
            post_logout_redirect_uris=[],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code"],
            response_types=["code"],
            scope=["openid", "profile", "email", "groups"],
            application_type="native",
            client_uri="http://127.0.0.1/",  # a trusted domain: no consent screen for the insurer's own app
        )
        backend.save(client)
        client.audience = [client]  # ID tokens name this client in `aud`
        backend.save(client)


def datetime_utc_now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC)


def _unique_access_tokens() -> None:
    """Make Canaille's access tokens unique (once per process, before its app is created).

    Canaille 0.3.6 issues the access token as a JWT of the person's claims with whole-second
    times and no `jti`: two sign-ins of one person within a second get the same token, its store
    refuses the duplicate (UNIQUE token.access_token) and the token request fails (the portal then
    reports the provider unavailable). Its generator is looked up by name when the app is built,
    so a wrapper that waits for a fresh token is installed under that name."""
    from canaille.oidc import provider

    original = provider.generate_access_token
    if getattr(original, "portal_unique", False):
        return
    issued: set[str] = set()
    lock = threading.Lock()

    def generate(client: Any, grant_type: str, user: Any, scope: str) -> str:
        with lock:
            while True:
                token: str = original(client, grant_type, user, scope)
                if token not in issued:
                    issued.add(token)
                    return token
                time.sleep(0.2)  # the next whole second gives a new token

    generate.portal_unique = True  # type: ignore[attr-defined]
    provider.generate_access_token = generate


@contextmanager
def running_provider(folder: Path) -> Iterator[Provider]:
    """Start Canaille on 127.0.0.1 (ephemeral port) with the people above; stop it on exit."""
    from canaille import create_app
    from canaille.backends import Backend
    from joserfc.jwk import RSAKey
    from werkzeug.serving import make_server

    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback only
    folder.mkdir(parents=True, exist_ok=True)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = RSAKey.generate_key(2048)
    key.ensure_kid()
    jwk = {**key.as_dict(private=True), "alg": "RS256", "use": "sig"}
    _unique_access_tokens()
    app = create_app(config=_canaille_config(port, folder, jwk))
    backend = Backend.instance
    # Canaille's settings model has no email_verified mapping; its claim builder reads this
    # dict (a Jinja template per claim), so the people's verified state is stated here.
    app.config["CANAILLE_OIDC"]["USERINFO_MAPPING"]["EMAIL_VERIFIED"] = (
        "{% if user.title == 'unverified' %}false{% else %}true{% endif %}"
    )
    _seed(app, backend)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="canaille", daemon=True)
    thread.start()
    try:
        yield Provider(issuer=f"http://127.0.0.1:{port}", signing_jwk=jwk, app=app, backend=backend)
    finally:
        server.shutdown()
        thread.join(5)


# --- the browser's leg, with httpx ---------------------------------------------------------


class _Forms(HTMLParser):
    """Collects each <form>: its action, method and the values of its named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}})
        elif tag in {"input", "button"} and self.forms and a.get("name"):
            if tag == "button" and a.get("type", "submit") == "submit":
                self.forms[-1].setdefault("buttons", {})[a["name"]] = a.get("value", "")
            elif a.get("type") not in {"checkbox", "radio"} or "checked" in a:
                self.forms[-1]["fields"][a["name"]] = a.get("value", "")


@dataclass
class BrowserLeg:
    """Plays the person's browser against Canaille's pages until it is sent to `redirect_uri`."""

    provider: Provider
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)

    def authorize(
        self, person: Person, params: dict[str, str], *, password: str = PASSWORD
    ) -> dict[str, str]:
        """Open the authorization URL, sign in (password, TOTP); return the redirect's query."""
        redirect_uri = params["redirect_uri"]
        with httpx.Client(cookies=self.cookies, timeout=15, trust_env=False) as http:
            response = http.get(self.provider.issuer + "/oauth/authorize", params=params)
            for _ in range(20):
                if response.is_redirect:
                    target = urljoin(str(response.url), response.headers["location"])
                    if target.startswith(redirect_uri):
                        return {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                    response = http.get(target)
                    continue
                response = self._answer(http, response, person, password)
            self.cookies = http.cookies
        raise AssertionError(f"the provider never sent the browser back (last page {response.url})")

    def _answer(
        self, http: httpx.Client, page: httpx.Response, person: Person, password: str
    ) -> httpx.Response:
        parser = _Forms()
        parser.feed(page.text)
        form = next((f for f in parser.forms if f["method"].lower() == "post"), None)
        if form is None:
            raise AssertionError(f"no form on {page.url} ({page.status_code}): {page.text[:300]}")
        fields = dict(form["fields"])
        if "login" in fields:
            fields["login"] = person.user_name
        if "password" in fields:
            fields["password"] = password
        if "otp" in fields:
            fields["otp"] = totp_now(person.totp_secret)
        fields.update({k: v for k, v in form.get("buttons", {}).items() if k in {"answer", "action"}})
        return http.post(urljoin(str(page.url), form["action"] or str(page.url)), data=fields)


def main() -> None:
    """`python -m tests.oidc_provider`: a local Canaille for trying SSO by hand (README recipe)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--loopback-port", type=int, default=8765, help="the desktop's fixed loopback port")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="portal-canaille-") as folder,
        running_provider(Path(folder)) as p,
    ):
        p.allow_redirect(f"http://127.0.0.1:{args.loopback_port}/callback")
        print("Canaille is running. In another terminal:\n")
        print(f"  export PORTAL_OIDC_ISSUER={p.issuer}")
        print(f"  export PORTAL_OIDC_CLIENT_ID={CLIENT_ID}")
        print("  export PORTAL_OIDC_PROVIDER_NAME='Portal Mutual ID'")
        print("  export PORTAL_OIDC_SCOPES='openid profile email groups'")
        print("  export PORTAL_OIDC_ROLE_MAP='portal-agents=agent,portal-supervisors=supervisor'")
        print(f"  export PORTAL_OIDC_LOOPBACK_PORT={args.loopback_port}")
        print("  make run\n")
        print(f"Sign-ins at the provider (password '{PASSWORD}', then the TOTP code printed here):")
        try:
            while True:
                for person in (PEOPLE["alex"], PEOPLE["agent"], PEOPLE["supervisor"]):
                    print(f"  {person.user_name:<11} TOTP {totp_now(person.totp_secret)}")
                time.sleep(30 - time.time() % 30)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

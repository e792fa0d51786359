"""Service configuration: environment variables first, then an optional TOML file, then defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

APP_NAME = "portal"


def default_data_dir() -> Path:
    """Where the embedded default keeps its SQLite file and local state."""
    override = os.environ.get("PORTAL_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service layer needs to start; built once by the composition root."""

    database_url: str = ""
    data_dir: Path = field(default_factory=default_data_dir)
    # Signs access tokens. Empty means "generate one for this process": fine for the embedded
    # default (refresh tokens live in the database and survive restarts), not for two instances.
    jwt_secret: str = ""
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    max_body_bytes: int = 1_000_000
    # Sign-in throttling: after `throttle_after` failures each attempt must wait (doubling),
    # and after `lock_after` failures the key is locked for `lock_seconds`.
    throttle_after: int = 3
    lock_after: int = 8
    lock_seconds: int = 900
    # How often the change-feed dispatcher polls when nothing woke it (a safety net only).
    feed_poll_seconds: float = 1.0
    # Claims. Holidays skipped by the claim service commitments: "2026-12-25,2027-01-01".
    claim_holidays: str = ""
    # Per-photo limits, checked while the upload streams (bytes) and from the image header (pixels).
    claim_photo_max_bytes: int = 32_000_000
    claim_photo_max_pixels: int = 60_000_000
    # Stripe. With no secret key the service starts localstripe on loopback and points the
    # same SDK code at it. Secrets come from the environment, never from files in the repo.
    stripe_secret_key: str = field(default="", repr=False)
    stripe_publishable_key: str = ""
    stripe_api_base: str = ""
    stripe_webhook_secret: str = field(default="", repr=False)
    # Run due background jobs (payments, reminders) inside this process: the embedded default.
    jobs_in_process: bool = False
    jobs_poll_seconds: float = 2.0
    # Delinquency timeline, in days after the due date (business dates in the policy's zone).
    grace_days: int = 10
    cancel_after_days: int = 30
    reinstate_within_days: int = 30
    autopay_reminder_days: int = 3
    # Cases (complaints, disputes): the final-response deadline, and the holidays skipped when
    # counting business days ("2026-12-25,2027-01-01"; empty means the claim holidays).
    case_final_response_weeks: int = 8
    case_holidays: str = ""
    # How often the job runner seals chain heads into signed audit checkpoints.
    audit_checkpoint_minutes: int = 15
    # Notifications. Email over SMTP ("smtp://user:pass@host:587?starttls=1"; empty: .eml files in
    # the data dir); texts through one HTTP provider (empty: a local outbox staff can read).
    smtp_url: str = field(default="", repr=False)
    smtp_from: str = "Portal Mutual <notices@portal-mutual.example>"
    sms_url: str = ""
    sms_token: str = field(default="", repr=False)
    # Large batches are spread out: at most this many emails and texts leave per minute.
    notify_per_minute: int = 300
    # Single sign-on through the insurer's OpenID provider (off while oidc_issuer is empty).
    # The desktop is a public client (PKCE); a secret only for providers that insist on one.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_provider_name: str = ""  # shown as "Sign in with <name>"
    oidc_scopes: str = "openid profile email"
    # Role mapping: "<group>=<role>,..." read from the groups claim. No claim at all means a
    # customer (policyholder); groups that map to no role are refused.
    oidc_groups_claim: str = "groups"
    oidc_role_map: str = ""
    # Staff must arrive with a second factor: one of these `amr` values, or one of these `acr`.
    oidc_staff_amr: str = "mfa,otp,hwk,swk,sms,mca"
    oidc_staff_acr: str = ""
    oidc_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384"
    oidc_clock_skew_seconds: int = 60
    oidc_jwks_cache_seconds: int = 3600
    # A provider that matches redirect URIs exactly needs a fixed loopback port (0: any free port).
    oidc_loopback_port: int = 0
    # False: agents, branch staff, supervisors and admins can only sign in through the provider.
    staff_password_sign_in: bool = True

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{Path(self.data_dir) / 'portal.sqlite3'}")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: object) -> ServiceSettings:
        """Read PORTAL_* variables and the optional TOML file (env wins), then explicit overrides."""
        values: dict[str, object] = {}
        path = config_file or (Path(os.environ["PORTAL_CONFIG"]) if os.environ.get("PORTAL_CONFIG") else None)
        if path and path.exists():
            with path.open("rb") as fh:
                values.update(tomllib.load(fh).get("service", {}))
        for f in fields(cls):
            env = os.environ.get(f"PORTAL_{f.name.upper()}")
            if env is not None and env != "":
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{f.name: _coerce(f.type, values[f.name]) for f in fields(cls) if f.name in values})


def _coerce(type_name: object, value: object) -> object:
    if not isinstance(value, str):
        return value
    kind = str(type_name)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "Path":
        return Path(value)
    return value

"""Short-lived signed access tokens (JWT, HS256) checked against the injected clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import jwt

from services.clock import Clock
from services.db.base import new_id
from services.errors import Unauthorized


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    name: str
    branch_id: str | None
    family_id: str


class AccessTokens:
    """Issues and checks access tokens. Immutable after construction: safe across threads."""

    def __init__(self, secret: str, ttl_seconds: int, clock: Clock) -> None:
        if len(secret) < 32:
            raise ValueError("the access-token secret must be at least 32 characters")
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, claims: AccessClaims) -> str:
        now = self._clock.now()
        payload = {
            "sub": claims.user_id,
            "role": claims.role,
            "name": claims.name,
            "branch": claims.branch_id,
            "fam": claims.family_id,
            "jti": new_id("atk"),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
        }
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def check(self, token: str) -> AccessClaims:
        """Verify signature and expiry; raise Unauthorized with a precise code otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("auth.token_invalid", "The sign-in token is not valid.") from None
        if payload["exp"] <= self._clock.now().timestamp():
            raise Unauthorized("auth.token_expired", "The sign-in token has expired.")
        return AccessClaims(
            user_id=payload["sub"],
            role=payload.get("role", ""),
            name=payload.get("name", ""),
            branch_id=payload.get("branch"),
            family_id=payload.get("fam", ""),
        )


@dataclass(frozen=True)
class SignedInUser:
    """What an Actor needs from the users table, cached per sign-in."""

    user_id: str
    role: str
    name: str
    branch_id: str | None


class SignInCache:
    """Which sign-ins (refresh families) are still live, so a request needs no database round trip.

    Threading rule: any thread (API worker threads and the event loop); one lock guards the maps.

    Revocation is honoured at once because every revocation of this database commits in this
    process: `revoke(family)` runs in the revoking transaction's after-commit hook, before the
    request answers. That holds for the embedded default and one `portal serve` on SQLite. With
    PostgreSQL other instances can revoke, and a NOTIFY is not guaranteed to arrive before a
    client's next request to this instance (measured: under load it lost the race in about 1 of
    6 tries), so bootstrap sets `trusted` false there and every request asks the database (one
    statement). Live entries expire after `ttl_seconds`, so a change made outside the service
    (a user disabled in SQL) still takes effect within that time.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 30.0,
        revoked_for_seconds: float = 3600.0,
        max_entries: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.revoked_for_seconds = revoked_for_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._live: dict[str, tuple[float, SignedInUser]] = {}
        self._revoked: dict[str, float] = {}
        self._generation = 0
        self.trusted: Callable[[], bool] = lambda: True

    def generation(self) -> int:
        """Read before a database check; `put` ignores an answer read before a `clear`."""
        return self._generation

    def get(self, family_id: str, user_id: str) -> SignedInUser | None:
        """The cached user of a live sign-in, or None (unknown, expired, revoked or untrusted)."""
        if not self.trusted():
            return None
        now = self._monotonic()
        with self._lock:
            if family_id in self._revoked:
                return None
            entry = self._live.get(family_id)
            if entry is None or entry[0] <= now or entry[1].user_id != user_id:
                return None
            return entry[1]

    def is_revoked(self, family_id: str) -> bool:
        with self._lock:
            return family_id in self._revoked

    def put(self, family_id: str, user: SignedInUser, generation: int) -> None:
        now = self._monotonic()
        with self._lock:
            if generation != self._generation or family_id in self._revoked:
                return
            if len(self._live) >= self.max_entries:
                self._live = {k: v for k, v in self._live.items() if v[0] > now}
                if len(self._live) >= self.max_entries:
                    self._live.clear()
            self._live[family_id] = (now + self.ttl_seconds, user)

    def revoke(self, family_id: str) -> None:
        """This sign-in ended (committed here, or NOTIFY from another instance)."""
        now = self._monotonic()
        with self._lock:
            self._live.pop(family_id, None)
            if len(self._revoked) >= self.max_entries:
                self._revoked = {k: v for k, v in self._revoked.items() if v > now}
            self._revoked[family_id] = now + self.revoked_for_seconds
            self._generation += 1

    def clear(self) -> None:
        """Forget every live entry (the NOTIFY listener reconnected: something may have been missed)."""
        with self._lock:
            self._live.clear()
            self._generation += 1

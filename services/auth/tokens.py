"""Short-lived signed access tokens (JWT, HS256) checked against the injected clock."""

from __future__ import annotations

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

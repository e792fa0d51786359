"""Access tokens are checked against the injected clock, and forgeries are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.auth.tokens import AccessClaims, AccessTokens
from services.clock import FixedClock
from services.errors import Unauthorized

SECRET = "s" * 40
CLAIMS = AccessClaims("usr_1", "agent", "Sam", None, "fam_1")


def test_round_trip_and_expiry() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    tokens = AccessTokens(SECRET, 900, clock)
    token = tokens.issue(CLAIMS)
    assert tokens.check(token) == CLAIMS
    clock.advance(timedelta(seconds=899))
    assert tokens.check(token).user_id == "usr_1"
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Unauthorized) as err:
        tokens.check(token)
    assert err.value.code == "auth.token_expired"


def test_forged_signature_and_algorithm_none_are_refused() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    tokens = AccessTokens(SECRET, 900, clock)
    forged = jwt.encode(
        {"sub": "usr_1", "role": "admin", "exp": 2_000_000_000}, "other" * 10, algorithm="HS256"
    )
    unsigned = jwt.encode({"sub": "usr_1", "role": "admin", "exp": 2_000_000_000}, None, algorithm="none")
    for token in (forged, unsigned, "garbage"):
        with pytest.raises(Unauthorized) as err:
            tokens.check(token)
        assert err.value.code == "auth.token_invalid"


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        AccessTokens("short", 900, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))

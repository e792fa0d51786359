"""Sign-in abuse under concurrency: scripted bursts of threads against one account and from one
address, concurrent refresh-token replay, and refresh-token expiry.

tests/integration/test_auth.py covers the sequential story (throttle, lock, rotation, replay,
access-token expiry); these tests fire the same requests at once, where races would show.
"""

from __future__ import annotations

import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx

from services.demo import DEMO_PASSWORD
from tests.support import Service

ALEX = "alex.morgan@example.com"
BURST = 40


def _burst(
    service: Service, bodies: list[dict[str, Any]], path: str = "/auth/sign-in"
) -> list[httpx.Response]:
    """Every body posted at once from its own thread (one shared address: 127.0.0.1)."""
    with (
        httpx.Client(base_url=service.url + "/api/v1", timeout=60) as c,
        ThreadPoolExecutor(max_workers=len(bodies)) as pool,
    ):
        return list(pool.map(lambda b: c.post(path, json=b), bodies))


def _codes(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(r.json().get("code", "ok") if r.status_code != 200 else "ok" for r in responses)


def _count(service: Service, sql: str, **params: Any) -> int:
    return int(service.sql(sql, **params)[0][0])


def test_burst_of_wrong_passwords_counts_each_failure_once_and_never_lets_one_through(
    service: Service,
) -> None:
    s = service.container.settings
    # Given a burst of wrong passwords with the right one hidden among them
    bodies = [{"email": ALEX, "password": f"guess-{n}"} for n in range(BURST)]
    bodies[BURST // 2] = {"email": ALEX, "password": DEMO_PASSWORD}
    responses = _burst(service, bodies)
    codes = _codes(responses)
    print(f"\nburst of {BURST} on one account: {dict(codes)}")
    # Then no 5xx, every refusal is a coded problem, and the failures counted are exactly those answered
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    assert set(codes) <= {"ok", "auth.invalid_credentials", "auth.throttled", "auth.locked"}
    failures = codes["auth.invalid_credentials"] + codes["auth.locked"]
    # Time flows during the burst, so a backoff may run out before the last thread arrives: a few
    # more checks than `throttle_after` are by design, as many as `lock_after` never are.
    assert 1 <= failures < s.lock_after
    assert _count(service, "SELECT count(*) FROM audit_events WHERE action='auth.sign_in_failed'") == failures
    row = service.sql("SELECT failures FROM sign_in_throttles WHERE key = :k", k=f"user:{ALEX}")
    if codes["ok"]:
        # The right password may win the race only before the throttle starts: it clears the count.
        assert codes["ok"] == 1
    else:
        assert row and row[0][0] == failures
    # And every refused attempt is on the trail as refused, none as a success beyond the one allowed
    refused = codes["auth.throttled"] + codes["auth.locked"] - (codes["auth.locked"] and 1)
    assert (
        _count(service, "SELECT count(*) FROM audit_events WHERE action='auth.sign_in_refused'")
        >= refused - 1
    )
    assert _count(service, "SELECT count(*) FROM audit_events WHERE action='auth.signed_in'") == codes["ok"]


def test_locked_account_stays_locked_under_a_burst_of_the_right_password(service: Service) -> None:
    s = service.container.settings
    # Given an account locked by failures spaced past each backoff
    with service.http() as c:
        for _ in range(s.lock_after):
            c.post("/auth/sign-in", json={"email": ALEX, "password": "wrong"})
            service.clock.advance(timedelta(seconds=61))
    tokens_before = _count(service, "SELECT count(*) FROM refresh_tokens")
    # When the right password arrives from 40 threads at once
    responses = _burst(service, [{"email": ALEX, "password": DEMO_PASSWORD}] * BURST)
    # Then every one is refused as locked, no token is issued, and the lock did not move
    assert _codes(responses) == Counter({"auth.locked": BURST})
    assert all(int(r.headers["retry-after"]) > 0 for r in responses)
    assert _count(service, "SELECT count(*) FROM refresh_tokens") == tokens_before
    assert _count(service, "SELECT count(*) FROM audit_events WHERE action='auth.signed_in'") == 0
    # And once the lock has run out, the right password works again
    service.clock.advance(timedelta(seconds=s.lock_seconds + 1))
    assert _codes(_burst(service, [{"email": ALEX, "password": DEMO_PASSWORD}]))["ok"] == 1


def test_burst_from_one_address_over_many_accounts_is_throttled_by_address(service: Service) -> None:
    s = service.container.settings
    # Given one address trying a different (unknown) email each time: no single account throttles
    bodies = [{"email": f"spray-{secrets.token_hex(4)}@example.com", "password": "x"} for _ in range(BURST)]
    responses = _burst(service, bodies)
    codes = _codes(responses)
    print(f"\nspray of {BURST} accounts from one address: {dict(codes)}")
    assert all(r.status_code < 500 for r in responses)
    # Then the address's own counter stops it: a few password checks (its allowance, plus one per
    # backoff that ran out while the burst was still arriving), never as many as its lock threshold
    assert s.throttle_after * 4 <= codes["auth.invalid_credentials"] < s.lock_after * 4
    assert codes["auth.throttled"] + codes["auth.locked"] == BURST - codes["auth.invalid_credentials"]
    row = service.sql(
        "SELECT failures FROM sign_in_throttles WHERE key = '127.0.0.1' OR key = 'ip:127.0.0.1'"
    )
    assert row and row[0][0] == codes["auth.invalid_credentials"]
    # And while the spray goes on, a real customer from that address waits too (an office behind
    # one address shares it). One more sprayed attempt first: the burst's last backoff (a second
    # or two) may have run out while it was being counted, which would rightly let anyone in.
    with service.http() as c:
        c.post("/auth/sign-in", json={"email": f"spray-{secrets.token_hex(4)}@example.com", "password": "x"})
        r = c.post("/auth/sign-in", json={"email": ALEX, "password": DEMO_PASSWORD})
    assert r.status_code in {429, 423} and int(r.headers["retry-after"]) > 0


def test_one_refresh_token_replayed_at_once_yields_one_session_and_then_none(service: Service) -> None:
    tokens = service.sign_in(ALEX)
    # When the same refresh token is presented by 20 threads at once (a stolen copy racing the owner)
    responses = _burst(service, [{"refresh_token": tokens["refresh_token"]}] * 20, path="/auth/refresh")
    codes = _codes(responses)
    print(f"\nrefresh replayed 20 times at once: {dict(codes)}")
    assert all(r.status_code < 500 for r in responses)
    # Then at most one rotation succeeded, the rest are replays or already-dead tokens
    assert codes["ok"] <= 1
    assert set(codes) <= {"ok", "auth.refresh_reused", "auth.refresh_invalid"}
    assert codes["auth.refresh_reused"] >= 1
    # And the family is revoked: the winner's new tokens are dead too
    with service.http() as c:
        for r in responses:
            if r.status_code == 200:
                fresh = r.json()
                again = c.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
                assert again.status_code == 401
                me = c.get("/me", headers={"Authorization": f"Bearer {fresh['access_token']}"})
                assert me.status_code == 401
        me = c.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 401 and me.json()["code"] == "auth.token_invalid"


def test_refresh_token_expires_and_each_rotation_is_single_use(service: Service) -> None:
    s = service.container.settings
    tokens = service.sign_in(ALEX)
    with service.http() as c:
        # Rotation: each refresh token is good exactly once, and the chain goes on
        chain = [tokens["refresh_token"]]
        for _ in range(3):
            r = c.post("/auth/refresh", json={"refresh_token": chain[-1]})
            assert r.status_code == 200
            chain.append(r.json()["refresh_token"])
        assert len(set(chain)) == len(chain)
        # Expiry: the newest refresh token dies when its lifetime runs out
        service.clock.advance(timedelta(seconds=s.refresh_token_ttl_seconds + 1))
        dead = c.post("/auth/refresh", json={"refresh_token": chain[-1]})
        assert dead.status_code == 401 and dead.json()["code"] == "auth.refresh_invalid"
    # The refresh tokens are stored only as hashes: none of them is in the database
    stored = service.sql("SELECT token_hash FROM refresh_tokens")
    assert stored and not {row[0] for row in stored} & set(chain)

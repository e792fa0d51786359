"""Sign-in, refresh rotation, sign-out and lockout against a real service and database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.demo import DEMO_PASSWORD
from tests.support import Service, running_service

ALEX = "alex.morgan@example.com"


def audit_actions(service: Service, action: str) -> int:
    return service.sql("SELECT count(*) FROM audit_events WHERE action = :a", a=action)[0][0]


def test_sign_in_returns_tokens_and_me(service: Service) -> None:
    with service.http() as c:
        r = c.post("/auth/sign-in", json={"email": "  Alex.Morgan@Example.com ", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["user"]["role"] == "policyholder"
    assert [a["name"] for a in body["user"]["accounts"]] == ["Morgan household"]
    with service.http() as c:
        me = c.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == ALEX
    assert audit_actions(service, "auth.signed_in") == 1


def test_wrong_password_is_401_with_code_and_audited(service: Service) -> None:
    with service.http() as c:
        r = c.post("/auth/sign-in", json={"email": ALEX, "password": "nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "auth.invalid_credentials"
    assert audit_actions(service, "auth.sign_in_failed") == 1
    # The password itself never reaches the trail.
    assert service.sql("SELECT count(*) FROM audit_events WHERE CAST(after AS TEXT) LIKE '%nope%'")[0][0] == 0


def test_repeated_failures_throttle_then_lock_and_success_needs_the_wait(service: Service) -> None:
    settings = service.container.settings
    codes = []
    with service.http() as c:
        for _ in range(settings.throttle_after):
            codes.append(c.post("/auth/sign-in", json={"email": ALEX, "password": "bad"}).json()["code"])
        # Given three failures, when trying again at once, then the attempt is slowed down.
        throttled = c.post("/auth/sign-in", json={"email": ALEX, "password": DEMO_PASSWORD})
        assert throttled.status_code == 429
        assert throttled.json()["code"] == "auth.throttled"
        assert int(throttled.headers["retry-after"]) >= 1
        # Keep failing, waiting out each backoff, until the account locks.
        last = None
        for _ in range(settings.lock_after - settings.throttle_after):
            service.clock.advance(timedelta(seconds=61))
            last = c.post("/auth/sign-in", json={"email": ALEX, "password": "bad"})
        assert last is not None and last.status_code == 423
        assert last.json()["code"] == "auth.locked" and last.json()["retry_after"] > 60
        service.clock.advance(timedelta(seconds=60))
        still = c.post("/auth/sign-in", json={"email": ALEX, "password": DEMO_PASSWORD})
        assert still.status_code == 423, "the right password does not open a locked account"
        service.clock.advance(timedelta(seconds=settings.lock_seconds))
        assert c.post("/auth/sign-in", json={"email": ALEX, "password": DEMO_PASSWORD}).status_code == 200
    assert codes == ["auth.invalid_credentials"] * settings.throttle_after
    assert audit_actions(service, "auth.sign_in_refused") >= 2
    assert audit_actions(service, "auth.sign_in_failed") == settings.lock_after


def test_unknown_email_fails_like_a_wrong_password(service: Service) -> None:
    with service.http() as c:
        r = c.post("/auth/sign-in", json={"email": "nobody@example.com", "password": "x"})
    assert r.status_code == 401 and r.json()["code"] == "auth.invalid_credentials"
    assert (
        service.sql("SELECT chain_key FROM audit_events WHERE action='auth.sign_in_failed'")[0][0] == "system"
    )


def test_refresh_rotates_and_replay_revokes_the_family(service: Service) -> None:
    first = service.sign_in(ALEX)
    with service.http() as c:
        second = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        second_tokens = second.json()
        assert second_tokens["refresh_token"] != first["refresh_token"]
        # Given the first refresh token was already used, replaying it is a theft signal...
        replay = c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert replay.status_code == 401 and replay.json()["code"] == "auth.refresh_reused"
        # ...so the whole family is revoked: the legitimate newer token and its access token die too.
        assert (
            c.post("/auth/refresh", json={"refresh_token": second_tokens["refresh_token"]}).json()["code"]
            == "auth.refresh_invalid"
        )
        me = c.get("/me", headers={"Authorization": f"Bearer {second_tokens['access_token']}"})
        assert me.status_code == 401
    assert audit_actions(service, "auth.refresh_reused") == 1


def test_sign_out_revokes_refresh_and_access(service: Service) -> None:
    tokens = service.sign_in(ALEX)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    with service.http() as c:
        assert c.get("/me", headers=headers).status_code == 200
        assert c.post("/auth/sign-out", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
        assert c.get("/me", headers=headers).json()["code"] == "auth.token_invalid"
        assert c.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert audit_actions(service, "auth.signed_out") == 1


def test_access_token_expires(service: Service) -> None:
    tokens = service.sign_in(ALEX)
    service.clock.advance(timedelta(seconds=901))
    with service.http() as c:
        r = c.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert r.status_code == 401 and r.json()["code"] == "auth.token_expired"
        # The refresh token still works and yields a fresh access token.
        fresh = c.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
        assert c.get("/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200


def test_forged_and_missing_tokens(service: Service) -> None:
    tokens = service.sign_in(ALEX)
    head, payload, _sig = tokens["access_token"].split(".")
    with service.http() as c:
        assert c.get("/me").json()["code"] == "auth.token_missing"
        assert (
            c.get("/me", headers={"Authorization": f"Bearer {head}.{payload}.AAAA"}).json()["code"]
            == "auth.token_invalid"
        )
        assert c.get("/me", headers={"Authorization": "Basic abc"}).json()["code"] == "auth.token_invalid"


def _family_of(service: Service, access_token: str) -> tuple[str, str]:
    claims = service.container.auth.tokens.check(access_token)
    return claims.family_id, claims.user_id


def test_token_check_answers_from_memory_until_sign_out(service: Service) -> None:
    if service.container.db.dialect == "postgresql":
        pytest.skip("other instances can revoke on PostgreSQL: every request asks the database there")
    tokens = service.sign_in(ALEX)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    family, user = _family_of(service, tokens["access_token"])
    with service.http() as c:
        assert c.get("/me", headers=headers).status_code == 200
        # Given the sign-in is now known live, the next check needs no database round trip...
        assert service.container.auth.sign_ins.get(family, user) is not None
        assert c.post("/auth/sign-out", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
        # ...and the sign-out's commit ends it at once, in memory too.
        assert service.container.auth.sign_ins.get(family, user) is None
        assert c.get("/me", headers=headers).json()["code"] == "auth.token_invalid"


@pytest.mark.postgres
def test_sign_out_on_one_instance_refuses_the_token_at_once_on_another(pg_url: str, tmp_path: Path) -> None:
    with (
        running_service(pg_url, tmp_path / "a") as a,
        running_service(pg_url, tmp_path / "b", seed=False) as b,
        a.http() as on_a,
        b.http() as on_b,
    ):
        for _ in range(5):
            tokens = a.sign_in(ALEX)
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            # Given instance B has served this sign-in...
            assert on_b.get("/me", headers=headers).status_code == 200
            # When the customer signs out on instance A...
            out = on_a.post("/auth/sign-out", json={"refresh_token": tokens["refresh_token"]})
            assert out.status_code == 204
            # Then instance B refuses the access token on the very next request.
            refused = on_b.get("/me", headers=headers)
            assert refused.status_code == 401 and refused.json()["code"] == "auth.token_invalid"

"""Bad input of any kind gets the right status and a problem-JSON code, and writes nothing."""

from __future__ import annotations

import pytest

from tests.support import Service


def snapshot(service: Service) -> tuple[int, ...]:
    tables = ("audit_events", "refresh_tokens", "sign_in_throttles", "branch_verifications")
    counts = [service.sql(f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    holders = service.sql("SELECT id, phone, email, address, postcode FROM account_holders ORDER BY id")
    return (*counts, hash(tuple(holders)))


def morgan_ids(service: Service) -> tuple[str, str]:
    return service.sql("SELECT account_id, id FROM account_holders WHERE full_name='Alex Morgan'")[0]


CASES = [
    # (method, path template, kwargs, status, code)
    (
        "post",
        "/auth/sign-in",
        {"content": b'{"email": "a@b.c", "password": ', "headers": {"content-type": "application/json"}},
        400,
        "request.malformed_json",
    ),
    (
        "post",
        "/auth/sign-in",
        {"content": b"email=a", "headers": {"content-type": "text/plain"}},
        400,
        "request.malformed_json",
    ),
    ("post", "/auth/sign-in", {"json": ["a@b.c", "pw"]}, 400, "request.malformed_json"),
    ("post", "/auth/sign-in", {"json": {"email": 42, "password": "x"}}, 422, "request.invalid"),
    ("post", "/auth/sign-in", {"json": {"email": "not-an-email", "password": "x"}}, 422, "request.invalid"),
    ("post", "/auth/sign-in", {"json": {"email": "a@b.c"}}, 422, "request.invalid"),
    (
        "post",
        "/auth/sign-in",
        {"json": {"email": "a@b.c", "password": "x", "admin": True}},
        422,
        "request.invalid",
    ),
    (
        "post",
        "/auth/sign-in",
        {"json": {"email": "a@b.c", "password": "x" * 2_000_000}},
        413,
        "request.too_large",
    ),
    ("post", "/auth/refresh", {"json": {"refresh_token": None}}, 422, "request.invalid"),
    ("patch", "/accounts/{account}/holders/{holder}", {"json": {"phone": 5551234}}, 422, "request.invalid"),
    ("patch", "/accounts/{account}/holders/{holder}", {"json": {"email": "x@"}}, 422, "request.invalid"),
    ("patch", "/accounts/{account}/holders/{holder}", {"json": {"full_name": "Eve"}}, 422, "request.invalid"),
    (
        "patch",
        "/accounts/{account}/holders/hld_nope",
        {"json": {"phone": "+1 312 555 0100"}},
        404,
        "holder.not_found",
    ),
    (
        "post",
        "/branch/verify",
        {"json": {"policy_number": "AUT-100234", "date_of_birth": "14/03/1984", "postcode": "60657"}},
        422,
        "request.invalid",
    ),
    ("get", "/accounts/{account}/events?since=-1", {}, 422, "request.invalid"),
    ("get", "/accounts/{account}/events?since=abc", {}, 422, "request.invalid"),
    ("get", "/no/such/route", {}, 404, "request.not_found"),
    ("delete", "/me", {}, 405, "request.method_not_allowed"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[4]}-{i}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_refused_cleanly(
    module_service: Service, method: str, path: str, kwargs: dict, status: int, code: str
) -> None:
    service = module_service
    account, holder = morgan_ids(service)
    with service.authed("alex.morgan@example.com") as c:
        before = snapshot(service)
        r = c.request(method.upper(), path.format(account=account, holder=holder), **kwargs)
        after = snapshot(service)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    if code == "request.invalid":
        assert body["errors"] and all(e["field"] for e in body["errors"])
    assert after == before, "a refused request wrote something"

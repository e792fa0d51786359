"""The API contract: docs/API.md and the OpenAPI document agree, and the documented bounds hold.

The bounds tests run on SQLite and PostgreSQL: a number beyond 64 bits once reached the SQLite
driver and answered 500 (OverflowError); now validation refuses it with 422 before any query.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.security import world as w
from tests.support import Service

API_MD = Path(__file__).resolve().parents[2] / "docs" / "API.md"
PREFIX = "/api/v1"
TABLE_HEADING = "## Every operation and what it answers"
_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \| ([\d ]+) \| ([\d ]*) \|$")


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """'METHOD /path' -> (success statuses, problem statuses), as the OpenAPI document says."""
    out = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = sorted(int(s) for s in op["responses"])
            ok = " ".join(str(s) for s in codes if s < 400)
            problems = " ".join(str(s) for s in codes if s >= 400)
            out[f"{method.upper()} {path.removeprefix(PREFIX)}"] = (ok, problems)
    return out


def _doc_table(text: str) -> dict[str, tuple[str, str]]:
    section = text.split(TABLE_HEADING, 1)[1]
    rows = {}
    for line in section.splitlines():
        m = _ROW.match(line.strip())
        if m:
            rows[f"{m[1]} {m[2]}"] = (m[3].strip(), m[4].strip())
    return rows


def _render(ops: dict[str, tuple[str, str]]) -> str:
    rows = sorted(ops.items(), key=_order)
    return "\n".join(f"| `{k}` | {ok} | {problems} |" for k, (ok, problems) in rows)


def _order(item: tuple[str, Any]) -> tuple[str, int]:
    method, path = item[0].split(" ", 1)
    return path, ["GET", "POST", "PUT", "PATCH", "DELETE"].index(method)


@pytest.fixture(scope="module")
def spec(module_service: Service) -> dict[str, Any]:
    # Built on the first request; generous on a loaded machine.
    return httpx.get(module_service.url + PREFIX + "/openapi.json", timeout=60).json()


def test_docs_list_every_operation_with_the_statuses_the_document_declares(spec: dict[str, Any]) -> None:
    # Given the OpenAPI document the service serves and the table in docs/API.md
    documented = _doc_table(API_MD.read_text())
    declared = _operations(spec)
    # Then they list the same operations with the same success and problem statuses
    assert documented == declared, (
        "docs/API.md disagrees with the OpenAPI document; the table should read:\n" + _render(declared)
    )


def test_every_operation_the_prose_names_exists(spec: dict[str, Any]) -> None:
    def norm(method: str, path: str) -> str:
        return f"{method} {re.sub(r'{[^}]+}', '{}', path)}"

    declared = {norm(*k.split(" ", 1)) for k in _operations(spec)}
    prose = API_MD.read_text().split(TABLE_HEADING, 1)[0]
    named = {norm(m, p) for m, p in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)", prose)}
    assert named - declared == set(), "docs/API.md describes operations the service does not have"
    assert declared - named == set(), "operations the docs/API.md prose never describes"


def test_every_status_in_the_error_tables_is_declared(spec: dict[str, Any]) -> None:
    # The `| code | status | when |` tables name statuses; the document must declare each somewhere.
    declared = {int(s) for item in spec["paths"].values() for op in item.values() for s in op["responses"]}
    in_tables = {
        int(s)
        for row in re.findall(r"^\| [a-z][^|]* \| ([\d/]+) \|", API_MD.read_text(), re.M)
        for s in row.split("/")
    }
    assert in_tables and in_tables <= declared, sorted(in_tables - declared)


def test_errors_are_problem_json_and_links_join_created_ids(spec: dict[str, Any]) -> None:
    ops = spec["paths"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for item in ops.values():
        for op in item.values():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    media = list(response["content"])
                    assert media == ["application/problem+json"], (op["operationId"], status)
    upload = ops[PREFIX + "/claims/uploads/{claim_id}"]["post"]["operationId"]
    links = ops[PREFIX + "/claims"]["post"]["responses"]["201"]["links"]
    assert any(link["operationId"] == upload for link in links.values())
    photo = ops[PREFIX + "/claims/uploads/{claim_id}"]["post"]["responses"]["201"]["links"]["PhotoContent"]
    assert photo["parameters"] == {"claim_id": "$response.body#/claim_id", "photo_id": "$response.body#/id"}
    params = ops[PREFIX + "/accounts/{account_id}/events"]["get"]["parameters"]
    events = {p["name"]: p["schema"] for p in params}
    assert (events["since"]["minimum"], events["since"]["maximum"]) == (0, 2**63 - 1)
    assert (events["limit"]["minimum"], events["limit"]["maximum"]) == (1, 500)


def _ids(service: Service) -> tuple[str, str]:
    with service.authed(w.ALEX) as c:
        account = c.get("/me").json()["accounts"][0]["id"]
        policy = c.get(f"/accounts/{account}").json()["policies"][0]["id"]
    return account, policy


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("get", "/accounts/{account}/events", {"params": {"since": 2**64}}, "since"),
        ("get", "/accounts/{account}/events", {"params": {"since": -1}}, "since"),
        ("get", "/accounts/{account}/events", {"params": {"limit": 0}}, "limit"),
        ("get", "/accounts/{account}/events", {"params": {"limit": 501}}, "limit"),
        ("put", "/policies/{policy}/payment-day", {"json": {"day": 29}}, "day"),
        ("put", "/policies/{policy}/payment-day", {"json": {"day": 2**70}}, "day"),
        (
            "post",
            "/policies/{policy}/payments",
            {"json": {"payment_method_id": "pm_x", "amount_minor": 10**18, "request_key": "k" * 16}},
            "amount_minor",
        ),
        (
            "post",
            "/policies/{policy}/payments",
            {"json": {"payment_method_id": "pm_x", "request_key": "not a key!"}},
            "request_key",
        ),
        ("get", "/accounts/acc$;drop", {}, "account_id"),
        ("get", "/notifications", {"params": {"before": "0.5"}}, "before"),
        ("patch", "/accounts/{account}/holders/h1", {"json": {"paperless": "yes"}}, "paperless"),
    ],
)
def test_out_of_bounds_is_422_with_a_code_on_every_database(
    module_service: Service, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    account, policy = _ids(module_service)
    with module_service.authed(w.ALEX) as c:  # signing in is itself audited: count after it
        before = module_service.sql("SELECT count(*) FROM audit_events")[0][0]
        r = c.request(method, path.format(account=account, policy=policy), **kwargs)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "request.invalid" and [e["field"] for e in body["errors"]] == [field]
    assert module_service.sql("SELECT count(*) FROM audit_events")[0][0] == before  # nothing written


def test_largest_sequence_number_is_a_valid_empty_page(module_service: Service) -> None:
    account, _ = _ids(module_service)
    with module_service.authed(w.ALEX) as c:
        r = c.get(f"/accounts/{account}/events", params={"since": 2**63 - 1})
    assert r.status_code == 200 and r.json() == {"events": [], "next_since": 2**63 - 1, "has_more": False}


def test_method_not_allowed_lists_every_method_of_the_resource(module_service: Service) -> None:
    with module_service.authed(w.ALEX) as c:
        r = c.request("PUT", "/claims")
    assert r.status_code == 405 and r.json()["code"] == "request.method_not_allowed"
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}


def test_live_feed_refuses_a_sequence_number_beyond_64_bits(module_service: Service) -> None:
    # The socket's `since` reached the same query as the page endpoint's: beyond 64 bits the
    # SQLite driver overflowed. Now validation closes the socket (1008) before any query runs.
    account, _ = _ids(module_service)
    token = module_service.sign_in(w.ALEX)["access_token"]
    url = module_service.ws_url(f"/accounts/{account}/events/live?since={2**64}")
    headers = {"Authorization": f"Bearer {token}"}
    with (
        pytest.raises((InvalidStatus, ConnectionClosed)) as refused,
        connect(url, additional_headers=headers, open_timeout=30) as ws,
    ):
        ws.recv(timeout=30)
    if isinstance(refused.value, ConnectionClosed):
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 1008
    # A valid since still opens the feed.
    with connect(url.replace(str(2**64), "0"), additional_headers=headers, open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] in {"event", "ready"}

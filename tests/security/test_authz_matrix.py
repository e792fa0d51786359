"""Every operation in /api/v1/openapi.json x every role x own / another household's resources.

Asserts: strangers get 401 everywhere but the public endpoints; nobody reads or writes another
household's data (404/403, no row of any table changed, none of its identifiers in the answer);
policyholders never reach staff tools; and the resolver found real ids for every operation (an
operation it cannot fill is listed and fails the test, rather than being skipped in silence).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from services.payments.localstripe import LocalStripe
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import payments_service
from tests.security import matrix as m
from tests.security import world as w

# Authorisation is decided in Python, the same on both databases: the matrix runs on PostgreSQL
# (what agents and branches share) to keep `make test` short; PORTAL_MATRIX_SQLITE=1 adds SQLite.
MATRIX_BACKENDS = BACKENDS if os.environ.get("PORTAL_MATRIX_SQLITE") else BACKENDS[1:]


@pytest.fixture(scope="module", params=MATRIX_BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[w.World]:
    folder = tmp_path_factory.mktemp("matrix")
    for url in _database_url(request.param, folder):
        with payments_service(url, folder, localstripe) as svc:
            built = w.build_world(svc, localstripe)
            morgan = built.households["morgan"]
            with svc.authed(w.BRANCH) as branch:
                r = branch.post(
                    "/branch/verify",
                    json={
                        "policy_number": morgan.policy_number,
                        "date_of_birth": morgan.date_of_birth,
                        "postcode": morgan.postcode,
                    },
                )
                assert r.status_code == 200, r.text
            yield built


def _is_problem(response: httpx.Response) -> bool:
    body = w.json_of(response)
    return (
        response.headers.get("content-type", "").startswith("application/problem+json")
        and isinstance(body, dict)
        and isinstance(body.get("code"), str)
    )


@pytest.mark.timeout(900)
def test_every_operation_every_role_own_and_other_household(world: w.World) -> None:
    svc = world.service
    spec = httpx.get(svc.url + "/api/v1/openapi.json").json()
    ops = m.operations(spec)
    resolver = m.Resolver(world)
    clients = m.signed_in_clients(svc)
    grid: dict[str, dict[tuple[str, str], m.Cell]] = {}
    failures: list[str] = []
    exercised: set[tuple[str, str]] = set()  # (GET operation, household) someone could read
    business: set[str] = set()  # allowed calls that the service refused on business rules

    refusing = {"deny", "anon", "staff_only"}
    pool = ThreadPoolExecutor(max_workers=8)

    def run(op: m.Operation, principal: str, scope: str, expect: str) -> None:
        target = resolver.url(op, scope)
        if target is None:
            return
        path, query = target
        r = m.call(clients[principal], op, path, query, resolver.body(op, scope))
        body = w.json_of(r)
        if os.environ.get("PORTAL_MATRIX_ONLY"):
            print(principal, scope, r.request.url, r.request.content[:300], r.text[:300])
        cell = m.Cell(principal, scope, r.status_code, body.get("code", "") if isinstance(body, dict) else "")
        cell.expect = expect
        grid.setdefault(op.key, {})[(principal, scope)] = cell
        where = f"{op.key} as {principal} on {scope}"
        if r.status_code >= 500:
            failures.append(f"{where}: {r.status_code} {r.text[:200]}")
        if r.status_code >= 400 and not _is_problem(r):
            failures.append(f"{where}: error {r.status_code} is not problem JSON")
        if expect in refusing:
            allowed = {"anon": {401}, "deny": {403, 404}, "staff_only": {403, 404}}[expect]
            if r.status_code not in allowed:
                failures.append(f"{where}: wanted {sorted(allowed)}, got {r.status_code} {cell.code}")
            cell.leaked = m.leaks(r.content, every_marker)
            if cell.leaked:
                failures.append(f"{where}: the refusal reveals {cell.leaked}")
            return
        if principal in m.HOME:
            other = "shah" if m.HOME[principal] == "morgan" else "morgan"
            cell.leaked = m.leaks(r.content, world.households[other].markers)
            if cell.leaked:
                failures.append(f"{where}: shows the other household's {cell.leaked}")
        if op.method == "GET" and 200 <= r.status_code < 300:
            exercised.add((op.key, scope))
        if r.status_code >= 400:
            business.add(f"{op.key}: {r.status_code} {cell.code}")

    every_marker = set().union(*(h.markers for h in world.households.values()))
    try:
        for op in ops:
            scopes = m.SCOPES if op.scoped else ("-",)
            cells = [
                (p, s, m.expectation(op, p, s))
                for s in scopes
                for p in m.PRINCIPALS
                if op.key not in m.PUBLIC or p == "anonymous"  # public: called by a stranger only
            ]
            # Refusals first, all at once, while every target still exists: the tables before and
            # after the batch must be identical. Then the allowed calls, one by one.
            refused = [c for c in cells if c[2] in refusing]
            before = m.fingerprint(svc)
            list(pool.map(lambda c, op=op: run(op, *c), refused))
            wrote = m.changed(before, m.fingerprint(svc))
            if wrote:
                failures.append(f"{op.key}: refused calls changed tables {wrote}")
                for principal, scope, _ in refused:
                    grid[op.key][(principal, scope)].wrote = wrote
            for c in cells:
                if c[2] not in refusing:
                    run(op, *c)

        # The live change feed is a WebSocket: not in OpenAPI, so it gets its own row.
        ws_row = _websocket_row(world, clients)
        grid["WS /accounts/{account_id}/events/live"] = ws_row
        for (principal, scope), cell in ws_row.items():
            if cell.expect in {"deny", "anon"} and cell.status == "ready":
                failures.append(f"live feed as {principal} on {scope}: the feed opened")
            if cell.expect == "allow" and principal in {"policyholder", "agent"} and cell.status != "ready":
                failures.append(f"live feed as {principal} on {scope}: {cell.status}")
    finally:
        pool.shutdown()
        for c in clients.values():
            c.close()

    ops_shown = [*ops, m.Operation("WS", "/accounts/{account_id}/events/live", {})]
    print()
    print(m.render(ops_shown, grid))
    print(f"\n{len(ops)} operations from OpenAPI + 1 WebSocket; {sum(len(r) for r in grid.values())} calls.")
    refused_cells = [c for r in grid.values() for c in r.values() if c.expect in refusing]
    print(f"{len(refused_cells)} calls had to be refused; {sum(1 for c in refused_cells if c.wrote)} wrote.")
    print("Allowed calls refused on business rules (not authorisation):")
    for line in sorted(business):
        print("  " + line)
    print("Operations the resolver could not fill:", sorted(resolver.unknown) or "none")

    assert not resolver.unknown, f"add these parameter names to the resolver: {sorted(resolver.unknown)}"
    assert not failures, "\n".join(failures)
    # Every read succeeded for someone on each household: the resolver's ids are real, so the
    # refusals above were refusals of real resources, not of made-up ids.
    unread = [
        f"{op.key} on {scope}"
        for op in ops
        if op.method == "GET"
        for scope in (m.SCOPES if op.scoped else ("-",))
        if (op.key, scope) not in exercised
    ]
    assert not unread, "no principal could read these, so their refusals prove nothing:\n" + "\n".join(unread)
    assert len(refused_cells) > 100  # the matrix really ran


def _websocket_row(world: w.World, clients: dict[str, httpx.Client]) -> dict[tuple[str, str], m.Cell]:
    svc = world.service
    row: dict[tuple[str, str], m.Cell] = {}
    for principal in m.PRINCIPALS:
        headers = {}
        if "authorization" in clients[principal].headers:
            headers["Authorization"] = clients[principal].headers["authorization"]
        for scope in m.SCOPES:
            account = world.households[scope].ids["account_id"]
            url = svc.ws_url(f"/accounts/{account}/events/live?since=0")
            op = m.Operation("GET", "/accounts/{account_id}/events", {})
            row[(principal, scope)] = m.Cell(principal, scope, _open_feed(url, headers), "", "")
            row[(principal, scope)].expect = m.expectation(op, principal, scope)
    return row


def _open_feed(url: str, headers: dict[str, str]) -> str:
    """'ready' when the feed sent its backlog, else the close code it answered with."""
    try:
        with ws_client.connect(url, additional_headers=headers, open_timeout=10) as conn:
            while True:
                message = conn.recv(timeout=10)
                if '"ready"' in str(message):
                    return "ready"
    except ConnectionClosed as exc:
        return str(exc.rcvd.code if exc.rcvd else "closed")

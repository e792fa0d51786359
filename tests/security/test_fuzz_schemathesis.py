"""Schemathesis against /api/v1/openapi.json, signed in as a demo policyholder and as an agent.

Bounded: a few valid and invalid examples per operation and role (PORTAL_FUZZ_EXAMPLES, default 3),
half of them with path parameters pinned to the policyholder's real ids so the handlers behind
the 404s are reached too. Every response must be: no 5xx; every error problem JSON with a code;
every success matching the response schema the OpenAPI document declares.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.payments.localstripe import LocalStripe
from tests.conftest import _database_url
from tests.payments_support import payments_service
from tests.security import world as w

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "3"))
# Multipart-free raw upload: the schema cannot describe its body, the photo tests cover it.
SKIP = {"POST /api/v1/claims/uploads/{claim_id}"}


@pytest.fixture
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[w.World]:
    folder = tmp_path_factory.mktemp("fuzz")
    for url in _database_url(request.param, folder):
        with payments_service(url, folder, localstripe) as svc:
            yield w.build_world(svc, localstripe)


# Each role on one database, to keep `make test` short: the policyholder on SQLite (the desktop
# default), the agent on PostgreSQL (the shared service). Both run every operation.
ROLES = [
    pytest.param("sqlite", w.ALEX, id="policyholder-sqlite"),
    pytest.param("postgresql", w.AGENT, id="agent-postgresql", marks=pytest.mark.postgres),
]


def _problem_check(response: Any) -> str | None:
    if response.status_code < 400:
        return None
    ctype = response.headers.get("content-type", "")
    if isinstance(ctype, list):
        ctype = ctype[0]
    if not ctype.startswith("application/problem+json"):
        return f"error {response.status_code} is {ctype!r}, not problem JSON"
    try:
        body = response.json()
    except ValueError:
        return f"error {response.status_code} body is not JSON"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("code"), str)
        or body.get("status") != (response.status_code)
    ):
        return f"error {response.status_code} problem lacks code/status: {str(body)[:200]}"
    return None


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("world", "email"), ROLES, indirect=["world"])
def test_fuzz_every_operation(world: w.World, email: str) -> None:
    svc = world.service
    base = svc.url
    spec = httpx.get(base + "/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    token = svc.sign_in(email)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    own = world.households["morgan"].ids
    session = requests.Session()
    failures: dict[str, set[str]] = {}
    calls = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        key = f"{operation.method.upper()} {operation.path}"
        if key in SKIP:
            continue
        names = [p.name for p in operation.path_parameters]
        pinned = {n: own[n] for n in names if n in own}
        strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
        if pinned and len(pinned) == len(names):
            strategies += [
                operation.as_strategy(generation_mode=mode, path_parameters=pinned) for mode in GenerationMode
            ]

        @settings(
            max_examples=EXAMPLES * len(strategies),
            deadline=None,
            database=None,
            derandomize=True,  # the same cases every run: a CI failure replays locally
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=base, session=session, headers=headers, timeout=30)
            problems = failures.setdefault(f"{case.operation.method.upper()} {case.operation.path}", set())
            for check in (not_a_server_error, response_schema_conformance):
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except (Exception, BaseExceptionGroup) as exc:  # a group when several checks fail
                    problems.add(f"{check.__name__}: {str(exc).splitlines()[0][:300]}")
            bad = _problem_check(response)
            if bad:
                problems.add(bad)

        run()

    report = {k: sorted(v) for k, v in failures.items() if v}
    print(f"\nschemathesis as {email}: {calls} calls over {len(failures)} operations; failing: {len(report)}")
    for key, problems in sorted(report.items()):
        print(f"  {key}")
        for p in problems:
            print(f"      {p}")
    assert not report

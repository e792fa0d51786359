"""Schemathesis against /api/v1/openapi.json with every check, as a policyholder and as an agent.

The schemathesis CLI runs against the real service (SQLite and PostgreSQL), the way a partner's
client or an outside fuzzer meets it: every check (server errors, status codes, content types,
response schemas and headers, negative and positive data, auth, Allow headers...) as a policyholder
and as an agent on SQLite and PostgreSQL, the fuzzing phase on every operation, then the stateful
phase, which follows the document's links from /me to the accounts, policies, claims, photos,
cards, payments and cases; the coverage phase once (see COVERAGE_ONCE).
Operations whose rules JSON Schema cannot express are listed, with the reason, in
schemathesis.toml at the repository root.

Bounded to fit `make test`: PORTAL_FUZZ_EXAMPLES (default 2) cases per operation and phase, a
short stateful run, a fixed seed (a CI failure replays locally). scripts/fuzz_outside.py runs the
same checks longer against a seeded `portal serve`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.payments.localstripe import LocalStripe
from tests.conftest import BACKENDS, _database_url
from tests.payments_support import payments_service
from tests.security import world as w

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "2"))
CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe
) -> Iterator[w.World]:
    folder = tmp_path_factory.mktemp("fuzz")
    for url in _database_url(request.param, folder):
        with payments_service(url, folder, localstripe) as svc:
            yield w.build_world(svc, localstripe)


def run_schemathesis(
    url: str, token: str, *, phases: str, examples: int, workdir: Path, seed: int = 19
) -> subprocess.CompletedProcess[str]:
    """The schemathesis CLI with every check against a running service."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + SUITE_SETTINGS)
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        url + "/api/v1/openapi.json",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--no-color",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    # In its own folder: schemathesis keeps a crash cache (.schemathesis/) in its working directory,
    # which would otherwise replay old runs from the repository.
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=workdir, env=env)


# The coverage phase (every boundary of every parameter, ~95% of the requests) checks that the
# document and validation agree, which depends on neither the role nor the database: it runs once,
# as the agent (who reaches the staff operations a policyholder meets as 403 before validation),
# on SQLite (the desktop default). test_api_contract.py checks the bounds on both databases.
# Fuzzing and the stateful walk run for every role on every database.
COVERAGE_ONCE = {("sqlite", w.AGENT)}
# In the suite, one undeclared method per operation (TRACE) instead of seven; the Allow header of a
# 405 has its own test, and scripts/fuzz_outside.py sends them all.
SUITE_SETTINGS = '\n[phases.coverage]\nunexpected-methods = ["trace"]\n'


@pytest.mark.timeout(900)
@pytest.mark.parametrize("email", [w.ALEX, w.AGENT], ids=["policyholder", "agent"])
def test_every_check_passes(
    world: w.World, email: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    backend = request.node.callspec.params["world"]
    phases = "examples,coverage,fuzzing,stateful" if (backend, email) in COVERAGE_ONCE else "fuzzing,stateful"
    # Given a signed-in policyholder or agent on a service with real households
    token = world.service.sign_in(email)["access_token"]
    # When schemathesis exercises every operation, then walks the links
    result = run_schemathesis(world.service.url, token, phases=phases, examples=EXAMPLES, workdir=tmp_path)
    summary = result.stdout[result.stdout.rfind("=== SUMMARY") :] if "SUMMARY" in result.stdout else ""
    print(f"\nschemathesis as {email}:\n{summary or result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    # Then no check failed: no 5xx, every status, content type and body as documented
    assert result.returncode == 0, result.stdout[-20000:]
    # ... and the run really exercised the API (not a schema that failed to load)
    assert "Tested:" in result.stdout and "Stateful" in result.stdout

"""Signed checkpoints: sealing by the job runner, the public key, and `portal audit verify`
catching forged checkpoints and trails rewritten after sealing (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError

from services.audit.checkpoints import SEAL_JOB, key_id_of, seal_checkpoints, verify_checkpoints
from services.audit.service import verify_chains
from services.cases.scheduled import register
from services.jobs.runner import JobRegistry, JobRunner
from services.signing import SigningKey
from tests.support import Service

REPO = Path(__file__).resolve().parents[2]


def _seal(service: Service) -> int:
    with service.container.db.write() as session:
        return seal_checkpoints(session, service.clock, service.container.extras["audit_key"])


def _check(service: Service, account_id: str | None = None):  # type: ignore[no-untyped-def]
    key = service.container.extras["audit_key"]
    with service.container.db.read() as session:
        return verify_checkpoints(session, account_id=account_id, trusted_key_ids={key.key_id})


def _morgan(service: Service) -> str:
    return service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


def _drop_triggers(service: Service) -> None:
    for table in ("audit_events", "audit_checkpoints"):
        if service.container.db.dialect == "postgresql":
            service.sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            service.sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            service.sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def test_the_job_runner_seals_every_chain_and_the_public_key_is_published(service: Service) -> None:
    registry = JobRegistry()
    register(registry, service.container)
    assert SEAL_JOB in registry.kinds
    JobRunner(service.container.db, service.clock, registry).run_once()
    heads = service.sql("SELECT chain_key, length, last_hash FROM audit_chain_heads ORDER BY chain_key")
    sealed = service.sql(
        "SELECT chain_key, length, head_hash FROM audit_checkpoints "
        "WHERE sealed_at = (SELECT MAX(sealed_at) FROM audit_checkpoints) ORDER BY chain_key"
    )
    assert [tuple(r) for r in sealed] == [tuple(r) for r in heads]
    # Nothing new happened: sealing again adds nothing.
    assert _seal(service) == 0
    report = _check(service)
    assert report.problems == [] and report.checkpoints == len(heads)
    key = service.http().get("/audit/public-key").json()
    assert key["algorithm"] == "Ed25519" and key["key_id"] == key_id_of(key["public_key"])
    assert key["last_checkpoint_at"]


def test_checkpoints_are_append_only(service: Service) -> None:
    _seal(service)
    for statement in ("UPDATE audit_checkpoints SET length = 1", "DELETE FROM audit_checkpoints"):
        with pytest.raises(DatabaseError, match="append-only"):
            service.sql(statement)


def test_verify_reports_a_forged_checkpoint(service: Service) -> None:
    morgan = _morgan(service)
    _seal(service)
    _drop_triggers(service)
    # An edited checkpoint (claims a different head) no longer matches its signature.
    service.sql("UPDATE audit_checkpoints SET head_hash = :h WHERE chain_key = :c", h="f" * 64, c=morgan)
    (problem,) = _check(service, morgan).problems
    assert "signature does not verify" in problem.reason
    # A checkpoint re-signed with someone else's key is forged too, whatever it says.
    service.sql("DELETE FROM audit_checkpoints WHERE chain_key = :c", c=morgan)
    mallory = SigningKey.generate()
    with service.container.db.write() as session:
        seal_checkpoints(session, service.clock, mallory, chain_key=morgan)
    (problem,) = _check(service, morgan).problems
    assert "not the service's key" in problem.reason


def test_verify_catches_a_trail_rewritten_after_sealing(service: Service) -> None:
    # Given a sealed chain, when someone with database access removes the last events and
    # moves the chain head back (so the chain itself is consistent again)...
    morgan = _morgan(service)
    _seal(service)
    _drop_triggers(service)
    length = service.sql("SELECT length FROM audit_chain_heads WHERE chain_key=:c", c=morgan)[0][0]
    prev = service.sql(
        "SELECT seq, hash FROM audit_events WHERE chain_key=:c AND chain_index=:i", c=morgan, i=length - 1
    )[0]
    service.sql("DELETE FROM audit_events WHERE chain_key=:c AND chain_index=:i", c=morgan, i=length)
    service.sql(
        "UPDATE audit_chain_heads SET length=:n, last_seq=:s, last_hash=:h WHERE chain_key=:c",
        n=length - 1,
        s=prev[0],
        h=prev[1],
        c=morgan,
    )
    with service.container.db.read() as session:
        assert verify_chains(session, account_id=morgan).ok  # the chain alone looks fine...
    (problem,) = _check(service, morgan).problems  # ...the signed checkpoint does not
    assert f"no event #{length}" in problem.reason


def test_verify_catches_an_inserted_event(service: Service) -> None:
    morgan = _morgan(service)
    _drop_triggers(service)
    row = service.sql(
        "SELECT event_id, chain_index FROM audit_events WHERE chain_key=:c "
        "ORDER BY chain_index LIMIT 1 OFFSET 3",
        c=morgan,
    )[0]
    # A forged event squeezed in with a copy of a real one's content and a fresh id.
    service.sql(
        "INSERT INTO audit_events (event_id, chain_key, chain_index, account_id, occurred_at, actor_id, "
        "actor_role, actor_name, on_behalf_of, channel, branch_id, action, entity_type, entity_id, before, "
        "after, outcome, request_id, client_address, prev_hash, hash) "
        "SELECT 'evt_forged', chain_key, 100000, account_id, occurred_at, actor_id, actor_role, actor_name, "
        "on_behalf_of, channel, branch_id, 'payment.succeeded', entity_type, entity_id, before, after, "
        "outcome, request_id, client_address, prev_hash, hash FROM audit_events WHERE event_id=:e",
        e=row[0],
    )
    with service.container.db.read() as session:
        report = verify_chains(session, account_id=morgan)
    assert not report.ok
    assert report.problems[0].chain_key == morgan


def test_cli_verify_checks_checkpoints_against_the_key(service: Service, tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    env = {**os.environ, "PORTAL_AUDIT_SIGNING_KEY": key, "PORTAL_DATA_DIR": str(tmp_path)}
    url = service.container.db.engine.url.render_as_string(hide_password=False)
    cli = [sys.executable, "-m", "portal_app.cli", "audit", "verify", "--database-url", url]
    # Sealed with the service's (in-process) key: good signatures, but not the key this CLI trusts.
    _seal(service)
    run = subprocess.run(cli, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert run.returncode == 1 and "not the service's key" in run.stdout
    public = service.http().get("/audit/public-key").json()["public_key"]
    run = subprocess.run(
        [*cli, "--public-key", public], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert run.returncode == 0, run.stdout
    assert "signed checkpoint(s) match" in run.stdout
    _drop_triggers(service)
    service.sql("UPDATE audit_checkpoints SET signature = :s", s=base64.b64encode(b"x" * 64).decode())
    run = subprocess.run(
        [*cli, "--public-key", public], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert run.returncode == 1 and "BROKEN" in run.stdout and "forged" in run.stdout


def test_parallel_verification_reports_exactly_what_one_process_does(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.audit.service as audit_service

    monkeypatch.setattr(audit_service, "PARALLEL_FROM", 1)  # split even the small demo trail
    with service.container.db.read() as session:
        serial = verify_chains(session)
        parallel = verify_chains(session, workers=2)
    assert parallel.ok and (parallel.chains, parallel.events) == (serial.chains, serial.events)
    morgan = _morgan(service)
    _drop_triggers(service)
    seq = service.sql(
        "SELECT seq FROM audit_events WHERE chain_key=:c ORDER BY seq LIMIT 1 OFFSET 2", c=morgan
    )[0][0]
    service.sql("UPDATE audit_events SET outcome='failure' WHERE seq=:s", s=seq)
    with service.container.db.read() as session:
        serial = verify_chains(session)
        parallel = verify_chains(session, workers=2)
    assert [p.describe() for p in parallel.problems] == [p.describe() for p in serial.problems]
    assert parallel.problems[0].seq == seq and "edited" in parallel.problems[0].reason

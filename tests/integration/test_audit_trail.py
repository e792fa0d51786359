"""The audit trail: same-transaction writes, append-only triggers, and tamper detection."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError

from services.accounts import service as accounts
from services.accounts.models import AccountHolder
from services.actor import Actor
from services.audit.models import AuditEvent
from services.audit.service import verify_chains
from tests.support import Service


def _alex(service: Service) -> tuple[Actor, str, str]:
    user_id, name = service.sql("SELECT id, full_name FROM users WHERE email='alex.morgan@example.com'")[0]
    account_id, holder_id = service.sql(
        "SELECT account_id, id FROM account_holders WHERE user_id=:u", u=user_id
    )[0]
    return Actor(user_id=user_id, role="policyholder", name=name, channel="portal"), account_id, holder_id


def _count_events(service: Service) -> int:
    with service.container.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_failing_change_leaves_neither_change_nor_event(service: Service) -> None:
    actor, account_id, holder_id = _alex(service)
    before = _count_events(service)
    # Given a change that is audited, when something later in the same transaction fails...
    with pytest.raises(RuntimeError), service.container.db.write() as session:
        accounts.update_holder_contact(
            session,
            actor,
            service.container.clock,
            account_id=account_id,
            holder_id=holder_id,
            changes={"phone": "+1 555 000 0000"},
        )
        session.flush()
        raise RuntimeError("payment provider down")
    # ...then neither the change nor its event exists.
    assert _count_events(service) == before
    with service.container.db.read() as s:
        assert s.get(AccountHolder, holder_id).phone == "+1 312 555 0142"


def test_failing_audit_write_rolls_back_the_change(service: Service) -> None:
    actor, account_id, holder_id = _alex(service)
    before = _count_events(service)
    bad_actor = Actor(user_id=actor.user_id, role="policyholder", name="x" * 500, channel="portal")
    with pytest.raises(DatabaseError), service.container.db.write() as session:
        if session.get_bind().dialect.name == "sqlite":
            # SQLite does not enforce VARCHAR length: break the audit insert another way.
            session.execute(AuditEvent.__table__.insert(), {"seq": 1, "event_id": "dup"})
        accounts.update_holder_contact(
            session,
            bad_actor,
            service.container.clock,
            account_id=account_id,
            holder_id=holder_id,
            changes={"phone": "+1 555 000 0000"},
        )
    assert _count_events(service) == before
    with service.container.db.read() as s:
        assert s.get(AccountHolder, holder_id).phone == "+1 312 555 0142"


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action='x'", "DELETE FROM audit_events"])
def test_triggers_refuse_update_and_delete(service: Service, statement: str) -> None:
    before = _count_events(service)
    with pytest.raises(DatabaseError, match="append-only"):
        service.sql(statement)
    assert _count_events(service) == before


def test_truncate_refused_on_postgresql(service: Service) -> None:
    if service.container.db.dialect != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DatabaseError, match="append-only"):
        service.sql("TRUNCATE audit_events CASCADE")


def _drop_triggers(service: Service) -> None:
    if service.container.db.dialect == "postgresql":
        service.sql("DROP TRIGGER audit_events_append_only ON audit_events")
    else:
        service.sql("DROP TRIGGER audit_events_no_update")
        service.sql("DROP TRIGGER audit_events_no_delete")


def _verify(service: Service, account_id: str | None = None):  # type: ignore[no-untyped-def]
    with service.container.db.read() as s:
        return verify_chains(s, account_id=account_id)


def _morgan_seqs(service: Service) -> tuple[str, list[int]]:
    account_id = service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]
    seqs = [
        r[0]
        for r in service.sql("SELECT seq FROM audit_events WHERE account_id=:a ORDER BY seq", a=account_id)
    ]
    return account_id, seqs


def test_verify_passes_on_an_intact_trail(service: Service) -> None:
    report = _verify(service)
    assert report.ok and report.events > 20 and report.chains == 3


def test_verify_catches_an_edited_event(service: Service) -> None:
    account_id, seqs = _morgan_seqs(service)
    _drop_triggers(service)
    service.sql("UPDATE audit_events SET outcome='failure' WHERE seq=:s", s=seqs[3])
    report = _verify(service)
    assert not report.ok
    (problem,) = report.problems
    assert (problem.chain_key, problem.seq) == (account_id, seqs[3])
    assert "edited" in problem.reason


def test_verify_catches_a_deleted_event(service: Service) -> None:
    account_id, seqs = _morgan_seqs(service)
    _drop_triggers(service)
    service.sql("DELETE FROM audit_events WHERE seq=:s", s=seqs[2])
    (problem,) = _verify(service, account_id).problems
    assert problem.seq == seqs[3] and "missing or reordered" in problem.reason


def test_verify_catches_a_deleted_last_event(service: Service) -> None:
    account_id, seqs = _morgan_seqs(service)
    _drop_triggers(service)
    service.sql("DELETE FROM audit_events WHERE seq=:s", s=seqs[-1])
    (problem,) = _verify(service, account_id).problems
    assert "removed from the end" in problem.reason


def test_verify_catches_reordered_events(service: Service) -> None:
    account_id, seqs = _morgan_seqs(service)
    _drop_triggers(service)
    a, b = seqs[4], seqs[5]
    # Swap the order of two events (through a free seq): "it happened the other way round".
    service.sql("UPDATE audit_events SET seq=-1 WHERE seq=:a", a=a)
    service.sql("UPDATE audit_events SET seq=:a WHERE seq=:b", a=a, b=b)
    service.sql("UPDATE audit_events SET seq=:b WHERE seq=-1", b=b)
    (problem,) = _verify(service, account_id).problems
    assert problem.seq == a and "reordered" in problem.reason


def test_portal_audit_verify_cli_exit_codes(service: Service) -> None:
    url = service.container.settings.database_url
    ok = subprocess.run(
        [sys.executable, "-m", "portal_app.cli", "audit", "verify", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK:")
    account_id, seqs = _morgan_seqs(service)
    _drop_triggers(service)
    service.sql("UPDATE audit_events SET actor_name='Mallory' WHERE seq=:s", s=seqs[1])
    broken = subprocess.run(
        [sys.executable, "-m", "portal_app.cli", "audit", "verify", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode == 1
    assert f"chain {account_id}: event seq {seqs[1]}" in broken.stdout

"""`portal db copy`: the embedded SQLite database and its blobs moved to PostgreSQL and a real S3
API server (moto); afterwards the audit trail verifies on the target with the same chain heads and
checkpoints, and every table holds as many rows as in the source."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from services.audit.chain import GENESIS_HASH, event_hash
from services.audit.checkpoints import seal_checkpoints
from services.audit.models import AuditChainHead, AuditEvent
from services.blobs import open_blob_store
from services.bootstrap import build
from services.claims.photos import ORIGINALS, RENDITIONS
from services.clock import SystemClock
from services.config import ServiceSettings
from services.db.copy import non_empty_tables
from services.idcards.keys import SigningKey
from services.runtime import prepare
from tests import claims_samples as samples
from tests.s3_support import TEST_CREDENTIALS, S3Server, s3_server
from tests.support import running_service

pytestmark = pytest.mark.postgres
ALEX = "alex.morgan@example.com"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def portal(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_CREDENTIALS}
    env.pop("PORTAL_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "portal_app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def counts_printed(out: str) -> dict[str, tuple[int, int]]:
    """The `table  source  target` lines the command prints."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)\s+(\d+)(\s+MISMATCH)?$", line)
        if m:
            found[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return found


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in engine.dialect.get_table_names(conn) if n != "alembic_version"]
            return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def test_the_demo_world_moves_to_postgresql_and_s3(tmp_path: Path, pg_url: str, s3: S3Server) -> None:
    # Given the embedded default after some use: the demo world, a claim photo, sealed checkpoints
    src = tmp_path / "desktop"
    sqlite_url = f"sqlite:///{src / 'portal.sqlite3'}"
    photo = samples.jpeg(1600, 1200)
    with running_service(sqlite_url, src) as svc, svc.authed(ALEX) as alex:
        claim_id = svc.sql("SELECT id FROM claims LIMIT 1")[0][0]
        r = alex.post(
            f"/claims/uploads/{claim_id}",
            params={"filename": "hood.jpg"},
            content=photo,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text
        uploaded = r.json()
        assert alex.get(f"/claims/{claim_id}/photos/{uploaded['id']}/content").status_code == 200
        with svc.container.db.write() as session:
            sealed = seal_checkpoints(session, svc.clock, SigningKey.generate())
        assert sealed > 0
    source_counts = table_counts(sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        source_max_seq = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
    engine.dispose()
    bucket = s3.new_bucket()
    blob_url = s3.blob_url(bucket, "portal")

    # When it is copied
    done = portal(
        "db",
        "copy",
        "--database-url",
        sqlite_url,
        "--data-dir",
        str(src),
        "--to",
        pg_url,
        "--blobs",
        blob_url,
    )

    # Then every table (and blob namespace) has as many rows in the target as in the source
    assert done.returncode == 0, done.stdout + done.stderr
    printed = counts_printed(done.stdout)
    assert {k: v[0] for k, v in printed.items() if not k.startswith("blobs:")} == source_counts
    assert all(s == t for s, t in printed.values())
    assert table_counts(pg_url) == source_counts
    assert printed[f"blobs:{ORIGINALS}"] == (1, 1) and printed[f"blobs:{RENDITIONS}"] == (1, 1)
    assert re.search(r"chain heads identical to the source; \d+ checkpoint\(s\) verify", done.stdout)
    assert str(sealed) + " checkpoint(s) verify" in done.stdout
    # And `portal audit verify` passes on the target over the same number of events
    verify = portal("audit", "verify", "--database-url", pg_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"OK: {source_counts['audit_events']} events" in verify.stdout
    # And a service on the target serves the photo from S3, hash-checked, byte for byte
    with running_service(pg_url, tmp_path / "server", seed=False, blob_url=blob_url) as target:
        assert open_blob_store(blob_url, tmp_path / "check").exists(ORIGINALS, uploaded["sha256"])
        with target.authed(ALEX) as alex:
            got = alex.get(
                f"/claims/{claim_id}/photos/{uploaded['id']}/content", params={"rendition": "original"}
            )
            assert got.status_code == 200 and got.content == photo
        # New audit events (the sign-in above) got ids after the copied ones: sequences moved on
        newest = target.sql("SELECT max(seq) FROM audit_events")[0][0]
        assert newest > source_max_seq

    # And a second copy into the now non-empty target is refused, changing nothing
    before = table_counts(pg_url)
    again = portal("db", "copy", "--database-url", sqlite_url, "--data-dir", str(src), "--to", pg_url)
    assert again.returncode == 2
    assert "not empty" in again.stderr
    assert table_counts(pg_url) == before


def bulk_trail(engine: Any, events: int, chains: int) -> None:
    """`events` audit events in `chains` valid hash chains, written with bulk inserts (the chain
    code computes every hash, so `portal audit verify` checks them like any others)."""
    per_chain = events // chains
    with engine.begin() as conn:
        seq = conn.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for c in range(chains):
            key, prev, rows = f"bulk-{c:04d}", GENESIS_HASH, []
            for i in range(1, per_chain + 1):
                seq += 1
                fields = {
                    "seq": seq,
                    "event_id": f"evt_bulk_{c}_{i}",
                    "chain_key": key,
                    "chain_index": i,
                    "account_id": None,
                    "occurred_at": start + timedelta(seconds=seq),
                    "actor_id": None,
                    "actor_role": "system",
                    "actor_name": "Bulk history",
                    "on_behalf_of": None,
                    "channel": "system",
                    "branch_id": None,
                    "action": "history.imported",
                    "entity_type": "history",
                    "entity_id": f"h_{c}_{i}",
                    "before": None,
                    "after": {"n": i, "note": "imported row"},
                    "outcome": "success",
                    "request_id": None,
                    "client_address": None,
                    "prev_hash": prev,
                }
                fields["hash"] = prev = event_hash(fields)
                rows.append(fields)
            conn.execute(insert(AuditEvent), rows)
            conn.execute(
                insert(AuditChainHead),
                [{"chain_key": key, "length": per_chain, "last_seq": seq, "last_hash": prev}],
            )


def test_a_trail_of_100000_events_moves_and_verifies(tmp_path: Path, pg_url: str) -> None:
    # Given the demo world plus 100,000 events of history in 200 chains
    src = tmp_path / "desktop"
    sqlite_url = f"sqlite:///{src / 'portal.sqlite3'}"
    container = build(ServiceSettings(database_url=sqlite_url, data_dir=src), clock=SystemClock())
    prepare(container, seed=True)
    started = time.perf_counter()
    bulk_trail(container.db.engine, 100_000, 200)
    with container.db.write() as session:  # and every chain head sealed in a signed checkpoint
        sealed = seal_checkpoints(session, container.clock, SigningKey.generate())
    container.db.dispose()
    source_counts = table_counts(sqlite_url)
    assert source_counts["audit_events"] >= 100_000

    # When it is copied (no blobs this time: they stay in the data dir)
    done = portal("db", "copy", "--database-url", sqlite_url, "--data-dir", str(src), "--to", pg_url)

    # Then the counts match, the trail verifies on the target with identical heads
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert table_counts(pg_url) == source_counts
    assert all(s == t for s, t in counts_printed(done.stdout).values())
    assert f"audit on the target: {source_counts['audit_events']} events" in done.stdout
    assert f"chain heads identical to the source; {sealed} checkpoint(s) verify" in done.stdout
    assert source_counts["audit_checkpoints"] == sealed >= 200
    verify = portal("audit", "verify", "--database-url", pg_url)
    assert verify.returncode == 0 and f"OK: {source_counts['audit_events']} events" in verify.stdout
    took = time.perf_counter() - started
    print(f"100,000 events generated, copied and verified in {took:.1f} s; {done.stdout.splitlines()[-3:]}")


def test_a_non_empty_target_is_refused_before_anything_is_written(tmp_path: Path, pg_url: str) -> None:
    with running_service(pg_url, tmp_path / "pg"):
        pass
    with running_service(f"sqlite:///{tmp_path / 'src' / 'p.sqlite3'}", tmp_path / "src"):
        pass
    before = table_counts(pg_url)
    done = portal(
        "db", "copy", "--database-url", f"sqlite:///{tmp_path / 'src' / 'p.sqlite3'}", "--to", pg_url
    )
    assert done.returncode == 2 and "refused: the target database is not empty" in done.stderr
    assert table_counts(pg_url) == before
    engine = create_engine(pg_url)
    assert "audit_events" in non_empty_tables(engine)
    engine.dispose()


def test_copy_needs_a_postgresql_target(tmp_path: Path) -> None:
    done = portal("db", "copy", "--data-dir", str(tmp_path), "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert done.returncode == 2 and "--to must be a PostgreSQL URL" in done.stderr

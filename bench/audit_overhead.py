"""What the audit trail costs, and how fast chains verify.

1. Write throughput: N transactions that each change a customer's contact details through the
   real service function, once with its hash-chained audit event in the same transaction and once
   with the audit call switched off. Prints both rates and their ratio (target >= 0.87), on SQLite
   (file, WAL) and, when reachable, PostgreSQL.
2. Verification: builds a valid trail of M events (bulk-inserted with real hashes) and times
   `verify_chains` over it: events per second (target >= 100,000/s).

3. `portal audit verify` as the CLI runs it over a trail of `--verify-events` events (issue 8 target:
   1,000,000 events in <= 10 s): chains verified in one process per CPU, then the signed checkpoints.
4. Evidence export for one account with `--export-events` events (target: 10,000 in <= 5 s): the
   PDF, events.json, checkpoints and manifest, then the stand-alone pack verification.

Usage: python bench/audit_overhead.py [--writes 3000] [--verify-events 200000] [--skip-postgres]
       python bench/audit_overhead.py --writes 0 --skip-postgres --verify-events 1000000 --export-events 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from services.accounts import service as accounts_service
from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.audit import service as audit
from services.audit.chain import GENESIS_HASH, event_hash
from services.audit.checkpoints import seal_checkpoints, verify_checkpoints
from services.audit.export import export_dispute_evidence
from services.audit.models import AuditChainHead, AuditEvent
from services.audit.verify_pack import verify as verify_pack
from services.auth.models import User
from services.clock import SystemClock
from services.db.database import Database, make_engine
from services.db.migrate import upgrade
from services.policies.models import Policy
from services.signing import SigningKey

CLOCK = SystemClock()
# An agent: may open any account, so the access check in the function does real work.
ACTOR = Actor(
    user_id="usr_bench",
    role="agent",
    name="Bench",
    channel="agent",
    request_id="r",
    client_address="127.0.0.1",
)
ACCOUNTS = 50


def prepare(db: Database) -> list[tuple[str, str]]:
    upgrade(db.engine)
    pairs = []
    with db.write() as s:
        s.add(
            User(
                id="usr_bench",
                email="bench@portal.example",
                full_name="Bench",
                role="agent",
                password_hash="-",
                created_at=CLOCK.now(),
            )
        )
        for i in range(ACCOUNTS):
            account = Account(id=f"acc_bench{i}", name=f"Bench {i}", created_at=CLOCK.now())
            holder = AccountHolder(
                id=f"hld_bench{i}",
                account_id=account.id,
                full_name=f"Holder {i}",
                phone="+1 555 0000000",
                date_of_birth=date(1980, 1, 1),
                postcode="60657",
            )
            s.add_all([account, holder])
            pairs.append((account.id, holder.id))
    return pairs


def run_writes(db: Database, pairs: list[tuple[str, str]], n: int, *, audited: bool) -> float:
    """`n` contact-detail changes through the real service function, one transaction each.

    The plain variant runs the very same function with the audit call switched off, so the
    difference is exactly what the trail costs."""
    original = accounts_service.audit.record
    if not audited:
        accounts_service.audit.record = lambda *a, **k: None  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        for i in range(n):
            account_id, holder_id = pairs[i % len(pairs)]
            with db.write() as s:
                accounts_service.update_holder_contact(
                    s,
                    ACTOR,
                    CLOCK,
                    account_id=account_id,
                    holder_id=holder_id,
                    changes={"phone": f"+1 555 {i:07d}"},
                )
        return n / (time.perf_counter() - started)
    finally:
        accounts_service.audit.record = original


def write_bench(label: str, db: Database, n: int) -> None:
    pairs = prepare(db)
    run_writes(db, pairs, min(200, n), audited=True)  # warm-up: caches, chain heads
    run_writes(db, pairs, min(200, n), audited=False)
    rates = {"audited": [], "plain": []}
    for _ in range(3):  # interleaved rounds, best of three, so drift hits both alike
        rates["plain"].append(run_writes(db, pairs, n // 3, audited=False))
        rates["audited"].append(run_writes(db, pairs, n // 3, audited=True))
    plain, audited_rate = max(rates["plain"]), max(rates["audited"])
    print(
        f"{label:<12} plain {plain:>8.0f} writes/s   audited {audited_rate:>8.0f} writes/s   "
        f"ratio {audited_rate / plain:.2f}"
    )


def build_trail(db: Database, events: int, chains: int = 100) -> None:
    """A valid trail of `events` events over `chains` accounts, inserted in bulk."""
    upgrade(db.engine)
    heads = {f"acc_v{c}": (0, GENESIS_HASH) for c in range(chains)}
    with db.write() as s:
        s.execute(insert(Account), [{"id": k, "name": k, "created_at": CLOCK.now()} for k in heads])
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, object]] = []
    keys = list(heads)
    for i in range(events):
        key = keys[i % chains]
        index, prev = heads[key]
        fields = {
            "event_id": f"evt_{i}",
            "chain_key": key,
            "chain_index": index + 1,
            "account_id": key,
            "occurred_at": t0 + timedelta(milliseconds=i),
            "actor_id": "usr_1",
            "actor_role": "policyholder",
            "actor_name": "Alex Morgan",
            "on_behalf_of": None,
            "channel": "portal",
            "branch_id": None,
            "action": "payment.attempted",
            "entity_type": "payment",
            "entity_id": f"pay_{i}",
            "before": None,
            "after": {"amount_minor": 12400 + i % 100, "currency": "USD"},
            "outcome": "success",
            "request_id": f"req{i}",
            "client_address": "127.0.0.1",
            "prev_hash": prev,
        }
        fields["hash"] = event_hash(fields)
        heads[key] = (index + 1, fields["hash"])
        batch.append(fields)
        if len(batch) == 20_000:
            with db.write() as s:
                s.execute(insert(AuditEvent), batch)
            batch = []
    with db.write() as s:
        if batch:
            s.execute(insert(AuditEvent), batch)
        s.execute(
            insert(AuditChainHead),
            [{"chain_key": k, "length": n, "last_seq": 0, "last_hash": h} for k, (n, h) in heads.items()],
        )


def verify_bench(db: Database, events: int) -> None:
    started = time.perf_counter()
    build_trail(db, events)
    built = time.perf_counter() - started
    started = time.perf_counter()
    with db.read() as s:
        report = audit.verify_chains(s)
    elapsed = time.perf_counter() - started
    assert report.ok and report.events == events, report.problems[:3]
    print(
        f"verify       {events} events in {report.chains} chains: {elapsed:.2f} s = "
        f"{events / elapsed:,.0f} events/s "
        f"(trail built in {built:.1f} s)"
    )
    # What `portal audit verify` does: chains in one process per CPU, then the signed checkpoints.
    key = SigningKey.generate()
    with db.write() as s:
        seal_checkpoints(s, CLOCK, key)
    workers = os.cpu_count() or 1
    started, cpu = time.perf_counter(), _cpu()
    with db.read() as s:
        report = audit.verify_chains(s, workers=workers)
        seals = verify_checkpoints(s, trusted_key_ids={key.key_id})
    elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    assert report.ok and not seals.problems and report.events == events
    print(
        f"audit verify {events} events, {seals.checkpoints} checkpoints, {workers} processes: "
        f"{elapsed:.2f} s = {events / elapsed:,.0f} events/s, {cpu:.2f} CPU-s in all processes "
        f"(target: 1,000,000 in <= 10 s)"
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished children: comparable on a busy machine,
    where wall-clock time mostly measures the other processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def export_bench(db: Database, events: int, tmp: Path) -> None:
    """One account with `events` events: the evidence pack, then its stand-alone verification."""
    build_trail(db, events, chains=1)
    account = "acc_v0"
    with db.write() as s:  # the account needs a policy for its local time zone
        s.add(
            Policy(
                id="pol_bench",
                account_id=account,
                number="AUT-BENCH",
                product_line="auto",
                status="active",
                effective_date=date(2026, 1, 1),
                expiry_date=date(2027, 1, 1),
                time_zone="America/Chicago",
                premium_minor=148_800,
                currency="USD",
                pay_plan="monthly",
                payment_day=12,
                autopay_enabled=False,
                created_at=CLOCK.now(),
            )
        )
    key = SigningKey.generate()
    started, cpu = time.perf_counter(), _cpu()
    with db.write() as s:
        pack = export_dispute_evidence(s, Actor.system("Bench"), CLOCK, key, account_id=account)
    built, cpu = time.perf_counter() - started, _cpu() - cpu
    folder = pack.write(tmp / "pack")
    started = time.perf_counter()
    problems, _ = verify_pack(folder)
    checked = time.perf_counter() - started
    assert not problems, problems
    size = sum(len(b) for b in pack.files.values()) / 1e6
    print(
        f"export       {pack.events_in_range} events: {built:.2f} s, {cpu:.2f} CPU-s "
        f"({pack.pdf_pages} PDF pages, {size:.1f} MB) "
        f"(target <= 5 s); verify_pack {checked:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--verify-events", type=int, default=200_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--export-events", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"audit overhead: {args.writes} single-change transactions per variant, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (a shared machine makes absolute rates noisy)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.writes:
            write_bench("sqlite", Database(make_engine(f"sqlite:///{tmp}/w.sqlite3")), args.writes)
        if not args.skip_postgres and args.writes:
            postgres(args)
        verify_bench(Database(make_engine(f"sqlite:///{tmp}/v.sqlite3")), args.verify_events)
        if args.export_events:
            export_bench(Database(make_engine(f"sqlite:///{tmp}/x.sqlite3")), args.export_events, Path(tmp))


def postgres(args: argparse.Namespace) -> None:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"bench_audit_{int(time.time())}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        print(f"postgresql   skipped ({exc})")
        return
    try:
        db = Database(
            make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
        )
        write_bench("postgresql", db, args.writes)
        db.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()

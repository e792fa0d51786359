"""Staff customer search over 100,000 customers, on SQLite and PostgreSQL.

Seeds accounts, holders (name, email, phone, postcode), one or two policies each and a claim for
one account in five, builds the search index with the production term code, then times
services.search.service.search_customers (SQL, ranking and the result rows: what the HTTP
endpoint runs) per query kind, next to a primary-key lookup of a holder in the same run.

Usage: python bench/search.py [--customers 100000] [--queries 300] [--skip-postgres] [--skip-sqlite]
Prints p50 / p99 / max in milliseconds. Target (issue 7): p99 <= 50 ms over 100,000 customers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.claims.models import Claim
from services.db.database import Database, make_engine
from services.db.migrate import upgrade
from services.policies.models import Policy
from services.search import service as search
from services.search.models import SearchTerm
from services.search.terms import holder_terms, number_terms


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
    "Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie "
    "Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela "
    "Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen "
    "Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn "
    "Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam "
    "Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina "
    "Priya Wei Aisha Mohammed Chen Sofia Mateo Yuki Olu Fatima Liam Noah Ava Mia Lucas Zoe"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton "
    "Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina "
    "Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez Mcdonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter "
    "Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black "
    "Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson "
    "Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
    "Shah Okafor Nakamura Kowalski Novak Dubois Rossi Muller Jensen Larsen Haddad Singh Khan Ali"
)
LINES = (("AUT", "auto"), ("HOM", "home"), ("REN", "renters"))
NOW = datetime(2026, 11, 23, tzinfo=UTC)
BATCH = 2000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def seed(db: Database, customers: int, rng: random.Random) -> dict[str, list[str]]:
    """Insert the customer base and its search terms; return samples to query with."""
    samples: dict[str, list[str]] = {
        k: [] for k in ("name", "surname3", "policy", "claim", "phone", "email", "postcode")
    }
    holder_ids: list[str] = []
    with db.engine.begin() as conn:
        accounts: list[dict[str, Any]] = []
        holders: list[dict[str, Any]] = []
        policies: list[dict[str, Any]] = []
        claims: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []

        def flush() -> None:
            # Parents first: accounts, then holders and policies, then claims, then terms.
            for table, rows in (
                (Account, accounts),
                (AccountHolder, holders),
                (Policy, policies),
                (Claim, claims),
                (SearchTerm, terms),
            ):
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()

        for i in range(customers):
            account_id, holder_id = f"acc_b{i:07d}", f"hld_b{i:07d}"
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            email = f"{first.lower()}.{last.lower()}{i}@example.net"
            phone = f"+1 {rng.randint(201, 989)} 555 {i % 10000:04d}"
            postcode = f"{rng.randint(10000, 99999)}"
            accounts.append({"id": account_id, "name": f"{last} household", "created_at": NOW})
            holders.append(
                {
                    "id": holder_id,
                    "account_id": account_id,
                    "user_id": None,
                    "full_name": name,
                    "email": email,
                    "phone": phone,
                    "date_of_birth": date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                    "address": f"{i} Main St",
                    "postcode": postcode,
                    "is_primary": True,
                    "paperless": False,
                }
            )
            terms.extend(
                holder_terms(
                    holder_id=holder_id,
                    account_id=account_id,
                    full_name=name,
                    email=email,
                    phone=phone,
                    postcode=postcode,
                )
            )
            for n in range(1 + (i % 2)):
                prefix, line = LINES[(i + n) % 3]
                number = f"{prefix}-{5_000_000 + i * 2 + n}"
                policy_id = f"pol_b{i:07d}{n}"
                policies.append(
                    {
                        "id": policy_id,
                        "account_id": account_id,
                        "number": number,
                        "product_line": line,
                        "status": "active",
                        "effective_date": date(2026, 1, 1),
                        "expiry_date": date(2027, 1, 1),
                        "time_zone": "America/Chicago",
                        "premium_minor": 100_000,
                        "currency": "USD",
                        "pay_plan": "monthly",
                        "payment_day": 1 + i % 28,
                        "autopay_enabled": False,
                        "created_at": NOW,
                    }
                )
                terms.extend(
                    number_terms(
                        kind="policy",
                        number=number,
                        source_id=policy_id,
                        account_id=account_id,
                        holder_id=holder_id,
                    )
                )
                if n == 0 and i % 5 == 0:
                    claim_number = f"CLM-{8_000_000 + i}"
                    claims.append(
                        {
                            "id": f"clm_b{i:07d}",
                            "account_id": account_id,
                            "policy_id": policy_id,
                            "number": claim_number,
                            "status": "submitted",
                            "loss_type": "collision",
                            "loss_at": NOW,
                            "location": "Main St",
                            "description": "bench",
                            "submitted_at": NOW,
                        }
                    )
                    terms.extend(
                        number_terms(
                            kind="claim",
                            number=claim_number,
                            source_id=f"clm_b{i:07d}",
                            account_id=account_id,
                            holder_id=holder_id,
                        )
                    )
                    if rng.random() < 0.05:
                        samples["claim"].append(claim_number)
                if rng.random() < 0.01:
                    samples["policy"].append(number)
            if rng.random() < 0.01:
                samples["name"].append(name)
                samples["surname3"].append(last[:3])
                samples["phone"].append(phone[-8:])  # "555 0142": the end of the number, as read out
                samples["email"].append(email.split("@")[0][: len(first) + 3])
                samples["postcode"].append(postcode)
                holder_ids.append(holder_id)
            if len(accounts) >= BATCH:
                flush()
        flush()
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))  # fresh planner statistics, as autovacuum would gather
    samples["_holder_ids"] = holder_ids
    return samples


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench(db: Database, samples: dict[str, list[str]], queries: int, rng: random.Random) -> None:
    agent = Actor(user_id="usr_bench", role="agent", name="Bench Agent", channel="agent")
    kinds = [
        ("name (full)", "name"),
        ("surname, 3 letters", "surname3"),
        ("policy number", "policy"),
        ("claim number", "claim"),
        ("phone (last 8)", "phone"),
        ("email prefix", "email"),
        ("postcode", "postcode"),
    ]
    holder_ids = samples["_holder_ids"]

    def pk() -> None:
        with db.read() as session:
            session.get(AccountHolder, rng.choice(holder_ids))

    # Warm the connection pool and statement caches first.
    for _ in range(20):
        pk()
        with db.read() as session:
            search.search_customers(session, agent, query=rng.choice(samples["name"]))
    base = timed(pk, queries)
    row = f"{statistics.median(base):8.2f} {pct(base, 99):8.2f} {max(base):8.2f}"
    print(f"  {'baseline: holder by primary key':<34} {row}      --")
    for label, key in kinds:
        pool = samples[key]
        hits = 0

        def one(pool: list[str] = pool) -> None:
            nonlocal hits
            with db.read() as session:
                result = search.search_customers(session, agent, query=rng.choice(pool))
            hits += bool(result["results"])

        lat = timed(one, queries)
        ratio = pct(lat, 99) / pct(base, 99)
        row = f"{statistics.median(lat):8.2f} {pct(lat, 99):8.2f} {max(lat):8.2f} {ratio:6.1f}x"
        print(f"  {label:<34} {row}   found {hits}/{queries}")


@contextmanager
def sqlite_db() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))
        upgrade(db.engine)
        yield db
        db.dispose()


@contextmanager
def postgres_db() -> Iterator[Database]:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"bench_search_{int(time.time())}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        db = Database(
            make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
        )
        upgrade(db.engine)
        yield db
        db.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    backends: list[tuple[str, Callable[[], Any]]] = []
    if not args.skip_sqlite:
        backends.append(("sqlite", sqlite_db))
    if not args.skip_postgres:
        backends.append(("postgresql", postgres_db))
    for name, factory in backends:
        rng = random.Random(7)
        with factory() as db:
            started = time.perf_counter()
            samples = seed(db, args.customers, rng)
            with db.read() as session:
                terms = session.execute(text("SELECT count(*) FROM search_terms")).scalar()
            print(
                f"{name}: {args.customers:,} customers, {terms:,} search terms, seeded in "
                f"{time.perf_counter() - started:.0f} s; {args.queries} queries per kind"
            )
            print(f"  {'query kind':<34} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 vs pk':>8}")
            bench(db, samples, args.queries, rng)


if __name__ == "__main__":
    main()

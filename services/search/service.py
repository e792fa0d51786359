"""Customer search for staff, and keeping the search index in step with the data it covers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, inspect, select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.claims.models import Claim
from services.db.base import Base
from services.db.database import Database
from services.errors import Forbidden, Invalid
from services.policies.models import Policy
from services.search.models import SearchTerm
from services.search.terms import KIND_WEIGHT, UPPER, holder_terms, normalise, number_terms

MIN_QUERY = 2
# Enough rows to fill a page of results (a customer has a few terms per prefix); more only
# costs fetching on short, common prefixes like "smi".
PREFIX_LIMIT = 200
MAX_RESULTS = 50

_T = SearchTerm.__table__
# One btree range scan in index order: an exact match (term == q) sorts first, then the
# shortest completions of the prefix. One round trip, however many kinds of term match.
_MATCHES = (
    select(_T.c.term, _T.c.kind, _T.c.display, _T.c.account_id, _T.c.holder_id)
    .where(_T.c.term >= bindparam("q"), _T.c.term < bindparam("upper"))
    .order_by(_T.c.term)
    .limit(PREFIX_LIMIT)
)
_H, _A = AccountHolder.__table__, Account.__table__
_HOLDERS = (
    select(
        _H.c.id, _H.c.full_name, _H.c.email, _H.c.phone, _H.c.postcode, _A.c.id.label("account_id"), _A.c.name
    )
    .join(_A, _A.c.id == _H.c.account_id)
    .where(_H.c.id.in_(bindparam("ids", expanding=True)))
)
_POLICIES = (
    select(Policy.account_id, Policy.number)
    .where(Policy.account_id.in_(bindparam("ids", expanding=True)))
    .order_by(Policy.number)
)


def search_customers(session: Session, actor: Actor, *, query: str, limit: int = 20) -> dict[str, Any]:
    """Ranked customers whose name, email, phone, postcode, policy or claim number starts with the query.

    Not audited (typing is not an action); opening an account from the results is.
    """
    if not actor.is_staff:
        raise Forbidden("auth.forbidden", "Customer search is for staff.")
    q = normalise(query)
    if len(q) < MIN_QUERY:
        raise Invalid(
            "search.query_too_short",
            "Type at least two letters or digits.",
            errors=[
                {
                    "field": "q",
                    "code": "search.query_too_short",
                    "message": "Type at least two letters or digits.",
                }
            ],
        )
    limit = max(1, min(limit, MAX_RESULTS))
    conn = session.connection()
    best: dict[tuple[str, str | None], tuple[float, str, str]] = {}
    matches = conn.execute(_MATCHES, {"q": q, "upper": q + UPPER}).all()  # one fetch, not per row
    for term, kind, display, account_id, holder_id in matches:
        score = KIND_WEIGHT.get(kind, 0) + (1000 if term == q else -min(len(term) - len(q), 40) * 0.5)
        key = (account_id, holder_id)
        if key not in best or score > best[key][0]:
            best[key] = (score, kind, display)
    if not best:
        return {"query": query, "results": []}
    # Rank before fetching details: only the shown results are read.
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][2], item[0][0]))[: limit * 2]
    holders = {
        row.id: row for row in conn.execute(_HOLDERS, {"ids": sorted({h for (_, h), _ in ranked if h})})
    }
    policies: dict[str, list[str]] = {}
    for account_id, number in conn.execute(_POLICIES, {"ids": sorted({a for (a, _), _ in ranked})}):
        policies.setdefault(account_id, []).append(number)
    results = []
    for (account_id, holder_id), (score, kind, display) in ranked:
        holder = holders.get(holder_id or "")
        if holder is None:
            continue  # a term whose holder left the account in this very moment
        results.append(
            {
                "account_id": account_id,
                "account_name": holder.name,
                "holder_id": holder_id,
                "full_name": holder.full_name,
                "email": holder.email,
                "phone": holder.phone,
                "postcode": holder.postcode,
                "policy_numbers": policies.get(account_id, []),
                "matched_kind": kind,
                "matched": display,
                "score": round(score, 1),
            }
        )
    results.sort(key=lambda r: (-r["score"], r["full_name"], r["account_id"]))
    return {"query": query, "results": results[:limit]}


# --- keeping the index current ------------------------------------------------------------


def _primary_holder(conn: Connection, account_id: str) -> str | None:
    return conn.execute(
        select(AccountHolder.id)
        .where(AccountHolder.account_id == account_id)
        .order_by(AccountHolder.is_primary.desc(), AccountHolder.id)
        .limit(1)
    ).scalar()


def terms_for(conn: Connection, obj: object) -> list[dict[str, Any]]:
    """The index rows for one holder, policy or claim."""
    if isinstance(obj, AccountHolder):
        return list(
            holder_terms(
                holder_id=obj.id,
                account_id=obj.account_id,
                full_name=obj.full_name,
                email=obj.email,
                phone=obj.phone,
                postcode=obj.postcode,
            )
        )
    if isinstance(obj, Policy | Claim):
        return list(
            number_terms(
                kind="policy" if isinstance(obj, Policy) else "claim",
                number=obj.number,
                source_id=obj.id,
                account_id=obj.account_id,
                holder_id=_primary_holder(conn, obj.account_id),
            )
        )
    return []


_INDEXED = (AccountHolder, Policy, Claim)
_INDEXED_FIELDS = {"full_name", "email", "phone", "postcode", "number", "account_id"}


def _changed_keys(obj: Base) -> set[str]:
    return {a.key for a in inspect(obj).attrs if a.history.has_changes()}


def _after_flush(session: Session, _ctx: object) -> None:
    """Re-index what this flush wrote, in the same transaction (no stale or half-written index)."""
    touched = [o for o in session.new if isinstance(o, _INDEXED)]
    for obj in session.dirty:
        if isinstance(obj, _INDEXED) and session.is_modified(obj):
            changed = _changed_keys(obj)
            if changed & _INDEXED_FIELDS:
                touched.append(obj)
    gone = [o.id for o in session.deleted if isinstance(o, _INDEXED)]
    if not touched and not gone:
        return
    conn = session.connection()
    ids = [o.id for o in touched] + gone
    conn.execute(delete(SearchTerm).where(SearchTerm.source_id.in_(ids)))
    rows = [row for obj in touched for row in terms_for(conn, obj)]
    if rows:
        conn.execute(insert(SearchTerm), rows)


def install_index_maintenance(db: Database) -> None:
    """Keep search_terms current on every flush of this database's sessions (called by bootstrap)."""
    db.add_flush_listener(_after_flush)


def _insert_batches(conn: Connection, rows: list[dict[str, Any]], size: int = 5000) -> int:
    for start in range(0, len(rows), size):
        conn.execute(insert(SearchTerm), rows[start : start + size])
    return len(rows)


def ensure_index(conn: Connection) -> int:
    """Build the index when it is empty but customers exist (after the migration that adds it).

    Returns the rows written, 0 when the index was already there or there is nobody to index."""
    if conn.scalar(select(SearchTerm.id).limit(1)) is not None:
        return 0
    if conn.scalar(select(AccountHolder.id).limit(1)) is None:
        return 0
    return rebuild_index(conn)


def rebuild_index(conn: Connection) -> int:
    """Rebuild the whole index from holders, policies and claims; returns the row count."""
    conn.execute(delete(SearchTerm))
    rows: list[dict[str, Any]] = []
    primary: dict[str, str] = {}
    for h in conn.execute(
        select(
            AccountHolder.id,
            AccountHolder.account_id,
            AccountHolder.full_name,
            AccountHolder.email,
            AccountHolder.phone,
            AccountHolder.postcode,
            AccountHolder.is_primary,
        ).order_by(AccountHolder.is_primary, AccountHolder.id.desc())
    ):
        primary[h.account_id] = h.id  # ordered so the primary (then lowest id) is written last
        rows.extend(
            holder_terms(
                holder_id=h.id,
                account_id=h.account_id,
                full_name=h.full_name,
                email=h.email,
                phone=h.phone,
                postcode=h.postcode,
            )
        )
    for kind, table in (("policy", Policy), ("claim", Claim)):
        for r in conn.execute(select(table.id, table.account_id, table.number)):
            rows.extend(
                number_terms(
                    kind=kind,
                    number=r.number,
                    source_id=r.id,
                    account_id=r.account_id,
                    holder_id=primary.get(r.account_id),
                )
            )
    return _insert_batches(conn, rows)

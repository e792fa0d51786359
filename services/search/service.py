"""Customer search for staff, and keeping the search index in step with the data it covers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, event, insert, inspect, select
from sqlalchemy.orm import Session

from services.accounts.models import Account, AccountHolder
from services.actor import Actor
from services.claims.models import Claim
from services.errors import Forbidden, Invalid
from services.policies.models import Policy
from services.search.models import SearchTerm
from services.search.terms import KIND_WEIGHT, UPPER, holder_terms, normalise, number_terms

MIN_QUERY = 2
EXACT_LIMIT = 200
PREFIX_LIMIT = 400
MAX_RESULTS = 50

_T = SearchTerm.__table__
_EXACT = (
    select(_T.c.term, _T.c.kind, _T.c.display, _T.c.account_id, _T.c.holder_id)
    .where(_T.c.term == bindparam("q"))
    .limit(EXACT_LIMIT)
)
# A btree range scan in index order: the first rows are the shortest completions of the prefix.
_PREFIX = (
    select(_T.c.term, _T.c.kind, _T.c.display, _T.c.account_id, _T.c.holder_id)
    .where(_T.c.term > bindparam("q"), _T.c.term < bindparam("upper"))
    .order_by(_T.c.term)
    .limit(PREFIX_LIMIT)
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
    rows = list(conn.execute(_EXACT, {"q": q})) + list(conn.execute(_PREFIX, {"q": q, "upper": q + UPPER}))
    best: dict[tuple[str, str | None], tuple[float, str, str]] = {}
    for term, kind, display, account_id, holder_id in rows:
        score = KIND_WEIGHT.get(kind, 0) + (1000 if term == q else -min(len(term) - len(q), 40) * 0.5)
        key = (account_id, holder_id)
        if key not in best or score > best[key][0]:
            best[key] = (score, kind, display)
    if not best:
        return {"query": query, "results": []}
    holder_ids = {h for _, h in best if h}
    account_ids = {a for a, _ in best}
    holders = {
        h.id: h for h in session.scalars(select(AccountHolder).where(AccountHolder.id.in_(holder_ids)))
    }
    names = dict(session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids))).all())
    policies: dict[str, list[str]] = {}
    for account_id, number in session.execute(
        select(Policy.account_id, Policy.number)
        .where(Policy.account_id.in_(account_ids))
        .order_by(Policy.number)
    ):
        policies.setdefault(account_id, []).append(number)
    results = []
    for (account_id, holder_id), (score, kind, display) in best.items():
        holder = holders.get(holder_id or "")
        results.append(
            {
                "account_id": account_id,
                "account_name": names.get(account_id, ""),
                "holder_id": holder_id,
                "full_name": holder.full_name if holder else names.get(account_id, ""),
                "email": holder.email if holder else None,
                "phone": holder.phone if holder else None,
                "postcode": holder.postcode if holder else None,
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


def _after_flush(session: Session, _ctx: object) -> None:
    """Re-index what this flush wrote, in the same transaction (no stale or half-written index)."""
    touched = [o for o in session.new if isinstance(o, _INDEXED)]
    for obj in session.dirty:
        if isinstance(obj, _INDEXED) and session.is_modified(obj):
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
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


_installed = False


def install_index_maintenance() -> None:
    """Keep search_terms current on every ORM flush (called once by bootstrap, not at import)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True


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
    for start in range(0, len(rows), 5000):
        conn.execute(insert(SearchTerm), rows[start : start + 5000])
    return len(rows)

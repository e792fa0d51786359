"""How customers' details become search terms, and how queries are normalised the same way.

Terms hold only lower-case ASCII letters and digits, so a prefix search is a plain btree range
(`term >= q AND term < q || '~'`) on SQLite and PostgreSQL alike: no LIKE '%x%' scans.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

# Ranking weights per kind: numbers read off a letter beat names; a name beats the same words in
# an email address ("alex morg" is a name); postcodes, shared by neighbours, come last.
KIND_WEIGHT = {"policy": 90, "claim": 85, "name": 72, "email": 70, "phone": 70, "postcode": 40}
UPPER = "~"  # sorts after every letter and digit in byte order


def normalise(text: str) -> str:
    """Lower-case ASCII letters and digits only ("Zoë O'Neil" -> "zoeoneil")."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def holder_terms(
    *,
    holder_id: str,
    account_id: str,
    full_name: str,
    email: str | None,
    phone: str | None,
    postcode: str | None,
) -> Iterator[dict[str, Any]]:
    """Every term one account holder is found by."""
    base = {"account_id": account_id, "holder_id": holder_id, "source_id": holder_id}
    seen: set[tuple[str, str]] = set()

    def term(kind: str, value: str, display: str) -> Iterator[dict[str, Any]]:
        if len(value) >= 2 and (kind, value) not in seen:
            seen.add((kind, value))
            yield {**base, "term": value[:120], "kind": kind, "display": display[:320]}

    words = [normalise(w) for w in full_name.replace("-", " ").split()]
    words = [w for w in words if w]
    yield from term("name", "".join(words), full_name)  # "alex mor" -> "alexmor"
    if len(words) > 1:
        yield from term("name", words[-1] + words[0], full_name)  # "morgan alex"
    for word in words:
        yield from term("name", word, full_name)
    if email:
        yield from term("email", normalise(email), email)
        yield from term("email", normalise(email.split("@")[0]), email)
    if phone:
        digits = _digits(phone)
        for value in (digits, digits[-10:], digits[-7:]):
            yield from term("phone", value, phone)
    if postcode:
        yield from term("postcode", normalise(postcode), postcode)


def number_terms(
    *, kind: str, number: str, source_id: str, account_id: str, holder_id: str | None
) -> Iterator[dict[str, Any]]:
    """Terms for a policy or claim number: "AUT-100234" is found by "aut100" and by "100234"."""
    base = {"account_id": account_id, "holder_id": holder_id, "source_id": source_id, "kind": kind}
    full, digits = normalise(number), _digits(number)
    yield {**base, "term": full, "display": number}
    if digits and digits != full and len(digits) >= 2:
        yield {**base, "term": digits, "display": number}

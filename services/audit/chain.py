"""Canonical encoding and hashing of audit events: the one definition both writer and verifier use.

The encoding is: the JSON array of the scalar fields in HASHED_SCALARS order, then the before and
after values as canonical JSON text (sorted keys, compact, UTF-8), joined by the unit separator
U+001F (which JSON always escapes, so the parts cannot run into each other). Storing before/after
in exactly that canonical text lets the verifier hash what it reads without re-encoding it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

GENESIS_HASH = "0" * 64
SEPARATOR = "\x1f"

# `seq` is left out on purpose: the database assigns it at insert, and chain_index + prev_hash
# already fix the order within a chain.
HASHED_SCALARS = (
    "event_id",
    "chain_key",
    "chain_index",
    "account_id",
    "occurred_at",
    "actor_id",
    "actor_role",
    "actor_name",
    "on_behalf_of",
    "channel",
    "branch_id",
    "action",
    "entity_type",
    "entity_id",
    "outcome",
    "request_id",
    "client_address",
    "prev_hash",
)
HASHED_FIELDS = (*HASHED_SCALARS, "before", "after")

_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_scalars = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON text: the only spelling the audit table stores."""
    return _canonical(value)


def format_utc(value: datetime) -> str:
    """ISO-8601 with microseconds and a Z: one spelling, so hashes agree across databases."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jsonable(value: Any) -> Any:
    """Turn before/after values into plain JSON types (dates as ISO text, enums by value)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        # Money is never a float; anything else that is gets a stable text form.
        return repr(value)
    return value


def hash_parts(scalars: list[Any], before_text: str, after_text: str) -> str:
    """SHA-256 of the canonical encoding, from scalars in HASHED_SCALARS order (occurred_at as
    format_utc text) and before/after as canonical JSON text ("null" when absent)."""
    payload = SEPARATOR.join((_scalars(scalars), before_text, after_text))
    return hashlib.sha256(payload.encode()).hexdigest()


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    scalars = [fields.get(name) for name in HASHED_SCALARS]
    occurred = fields.get("occurred_at")
    if isinstance(occurred, datetime):
        scalars[HASHED_SCALARS.index("occurred_at")] = format_utc(occurred)
    return SEPARATOR.join(
        (_scalars(scalars), canonical_json(fields.get("before")), canonical_json(fields.get("after")))
    ).encode()


def event_hash(fields: dict[str, Any]) -> str:
    """Hash of an event given as a dict of its fields (before/after as values, not text)."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()

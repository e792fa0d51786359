"""Canonical encoding and hashing of audit events: the one definition both writer and verifier use."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

GENESIS_HASH = "0" * 64

# The fields a hash covers, in the order they are documented. `seq` is left out on purpose:
# the database assigns it at insert, and chain_index + prev_hash already fix the order.
HASHED_FIELDS = (
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
    "before",
    "after",
    "outcome",
    "request_id",
    "client_address",
    "prev_hash",
)


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


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """Sorted-key, compact, UTF-8 JSON of exactly the hashed fields."""
    payload = {name: fields.get(name) for name in HASHED_FIELDS}
    occurred = payload["occurred_at"]
    if isinstance(occurred, datetime):
        payload["occurred_at"] = format_utc(occurred)
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()

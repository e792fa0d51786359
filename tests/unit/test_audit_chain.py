"""Canonical encoding and hashing of audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from services.audit.chain import GENESIS_HASH, canonical_bytes, event_hash, format_utc, jsonable


def fields(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "evt_1",
        "chain_key": "acc_1",
        "chain_index": 1,
        "account_id": "acc_1",
        "occurred_at": datetime(2026, 11, 23, 9, 15, 2, 123456, tzinfo=UTC),
        "actor_id": "usr_1",
        "actor_role": "policyholder",
        "actor_name": "Alex",
        "on_behalf_of": None,
        "channel": "portal",
        "branch_id": None,
        "action": "holder.contact_updated",
        "entity_type": "account_holder",
        "entity_id": "hld_1",
        "before": {"phone": "1"},
        "after": {"phone": "2"},
        "outcome": "success",
        "request_id": "r1",
        "client_address": "127.0.0.1",
        "prev_hash": GENESIS_HASH,
    }
    base.update(overrides)
    return base


def test_hash_is_stable_and_independent_of_key_order() -> None:
    a = fields(after={"phone": "2", "email": "x@y.z"})
    b = dict(reversed(list(fields(after={"email": "x@y.z", "phone": "2"}).items())))
    assert event_hash(a) == event_hash(b)
    assert len(event_hash(a)) == 64


def test_every_hashed_field_changes_the_hash() -> None:
    original = event_hash(fields())
    for name, value in [
        ("action", "x"),
        ("outcome", "failure"),
        ("prev_hash", "1" * 64),
        ("chain_index", 2),
        ("before", {"phone": "9"}),
        ("actor_name", "Mallory"),
        ("on_behalf_of", "hld_2"),
    ]:
        assert event_hash(fields(**{name: value})) != original, name


def test_occurred_at_spelled_once_across_time_zones() -> None:
    utc = datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    chicago = utc.astimezone(timezone(timedelta(hours=-6)))
    assert format_utc(utc) == format_utc(chicago) == "2026-03-08T08:00:00.000000Z"
    assert canonical_bytes(fields(occurred_at=utc)) == canonical_bytes(fields(occurred_at=chicago))


def test_jsonable_makes_plain_json() -> None:
    value = jsonable(
        {
            "due": date(2026, 12, 1),
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "amount": Decimal("1.10"),
            "ids": ("a", "b"),
            3: None,
        }
    )
    assert value == {
        "due": "2026-12-01",
        "at": "2026-01-01T00:00:00.000000Z",
        "amount": "1.10",
        "ids": ["a", "b"],
        "3": None,
    }

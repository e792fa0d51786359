"""The checkpoint key (environment or keyring, never a file) and the signed statement."""

from __future__ import annotations

import base64
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import keyring.backends.fail
import pytest

from services.audit import verify_pack
from services.audit.chain import GENESIS_HASH, event_hash
from services.audit.checkpoint_models import AuditCheckpoint
from services.audit.checkpoints import (
    ENV_VAR,
    checkpoint_dict,
    key_id_of,
    load_audit_key,
    public_key_b64,
    signature_valid,
)
from services.signing import SigningKey, SigningKeyError
from tests.ui.memory_keyring import MemoryKeyring


def test_key_from_the_environment(tmp_path: Path) -> None:
    raw = os.urandom(32)
    key = load_audit_key(tmp_path, environ={ENV_VAR: base64.b64encode(raw).decode()}, backend=MemoryKeyring())
    assert key is not None and key.source == "environment"
    assert key.key_id == key_id_of(public_key_b64(key))
    with pytest.raises(SigningKeyError):
        load_audit_key(tmp_path, environ={ENV_VAR: "not base64!"}, backend=MemoryKeyring())
    with pytest.raises(SigningKeyError):
        load_audit_key(
            tmp_path, environ={ENV_VAR: base64.b64encode(b"short").decode()}, backend=MemoryKeyring()
        )


def test_key_is_made_once_in_a_secure_keyring_and_never_written_to_a_file(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    assert load_audit_key(tmp_path, environ={}, backend=ring, generate=False) is None  # the CLI: no key yet
    first = load_audit_key(tmp_path, environ={}, backend=ring)
    again = load_audit_key(tmp_path, environ={}, backend=ring)
    assert first is not None and again is not None
    assert first.source == "keyring" and first.key_id == again.key_id
    assert list(tmp_path.iterdir()) == []


def test_without_a_secure_keyring_the_key_lives_in_memory_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        key = load_audit_key(tmp_path, environ={}, backend=keyring.backends.fail.Keyring())
    assert key is not None and key.source == "memory"
    assert "for this run only" in caplog.text
    assert list(tmp_path.iterdir()) == []
    assert (
        load_audit_key(tmp_path, environ={}, backend=keyring.backends.fail.Keyring(), generate=False) is None
    )


def _checkpoint(key: SigningKey) -> dict[str, object]:
    from services.audit.checkpoints import _sign

    cp = _sign(key, "acc_1", 12, "a" * 64, datetime(2026, 11, 23, 9, 15, 2, 123456, tzinfo=UTC))
    assert isinstance(cp, AuditCheckpoint)
    return checkpoint_dict(cp)


def test_any_change_to_a_checkpoint_breaks_its_signature() -> None:
    key = SigningKey.generate()
    cp = _checkpoint(key)
    assert signature_valid(cp)
    assert verify_pack.checkpoint_statement(cp) == verify_pack.checkpoint_statement(dict(cp))
    for field, value in [
        ("chain_key", "acc_2"),
        ("length", 13),
        ("head_hash", "b" * 64),
        ("sealed_at", "2026-11-23T09:15:03.123456Z"),
        ("key_id", "0" * 16),
        ("signature", base64.b64encode(b"\0" * 64).decode()),
    ]:
        assert not signature_valid({**cp, field: value}), field
    # Someone else's key can sign, but the checkpoint then names a key that is not ours.
    other = _checkpoint(SigningKey.generate())
    assert signature_valid(other) and other["key_id"] != key.key_id


def test_the_stand_alone_verifier_hashes_exactly_as_the_writer() -> None:
    fields = {
        "event_id": "evt_1",
        "chain_key": "acc_1",
        "chain_index": 1,
        "account_id": "acc_1",
        "occurred_at": datetime(2026, 11, 23, 9, 15, 2, 123456, tzinfo=UTC),
        "actor_id": "usr_1",
        "actor_role": "policyholder",
        "actor_name": "Zoë “Z” Ørsted",
        "on_behalf_of": None,
        "channel": "portal",
        "branch_id": None,
        "action": "payment.succeeded",
        "entity_type": "payment",
        "entity_id": "pay_1",
        "before": None,
        "after": {"amount_minor": 12450, "currency": "USD", "nested": {"b": [1, 2], "a": "é"}},
        "outcome": "success",
        "request_id": "r1",
        "client_address": "127.0.0.1",
        "prev_hash": GENESIS_HASH,
    }
    exported = {**fields, "occurred_at": "2026-11-23T09:15:02.123456Z"}
    assert verify_pack.event_hash(exported) == event_hash(fields)

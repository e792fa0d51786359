"""Signed checkpoints of the audit chains, and the key that signs them.

A checkpoint seals one chain's head: "chain K had N events and the N-th hashed to H", signed with
an Ed25519 key kept outside the database (`PORTAL_AUDIT_SIGNING_KEY`, base64 of the raw 32-byte
private key, or the OS keyring). Someone who can rewrite the database can recompute every hash of
a chain, but cannot sign a new checkpoint: an exported pack, or `portal audit verify`, then shows
that the trail no longer matches what was sealed.

The signed statement is canonical JSON (sorted keys, compact, UTF-8) of:
    {"v": 1, "type": "portal.audit.checkpoint", "chain_key": K, "length": N, "head_hash": H,
     "sealed_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "key_id": ID}
verify_pack.py (copied into every evidence pack) rebuilds it the same way with the stdlib alone.

Sealing writes no audit event on purpose: an event about sealing would itself need sealing, so
every chain would grow by one event per interval forever. The checkpoint table is append-only
(database triggers) and each row is self-authenticating through its signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.audit.chain import format_utc
from services.audit.checkpoint_models import AuditCheckpoint
from services.audit.models import AuditChainHead, AuditEvent
from services.audit.service import ChainProblem
from services.clock import Clock
from services.db.base import new_id
from services.signing import SigningKey, SigningKeyError, encode_private, is_secure_keyring

log = logging.getLogger(__name__)

ENV_VAR = "PORTAL_AUDIT_SIGNING_KEY"
KEYRING_SERVICE = "portal-audit-signing-key"
STATEMENT_TYPE = "portal.audit.checkpoint"
SEAL_JOB = "audit.seal_checkpoints"


def _decode(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError(f"{ENV_VAR} is not valid base64") from exc
    if len(raw) != 32:
        raise SigningKeyError(f"{ENV_VAR} must be 32 bytes (Ed25519), base64-encoded")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_audit_key(
    data_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    backend: keyring.backend.KeyringBackend | None = None,
    generate: bool = True,
) -> SigningKey | None:
    """The checkpoint signing key: environment, else the secure OS keyring (made there on first
    use), else one held in memory for this process with a warning. Never a plain file.

    With `generate=False` (the CLI verifying, not serving) no key is made: None means "no trusted
    key available here"."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_VAR, "")
    if configured:
        return SigningKey.from_private(_decode(configured), "environment")
    ring = backend or keyring.get_keyring()
    username = f"data-dir:{Path(data_dir).resolve()}"
    if is_secure_keyring(ring):
        try:
            stored = ring.get_password(KEYRING_SERVICE, username)
            if stored:
                return SigningKey.from_private(_decode(stored), "keyring")
            if not generate:
                return None
            key = SigningKey.generate("keyring")
            ring.set_password(KEYRING_SERVICE, username, encode_private(key.private))
            return key
        except (keyring.errors.KeyringError, SigningKeyError) as exc:
            log.warning("audit signing key: the keyring failed (%s); using a key for this run only", exc)
    elif generate:
        log.warning(
            "audit signing key: no %s and no secure keyring; checkpoints are signed with a key for "
            "this run only (their signatures still verify, but not against a key you keep)",
            ENV_VAR,
        )
    return SigningKey.generate("memory") if generate else None


def public_key_b64(key: SigningKey) -> str:
    return base64.b64encode(key.public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def key_id_of(public_b64: str) -> str:
    """The short id of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


def statement(chain_key: str, length: int, head_hash: str, sealed_at: str, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    body = {
        "v": 1,
        "type": STATEMENT_TYPE,
        "chain_key": chain_key,
        "length": length,
        "head_hash": head_hash,
        "sealed_at": sealed_at,
        "key_id": key_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checkpoint_dict(cp: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as it appears in the API and in an evidence pack."""
    return {
        "id": cp.id,
        "chain_key": cp.chain_key,
        "length": cp.length,
        "head_hash": cp.head_hash,
        "sealed_at": format_utc(cp.sealed_at),
        "key_id": cp.key_id,
        "public_key": cp.public_key,
        "signature": cp.signature,
    }


def _sign(
    key: SigningKey, chain_key: str, length: int, head_hash: str, sealed_at: datetime
) -> AuditCheckpoint:
    public = public_key_b64(key)
    stamp = format_utc(sealed_at)
    signature = key.sign(statement(chain_key, length, head_hash, stamp, key.key_id))
    return AuditCheckpoint(
        id=new_id("ckp"),
        chain_key=chain_key,
        length=length,
        head_hash=head_hash,
        # Stored at the microsecond the statement names, so the row re-creates the same bytes.
        sealed_at=datetime.fromisoformat(stamp),
        key_id=key.key_id,
        public_key=public,
        signature=base64.b64encode(signature).decode("ascii"),
    )


def seal_checkpoints(session: Session, clock: Clock, key: SigningKey, *, chain_key: str | None = None) -> int:
    """Seal every chain head (or one) that grew since its last checkpoint. Returns how many."""
    sealed = (
        select(AuditCheckpoint.chain_key, func.max(AuditCheckpoint.length).label("length"))
        .group_by(AuditCheckpoint.chain_key)
        .subquery()
    )
    query = (
        select(AuditChainHead.chain_key, AuditChainHead.length, AuditChainHead.last_hash)
        .outerjoin(sealed, sealed.c.chain_key == AuditChainHead.chain_key)
        .where(AuditChainHead.length > func.coalesce(sealed.c.length, 0))
    )
    if chain_key is not None:
        query = query.where(AuditChainHead.chain_key == chain_key)
    now = clock.now()
    rows = session.execute(query).all()
    for key_name, length, last_hash in rows:
        session.add(_sign(key, key_name, length, last_hash, now))
    session.flush()
    return len(rows)


def latest_checkpoint(session: Session, chain_key: str, *, at_least: int = 0) -> AuditCheckpoint | None:
    """The newest checkpoint of a chain that covers at least `at_least` events."""
    return session.scalar(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.chain_key == chain_key, AuditCheckpoint.length >= at_least)
        .order_by(AuditCheckpoint.length.desc())
        .limit(1)
    )


def signature_valid(cp: dict[str, Any]) -> bool:
    """True when the checkpoint's signature is good under the public key it names."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
        public.verify(
            base64.b64decode(cp["signature"]),
            statement(cp["chain_key"], int(cp["length"]), cp["head_hash"], cp["sealed_at"], cp["key_id"]),
        )
    except (InvalidSignature, ValueError, binascii.Error, KeyError, TypeError):
        return False
    return key_id_of(cp["public_key"]) == cp["key_id"]


@dataclass(frozen=True)
class CheckpointReport:
    checkpoints: int
    problems: list[ChainProblem]
    untrusted_keys: set[str]  # key ids that signed checkpoints but are not the trusted key


def verify_checkpoints(
    session: Session, *, account_id: str | None = None, trusted_key_ids: set[str] | None = None
) -> CheckpointReport:
    """Check each checkpoint's signature and that the trail still holds the head it sealed.

    With `trusted_key_ids`, a checkpoint signed by any other key is reported as forged: anyone can
    sign with a key of their own, only the service holds ours."""
    query = (
        select(AuditCheckpoint, AuditEvent.seq, AuditEvent.hash)
        .outerjoin(
            AuditEvent,
            and_(
                AuditEvent.chain_key == AuditCheckpoint.chain_key,
                AuditEvent.chain_index == AuditCheckpoint.length,
            ),
        )
        .order_by(AuditCheckpoint.chain_key, AuditCheckpoint.length)
    )
    if account_id is not None:
        query = query.where(AuditCheckpoint.chain_key == account_id)
    problems: list[ChainProblem] = []
    broken: set[str] = set()
    untrusted: set[str] = set()
    count = 0
    for cp, seq, event_hash in session.execute(query):
        count += 1
        if cp.chain_key in broken:
            continue
        reason = None
        if not signature_valid(checkpoint_dict(cp)):
            reason = "checkpoint signature does not verify (the checkpoint was forged or edited)"
        elif trusted_key_ids is not None and cp.key_id not in trusted_key_ids:
            reason = f"checkpoint signed by key {cp.key_id}, which is not the service's key (forged)"
        elif event_hash is None:
            reason = f"checkpoint sealed {cp.length} events but the trail has no event #{cp.length}"
        elif event_hash != cp.head_hash:
            reason = (
                f"checkpoint sealed event #{cp.length} as {cp.head_hash[:12]}, the trail now has "
                f"{event_hash[:12]} (events changed after sealing)"
            )
        if trusted_key_ids is None:
            untrusted.add(cp.key_id)
        if reason:
            problems.append(ChainProblem(cp.chain_key, seq, cp.length, reason))
            broken.add(cp.chain_key)
    return CheckpointReport(checkpoints=count, problems=problems, untrusted_keys=untrusted)


def last_sealed_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(AuditCheckpoint.sealed_at)))


def seal_bucket(now: datetime, interval: timedelta) -> int:
    """The interval number `now` falls in: one sealing job per interval across all runners."""
    return int(now.timestamp() // max(interval.total_seconds(), 1))

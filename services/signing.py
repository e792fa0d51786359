"""Ed25519 signing keys, from the environment or the OS keyring, never from a file.

Shared by the domains that sign what they issue: ID-card codes (services/idcards) and the audit
trail's checkpoints and evidence packs (services/audit). Loading order for the ID-card key:
`PORTAL_IDCARD_SIGNING_KEY` (base64 of the 32-byte private key), else the OS keyring entry for
this data dir (generated and stored there on first use when the keyring is a secure one), else a
key held in memory for this process only, with a warning: cards issued by an earlier run then
read as forged, because their signature was made with a key nobody holds any more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

log = logging.getLogger(__name__)

ENV_VAR = "PORTAL_IDCARD_SIGNING_KEY"
KEYRING_SERVICE = "portal-idcard-signing-key"
_INSECURE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class SigningKeyError(ValueError):
    """The configured key cannot be used (bad base64, wrong length)."""


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key pair with a short id printed into every code it signs.

    Thread-safe: immutable; cryptography's key objects may be used from several threads.
    """

    private: Ed25519PrivateKey
    key_id: str
    source: str  # environment | keyring | memory

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey, source: str) -> SigningKey:
        raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private=private, key_id=hashlib.sha256(raw_public).hexdigest()[:16], source=source)

    @classmethod
    def generate(cls, source: str = "memory") -> SigningKey:
        return cls.from_private(Ed25519PrivateKey.generate(), source)


def encode_private(private: Ed25519PrivateKey) -> str:
    """The base64 form `PORTAL_IDCARD_SIGNING_KEY` and the keyring hold."""
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def decode_private(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError("the ID-card signing key is not valid base64") from exc
    if len(raw) != 32:
        raise SigningKeyError("the ID-card signing key must be 32 bytes (Ed25519), base64-encoded")
    return Ed25519PrivateKey.from_private_bytes(raw)


def is_secure_keyring(backend: keyring.backend.KeyringBackend) -> bool:
    """False for backends that store in plain text or cannot store at all."""
    chained = getattr(backend, "backends", None)
    if chained is not None:
        return bool(chained) and all(is_secure_keyring(b) for b in chained)
    return not type(backend).__module__.startswith(_INSECURE_MODULE_PREFIXES)


def load_signing_key(
    data_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    backend: keyring.backend.KeyringBackend | None = None,
) -> SigningKey:
    """Find (or make) the key this service instance signs ID cards with."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_VAR, "")
    if configured:
        return SigningKey.from_private(decode_private(configured), "environment")
    ring = backend or keyring.get_keyring()
    username = f"data-dir:{Path(data_dir).resolve()}"
    if is_secure_keyring(ring):
        try:
            stored = ring.get_password(KEYRING_SERVICE, username)
            if stored:
                return SigningKey.from_private(decode_private(stored), "keyring")
            key = SigningKey.generate("keyring")
            ring.set_password(KEYRING_SERVICE, username, encode_private(key.private))
            return key
        except (keyring.errors.KeyringError, SigningKeyError) as exc:
            log.warning("ID-card signing key: the keyring failed (%s); using a key for this run only", exc)
    else:
        log.warning(
            "ID-card signing key: no %s and no secure keyring; using a key for this run only "
            "(cards issued before a restart will verify as forged)",
            ENV_VAR,
        )
    return SigningKey.generate("memory")

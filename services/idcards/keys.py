"""Moved to services/signing.py (audit signs with the same key type). This alias keeps imports
in branches written before the move working; new code imports services.signing."""

from services.signing import (
    ENV_VAR,
    KEYRING_SERVICE,
    SigningKey,
    SigningKeyError,
    decode_private,
    encode_private,
    is_secure_keyring,
    load_signing_key,
)

__all__ = [
    "ENV_VAR",
    "KEYRING_SERVICE",
    "SigningKey",
    "SigningKeyError",
    "decode_private",
    "encode_private",
    "is_secure_keyring",
    "load_signing_key",
]

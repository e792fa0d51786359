"""The signed verification code an ID card's QR carries, and how a code is checked.

Format: ``PMIC1.<base64url(payload JSON)>.<base64url(Ed25519 signature of the payload bytes)>``.
The payload holds the card id, the key id, the policy number, the vehicle and the validity window:
everything a police officer or repair shop needs to compare against the card in front of them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.signing import SigningKey

PREFIX = "PMIC1"


@dataclass(frozen=True)
class CardPayload:
    card_id: str
    key_id: str
    insurer_code: str
    policy_number: str
    vin: str
    vehicle: str  # "2021 Toyota RAV4"
    valid_from: date
    valid_to: date

    def to_json(self) -> dict[str, Any]:
        return {
            "c": self.card_id,
            "k": self.key_id,
            "i": self.insurer_code,
            "p": self.policy_number,
            "vin": self.vin,
            "veh": self.vehicle,
            "f": self.valid_from.isoformat(),
            "t": self.valid_to.isoformat(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CardPayload:
        return cls(
            card_id=str(d["c"]),
            key_id=str(d["k"]),
            insurer_code=str(d["i"]),
            policy_number=str(d["p"]),
            vin=str(d["vin"]),
            vehicle=str(d["veh"]),
            valid_from=date.fromisoformat(d["f"]),
            valid_to=date.fromisoformat(d["t"]),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_card(payload: CardPayload, key: SigningKey) -> str:
    """The code printed as the card's QR (Ed25519 is deterministic: same card, same code)."""
    body = json.dumps(payload.to_json(), separators=(",", ":"), sort_keys=True).encode()
    return f"{PREFIX}.{_b64(body)}.{_b64(key.sign(body))}"


def read_code(code: str, key: SigningKey) -> CardPayload | None:
    """The payload if the code is well formed and signed by our key; None for anything else."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
    except (binascii.Error, ValueError):
        return None
    if not key.verify(signature, body):
        return None
    try:
        payload = CardPayload.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError):
        return None
    return payload if payload.key_id == key.key_id else None

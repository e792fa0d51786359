#!/usr/bin/env python3
"""Verify a Portal evidence pack on its own: no database, no Portal install, no network.

    python verify_pack.py [PACK_DIR] [--public-key BASE64]

Needs Python 3.9+ and the `cryptography` package (pip install cryptography). Checks:
1. manifest.json is signed by the public key (manifest.sig) and every file's SHA-256 matches it;
2. every event in events.json hashes to its recorded hash, and each links to the one before it
   (consecutive positions, each event holding the previous event's hash);
3. every checkpoint is signed by the public key and seals an event in the pack with exactly the
   hash the pack holds; the newest checkpoint seals the last event of the pack.
The public key comes from --public-key (best: fetched yourself from the insurer at
GET /api/v1/audit/public-key) or else from public_key.json in the pack. Exit status 0 = verified.

This file is copied verbatim into every pack; it imports nothing from Portal on purpose.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
SEPARATOR = "\x1f"
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


def _compact(value: Any, *, sort: bool) -> str:
    return json.dumps(value, sort_keys=sort, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: dict[str, Any]) -> str:
    """SHA-256 of the canonical encoding the service hashes when it writes the event."""
    scalars = [event.get(name) for name in HASHED_SCALARS]
    payload = SEPARATOR.join(
        (
            _compact(scalars, sort=False),
            _compact(event.get("before"), sort=True),
            _compact(event.get("after"), sort=True),
        )
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def checkpoint_statement(cp: dict[str, Any]) -> bytes:
    body = {
        "v": 1,
        "type": "portal.audit.checkpoint",
        "chain_key": cp["chain_key"],
        "length": int(cp["length"]),
        "head_hash": cp["head_hash"],
        "sealed_at": cp["sealed_at"],
        "key_id": cp["key_id"],
    }
    return _compact(body, sort=True).encode()


def key_id_of(public_b64: str) -> str:
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


def _signature_ok(public_b64: str, signature_b64: str, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64)).verify(
            base64.b64decode(signature_b64), data
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(pack: Path, public_key: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, facts): the pack is genuine when problems is empty."""
    problems: list[str] = []
    facts: list[str] = []
    try:
        key_file = json.loads((pack / "public_key.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        key_file = {}
        if public_key is None:
            return [f"public_key.json is missing or unreadable ({exc})"], facts
    key = public_key or key_file.get("public_key", "")
    try:
        key_id = key_id_of(key)
    except ValueError:
        return ["the public key is not valid base64"], facts
    source = "given on the command line" if public_key else "from public_key.json in the pack"
    facts.append(f"public key {key_id} ({source})")

    # 1. The signed manifest covers every file byte for byte.
    try:
        manifest_bytes = (pack / "manifest.json").read_bytes()
        signature = (pack / "manifest.sig").read_text(encoding="ascii").strip()
    except OSError as exc:
        return [f"manifest.json or manifest.sig is missing ({exc})"], facts
    if not _signature_ok(key, signature, manifest_bytes):
        problems.append("manifest.json is not signed by this key (the pack was altered or the key is wrong)")
    manifest = json.loads(manifest_bytes)
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = pack / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            problems.append(
                f"{name} was changed after export (its SHA-256 does not match the signed manifest)"
            )
    for required in ("events.json", "checkpoints.json", "evidence.pdf"):
        if required not in manifest.get("files", {}):
            problems.append(f"the signed manifest does not list {required}")

    # 2. The events hash and link.
    try:
        data = json.loads((pack / "events.json").read_text(encoding="utf-8"))
        events = data["events"]
    except (OSError, ValueError, KeyError) as exc:
        return [*problems, f"events.json is unreadable ({exc})"], facts
    by_index: dict[int, dict[str, Any]] = {}
    previous: dict[str, Any] | None = None
    for e in events:
        label = f"event #{e.get('chain_index')} ({e.get('event_id')})"
        if event_hash(e) != e.get("hash"):
            problems.append(f"{label}: content does not match its hash (edited)")
            break
        if previous is None:
            if e.get("chain_index") == 1 and e.get("prev_hash") != GENESIS_HASH:
                problems.append(f"{label}: the first event of a chain must start from the genesis hash")
                break
        else:
            if e.get("chain_index") != previous["chain_index"] + 1:
                problems.append(f"{label}: follows #{previous['chain_index']} (an event is missing or moved)")
                break
            if e.get("prev_hash") != previous["hash"]:
                problems.append(f"{label}: does not link to the event before it (removed or reordered)")
                break
            if e.get("chain_key") != previous["chain_key"]:
                problems.append(f"{label}: belongs to another chain")
                break
        by_index[e["chain_index"]] = e
        previous = e
    if events:
        facts.append(
            f"{len(events)} events, #{events[0]['chain_index']} to #{events[-1]['chain_index']} "
            f"of chain {events[0]['chain_key']}"
        )
    else:
        problems.append("events.json holds no events")

    # 3. Checkpoints: signed by the key, sealing the very hashes the pack holds.
    try:
        checkpoints = json.loads((pack / "checkpoints.json").read_text(encoding="utf-8"))["checkpoints"]
    except (OSError, ValueError, KeyError) as exc:
        return [*problems, f"checkpoints.json is unreadable ({exc})"], facts
    covering = False
    for cp in checkpoints:
        label = f"checkpoint of #{cp.get('length')} sealed {cp.get('sealed_at')}"
        if cp.get("key_id") != key_id:
            problems.append(f"{label}: signed by key {cp.get('key_id')}, not by {key_id}")
            continue
        if not _signature_ok(key, cp.get("signature", ""), checkpoint_statement(cp)):
            problems.append(f"{label}: the signature does not verify (forged or edited)")
            continue
        sealed = by_index.get(int(cp["length"]))
        if sealed is None:
            problems.append(f"{label}: seals an event that is not in the pack")
            continue
        if sealed["hash"] != cp["head_hash"] or sealed["chain_key"] != cp["chain_key"]:
            problems.append(f"{label}: the pack's event #{cp['length']} differs from what was sealed")
            continue
        facts.append(f"{label}: signature good, matches the pack")
        if events and int(cp["length"]) == events[-1]["chain_index"]:
            covering = True
    if events and not covering:
        problems.append("no valid checkpoint seals the last event of the pack")
    return problems, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Portal evidence pack")
    parser.add_argument("pack", nargs="?", default=str(Path(__file__).resolve().parent))
    parser.add_argument(
        "--public-key", help="the insurer's Ed25519 public key (base64), fetched independently"
    )
    args = parser.parse_args(argv)
    problems, facts = verify(Path(args.pack), args.public_key)
    for fact in facts:
        print(f"  {fact}")
    if problems:
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1
    print("VERIFIED: every event hashes and links, and the signed checkpoint seals the last one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

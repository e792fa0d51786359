"""What the Claims page keeps on this computer: the claim draft and the photo upload journal.

One JSON file each per account under the app's data dir (`claims/`). They hold what the person
typed and the paths of the photos they chose — never tokens or passwords — and are written
atomically (temp file + rename) so a crash mid-write leaves the previous version readable.

Threading rule: plain file I/O on small files, called from the Qt thread (debounced by callers).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DRAFT_VERSION = 1
# Upload states. "uploading" and "queued" found on start-up were interrupted by a crash or quit.
QUEUED, UPLOADING, DONE, FAILED, CANCELLED = "queued", "uploading", "done", "failed", "cancelled"


def _account_key(account_id: str) -> str:
    # Account ids are opaque; hashing keeps any character out of the file name.
    return hashlib.sha256(account_id.encode()).hexdigest()[:24]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class DraftStore:
    """The claim form as typed so far, for one account."""

    def __init__(self, folder: Path, account_id: str) -> None:
        self.path = Path(folder) / f"draft-{_account_key(account_id)}.json"

    def load(self) -> dict[str, Any] | None:
        data = _read_json(self.path)
        if not isinstance(data, dict) or data.get("version") != DRAFT_VERSION:
            return None
        fields = data.get("fields")
        return fields if isinstance(fields, dict) else None

    def save(self, fields: dict[str, Any]) -> None:
        _write_json(self.path, {"version": DRAFT_VERSION, "fields": fields})

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


@dataclass
class UploadEntry:
    key: str
    claim_id: str
    claim_number: str
    path: str
    name: str
    size: int
    state: str = QUEUED
    photo_id: str = ""
    error: str = ""  # a problem code, or interrupted / unreachable / missing
    detail: str = ""
    sent: int = field(default=0, metadata={"transient": True})

    @classmethod
    def new(cls, claim_id: str, claim_number: str, path: Path, size: int) -> UploadEntry:
        return cls(secrets.token_hex(8), claim_id, claim_number, str(path), path.name, size)


class UploadJournal:
    """Every photo upload this computer started for one account, and how far it got."""

    def __init__(self, folder: Path, account_id: str) -> None:
        self.path = Path(folder) / f"uploads-{_account_key(account_id)}.json"

    def load(self) -> list[UploadEntry]:
        """Entries from the last run; ones that were still running come back as interrupted."""
        data = _read_json(self.path)
        entries: list[UploadEntry] = []
        for raw in data if isinstance(data, list) else []:
            try:
                entry = UploadEntry(**{k: v for k, v in raw.items() if k in UploadEntry.__dataclass_fields__})
            except TypeError:
                continue
            if entry.state in (QUEUED, UPLOADING):
                entry.state, entry.error, entry.detail = FAILED, "interrupted", ""
            entry.sent = 0
            entries.append(entry)
        return entries

    def save(self, entries: list[UploadEntry]) -> None:
        rows = []
        for e in entries:
            row = asdict(e)
            row.pop("sent", None)
            rows.append(row)
        _write_json(self.path, rows)

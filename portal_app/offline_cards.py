"""The last ID cards fetched for an account, kept on this computer so they show without a connection.

What is kept: the card data as the service sent it (policy number, vehicle, dates, the QR code,
which is printed on the card anyway) and the card PDFs. No tokens, no keys: nothing here would
let anyone act on the account. Files live under the app's data dir, one folder per account.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SavedCards:
    fetched_at: datetime
    cards: list[dict[str, Any]]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write then rename, so a crash never leaves half a file where the last good one was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class OfflineCardStore:
    """Threading rule: plain file I/O on small files; call from the Qt thread (a few ms)."""

    def __init__(self, data_dir: Path, account_id: str) -> None:
        # Hash the id into the folder name: ids are opaque, but never trust them as path parts.
        folder = hashlib.sha256(account_id.encode()).hexdigest()[:24]
        self.folder = Path(data_dir) / "offline-id-cards" / folder

    @property
    def cards_file(self) -> Path:
        return self.folder / "cards.json"

    def save(self, cards: list[dict[str, Any]], fetched_at: datetime | None = None) -> None:
        when = (fetched_at or datetime.now(UTC)).astimezone(UTC)
        body = {"fetched_at": when.isoformat(), "cards": cards}
        _atomic_write(self.cards_file, json.dumps(body, default=str, indent=1).encode())
        keep = {c.get(k) for c in cards for k in ("page_document_id", "wallet_document_id")}
        for pdf in self.folder.glob("*.pdf"):
            if pdf.stem not in keep:
                pdf.unlink(missing_ok=True)  # cards no longer current are not kept

    def load(self) -> SavedCards | None:
        try:
            body = json.loads(self.cards_file.read_text(encoding="utf-8"))
            return SavedCards(datetime.fromisoformat(body["fetched_at"]), list(body["cards"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _pdf_path(self, document_id: str) -> Path:
        safe = "".join(ch for ch in document_id if ch.isalnum() or ch in "_-")
        return self.folder / f"{safe}.pdf"

    def save_pdf(self, document_id: str, content: bytes) -> None:
        _atomic_write(self._pdf_path(document_id), content)

    def pdf(self, document_id: str) -> bytes | None:
        try:
            return self._pdf_path(document_id).read_bytes()
        except OSError:
            return None

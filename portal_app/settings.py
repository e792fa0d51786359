"""Desktop-app settings: which service to talk to and where local state lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.config import default_data_dir


@dataclass(frozen=True)
class AppSettings:
    server_url: str | None  # None: start the embedded service
    data_dir: Path

    @property
    def server_key(self) -> str:
        """Names the keyring entry; the embedded port is ephemeral, so key it on the data dir."""
        return self.server_url or f"embedded:{self.data_dir}"

    @classmethod
    def load(cls, server_url: str | None = None, data_dir: Path | None = None) -> AppSettings:
        return cls(
            server_url=server_url or os.environ.get("PORTAL_SERVER_URL") or None,
            data_dir=data_dir or default_data_dir(),
        )

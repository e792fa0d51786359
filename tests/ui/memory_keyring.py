"""Keyring backends for tests only: importing a KeyringBackend subclass registers it as a
candidate, so these live in a test module and are installed with keyring.set_keyring()."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A secure-looking keyring that keeps secrets in a dict (never the developer's keyring)."""

    priority = 0.1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise PasswordDeleteError(username)
        del self.secrets[(service, username)]


class PlaintextMemoryKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring: it would store secrets in the clear, so
    the app must refuse to use it (and we can see that it wrote nothing)."""

"""Where a signed-in session survives a restart: the refresh token in the OS keyring, nowhere else.

The service name is per server ("Portal (<server key>)"), so sessions for two servers never mix.
The embedded default keys on its data directory, not its URL: its port is ephemeral.
A keyring that would store secrets in plain text (keyrings.alt's PlaintextKeyring and friends) or
that cannot store at all (fail/null backends) counts as "no secure keyring": the session then
lives in memory only and the sign-in window says so. A token is never written to a file by us.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors

REFRESH_TOKEN_USER = "refresh_token"
EMAIL_USER = "email"

# Backends that store nothing or store in the clear: never trusted with a refresh token.
_INSECURE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def server_key_for(server_url: str | None, data_dir: Path | None) -> str:
    """The stable identity of the service a session belongs to."""
    if server_url:
        return server_url.rstrip("/")
    if data_dir is None:
        raise ValueError("The embedded service is identified by its data directory.")
    return "embedded:" + str(data_dir)


def _is_secure(backend: keyring.backend.KeyringBackend) -> bool:
    chained = getattr(backend, "backends", None)
    if isinstance(chained, list | tuple):
        # The chainer writes to the first backend that accepts: every one must be safe.
        return bool(chained) and all(_is_secure(b) for b in chained)
    cls = type(backend)
    if cls.__module__.startswith(_INSECURE_MODULE_PREFIXES):
        return False
    return "plaintext" not in cls.__name__.lower()


@dataclass(frozen=True)
class StoredSession:
    refresh_token: str
    email: str | None


class SessionStore:
    """The refresh token (and the email, to prefill the sign-in form) for one server.

    Threading/async rule: methods are synchronous and may block (the Secret Service talks over
    D-Bus and can wait for an unlock prompt), so the UI calls them through asyncio.to_thread;
    a lock makes the in-memory fallback safe to use from that worker thread and the Qt thread.
    """

    def __init__(self, server_key: str, backend: keyring.backend.KeyringBackend | None = None):
        self.server_key = server_key
        self.service_name = f"Portal ({server_key})"
        self._backend = backend
        self._lock = threading.Lock()
        self._memory: StoredSession | None = None
        self._persist = False

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        # Looked up on each use so keyring.set_keyring (tests, user configuration) is honoured.
        return self._backend if self._backend is not None else keyring.get_keyring()

    @property
    def is_secure(self) -> bool:
        return _is_secure(self.backend)

    @property
    def persisted(self) -> bool:
        """True when the current session is written to the keyring (kept across restarts)."""
        with self._lock:
            return self._persist

    @property
    def backend_name(self) -> str:
        backend = self.backend
        return getattr(backend, "name", type(backend).__name__)

    def load(self) -> StoredSession | None:
        """The session kept from an earlier run, or the one held in memory during this run."""
        with self._lock:
            if self._memory is not None:
                return self._memory
        if not self.is_secure:
            return None
        backend = self.backend
        try:
            token = backend.get_password(self.service_name, REFRESH_TOKEN_USER)
            email = backend.get_password(self.service_name, EMAIL_USER)
        except keyring.errors.KeyringError:
            return None
        if not token:
            return None
        with self._lock:
            self._persist = True
        return StoredSession(refresh_token=token, email=email)

    def save(self, refresh_token: str, email: str | None, *, keep_signed_in: bool) -> bool:
        """Hold the session; write it to the keyring only if asked and the keyring is secure.

        Returns True when the session was written to the keyring.
        """
        persist = keep_signed_in and self.is_secure
        with self._lock:
            self._memory = StoredSession(refresh_token=refresh_token, email=email)
            self._persist = persist
        if not persist:
            # "Keep me signed in" unticked: a session from an earlier run must not linger.
            self._delete_from_keyring()
            return False
        try:
            self.backend.set_password(self.service_name, REFRESH_TOKEN_USER, refresh_token)
            if email:
                self.backend.set_password(self.service_name, EMAIL_USER, email)
        except keyring.errors.KeyringError:
            with self._lock:
                self._persist = False
            return False
        return True

    def update_refresh_token(self, refresh_token: str) -> None:
        """Record a rotated refresh token (the old one is already dead on the service)."""
        with self._lock:
            email = self._memory.email if self._memory else None
            self._memory = StoredSession(refresh_token=refresh_token, email=email)
            persist = self._persist
        if persist and self.is_secure:
            # On failure the in-memory copy still works for this run.
            with contextlib.suppress(keyring.errors.KeyringError):
                self.backend.set_password(self.service_name, REFRESH_TOKEN_USER, refresh_token)

    def clear(self) -> None:
        """Forget the session in memory and in the keyring (sign-out, or a session that ended)."""
        with self._lock:
            self._memory = None
            self._persist = False
        self._delete_from_keyring()

    def _delete_from_keyring(self) -> None:
        if not self.is_secure:
            return
        for user in (REFRESH_TOKEN_USER, EMAIL_USER):
            # PasswordDeleteError (a KeyringError) just means nothing was stored under that name.
            with contextlib.suppress(keyring.errors.KeyringError):
                self.backend.delete_password(self.service_name, user)

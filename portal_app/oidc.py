"""Single sign-on the native-app way (RFC 8252): system browser, PKCE S256, a one-shot loopback.

`sign_in_with_provider` asks the service for the provider's authorization URL (the service
signs the `state` and binds it to our PKCE challenge and this loopback address), opens it in
the person's own browser, waits for the provider to send the browser back to
`http://127.0.0.1:PORT/callback`, answers the browser with a page telling the person to return
to Portal, and exchanges the code (with the verifier, which never leaves this process before
that) for a portal session.

Threading/async rule: everything runs on the app's asyncio loop (qasync: the Qt thread). The
listener is an asyncio server, so waiting for the browser never blocks the Qt thread; cancel
the awaiting task to give up (the listener closes either way).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from portal_app.client import PortalClient, PortalError, TokenPair

CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT_SECONDS = 300.0

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portal</title>
<style>body{{font-family:sans-serif;background:#F4F6FA;color:#1B2A41;display:flex;
align-items:center;justify-content:center;height:90vh}}main{{background:#fff;padding:32px 40px;
border-radius:12px;max-width:480px;box-shadow:0 2px 12px rgba(0,0,0,.08)}}</style></head>
<body><main><h1>{title}</h1><p id="message">{message}</p></main></body></html>
"""


class SsoError(PortalError):
    """Single sign-on did not finish here (cancelled, timed out, refused at the provider)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Callback:
    """What the provider sent the browser back with."""

    code: str | None
    state: str | None
    error: str | None
    error_description: str | None


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the provider's redirect.

    It answers the first request to the callback path (with a page saying the person can go
    back to Portal) and then stops listening; anything else (a favicon) gets a 404.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[Callback] | None = None

    @property
    def redirect_uri(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{CALLBACK_PATH}"

    async def start(self) -> str:
        self._result = asyncio.get_running_loop().create_future()
        # Loopback IP literal only (RFC 8252 §8.3): never reachable from the network.
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        return self.redirect_uri

    async def wait(self) -> Callback:
        assert self._result is not None
        return await asyncio.shield(self._result)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing in them matters here
            parts = request_line.decode("latin-1").split()
            target = urlsplit(parts[1]) if len(parts) >= 2 and parts[0] == "GET" else None
            if target is None or target.path != CALLBACK_PATH or self._result is None or self._result.done():
                await self._answer(writer, 404, "Not here", "This address only receives Portal's sign-in.")
                return
            query = {k: v[0] for k, v in parse_qs(target.query).items()}
            callback = Callback(
                code=query.get("code"),
                state=query.get("state"),
                error=query.get("error"),
                error_description=query.get("error_description"),
            )
            if callback.error:
                await self._answer(
                    writer, 200, "Sign-in cancelled", "You can close this tab and return to Portal."
                )
            else:
                await self._answer(
                    writer, 200, "You are signed in", "You can close this tab and return to the Portal app."
                )
            self._result.set_result(callback)
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, title: str, message: str) -> None:
        body = _PAGE.format(title=html.escape(title), message=html.escape(message)).encode()
        reason = "OK" if status == 200 else "Not Found"
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()


async def sign_in_with_provider(
    client: PortalClient,
    open_browser: Callable[[str], bool],
    *,
    provider_name: str,
    port: int = 0,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> TokenPair:
    """Run the whole browser sign-in; the client holds the new session when this returns."""
    verifier, challenge = pkce_pair()
    listener = LoopbackListener(port)
    try:
        redirect_uri = await listener.start()
        start = await client.oidc_start(redirect_uri, challenge)
        if not open_browser(start.authorization_url):
            raise SsoError("sso.no_browser", "Portal could not open your web browser.")
        try:
            callback = await asyncio.wait_for(listener.wait(), timeout)
        except TimeoutError:
            raise SsoError(
                "sso.timeout",
                f"We did not hear back from {provider_name}. If you closed the browser, start again.",
            ) from None
    finally:
        await listener.close()
    if callback.error:
        if callback.error == "access_denied":
            raise SsoError("sso.cancelled", f"Sign-in with {provider_name} was cancelled.")
        raise SsoError(
            "sso.provider_error",
            f"{provider_name} could not sign you in ({callback.error_description or callback.error}).",
        )
    if not callback.code:
        raise SsoError("sso.no_code", f"{provider_name} sent the browser back without a sign-in.")
    # The state goes to the service as received: it checks it (and records a wrong one).
    return await client.oidc_exchange(
        state=callback.state, code=callback.code, code_verifier=verifier, redirect_uri=redirect_uri
    )

"""Entry point of one localstripe process (run as `python -m services.payments.localstripe_main`).

localstripe saves its whole state to a hard-coded /tmp/localstripe.pickle on every write, so two
instances (tests, the embedded app) would trample each other. This launcher points the state at
a file of its own (or keeps it in memory), listens on 127.0.0.1 only, prints the port it bound,
and lets a publishable key create payment methods, as Stripe itself does for client-side
tokenisation. It exits when its owner process dies: it reads the lifetime pipe the owner keeps
open (EOF once the owner is gone, however it died), and watches its parent id as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

_TASKS: set[asyncio.Future[None]] = set()
PUBLISHABLE_STAND_IN = "sk_test_publishable_tokenisation"


def _redirect_state(state_file: Path | None) -> None:
    from localstripe import resources

    store_cls = resources.Store

    def load(self: Any) -> None:
        if state_file is None:
            return
        try:
            with state_file.open("rb") as fh:
                old = pickle.load(fh)
        except (FileNotFoundError, EOFError):
            return
        self.clear()
        self.update(old)

    def dump(self: Any) -> None:
        if state_file is None:
            return
        tmp = state_file.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(dict(self), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, state_file)  # a crash mid-write never leaves a torn state file

    store_cls.try_load_from_disk = load
    store_cls.dump_to_disk = dump


def _watch_parent(parent: int) -> None:
    async def watch() -> None:
        while True:
            await asyncio.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)

    _TASKS.add(asyncio.ensure_future(watch()))


def _watch_lifetime(fd: int) -> None:
    """Exit once the owner's end of the lifetime pipe closes (the owner process is gone)."""

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 64):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="lifetime-pipe", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localstripe-launcher")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", default="", help="empty: keep state in memory only")
    parser.add_argument("--from-scratch", action="store_true")
    parser.add_argument("--lifetime-fd", type=int, default=-1, help="exit on EOF from this descriptor")
    args = parser.parse_args(argv)
    if args.lifetime_fd >= 0:
        _watch_lifetime(args.lifetime_fd)
    state_file = Path(args.state_file) if args.state_file else None
    _redirect_state(state_file)

    from aiohttp import web
    from localstripe import resources, server

    if state_file is not None and args.from_scratch:
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
    resources.store.try_load_from_disk()

    @web.middleware
    async def publishable_tokenisation(request: web.Request, handler: Any) -> web.StreamResponse:
        # Stripe accepts the publishable key for creating payment methods (that is how cards
        # are tokenised on the client); localstripe only knows secret keys.
        auth = request.headers.get("Authorization", "")
        if (
            request.method == "POST"
            and request.path == "/v1/payment_methods"
            and auth.startswith("Bearer pk_")
        ):
            headers = request.headers.copy()
            headers["Authorization"] = f"Bearer {PUBLISHABLE_STAND_IN}"
            request = request.clone(headers=headers)
        return await handler(request)

    server.app.middlewares.insert(0, publishable_tokenisation)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    parent = os.getppid()

    async def on_startup(_: web.Application) -> None:
        _watch_parent(parent)

    server.app.on_startup.append(on_startup)
    web.run_app(server.app, sock=sock, access_log=None, print=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

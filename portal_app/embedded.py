"""The service in a thread of the calling process, on 127.0.0.1 with an ephemeral port.

For tests that need the service's container in-process (tests/support.py, tests/ui fixtures).
`portal run` does not use it: the app starts the service as a child process
(portal_app/service_process.py), so no service thread shares the GUI process.

Threading rule: `start()` blocks until the service answers and may be called from any thread
except the Qt GUI thread (use asyncio.to_thread). The server runs on its own thread with its
own asyncio loop; `stop()` asks uvicorn to exit and joins that thread.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from services.api.app import create_app
from services.bootstrap import Container, build
from services.clock import Clock
from services.config import ServiceSettings
from services.runtime import prepare


class EmbeddedService:
    def __init__(
        self,
        settings: ServiceSettings | None = None,
        *,
        seed_demo: bool = True,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.settings = settings or ServiceSettings.load()
        self.seed_demo = seed_demo
        self.clock = clock
        self.host = host
        self.port = port
        self.container: Container | None = None
        self.seeded = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Migrate, seed when empty, serve; returns the base URL once /health answers."""
        container = build(self.settings, clock=self.clock)
        self.seeded = prepare(container, seed=self.seed_demo)
        self.container = container
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(container),
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="websockets-sansio",
            # Never uvloop here: this loop lives in the desktop app's process beside qasync's.
            loop="asyncio",
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="portal-embedded", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._error is not None:
                raise RuntimeError("the embedded service failed to start") from self._error
            if self._server.started:
                try:
                    if httpx.get(f"{self.base_url}/api/v1/health", timeout=2).status_code == 200:
                        # localstripe (when the service starts one) posts its webhooks here.
                        payments = container.extras.get("payments")
                        if payments is not None:
                            payments.on_serving(self.base_url)  # type: ignore[attr-defined]
                        return self.base_url
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"the embedded service did not answer within {timeout:.0f} s")

    def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            self._server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to start() and stop()
            self._error = exc

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (closing live feeds) and release the database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.container is not None:
            self.container.db.dispose()
            self.container = None

    def __enter__(self) -> EmbeddedService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

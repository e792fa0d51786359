"""The desktop app: starts (or connects to) the service, signs in, opens the account.

`run()` is what `portal run [--server URL]` calls. Without a server it first starts the embedded
service as a child process (portal_app/service_process.py: FastAPI, SQLAlchemy, migrations are
that process's work, never this one's), then shows the window; the sign-in button simply waits
for the child to report its address. The app supervises the child: a crash shows "reconnecting",
the child is restarted and the client and live feed follow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget

from portal_app.client import (
    ApiError,
    Me,
    OidcConfig,
    PortalClient,
    PortalError,
    ServiceUnreachable,
)
from portal_app.service_process import ServiceProcess
from portal_app.session import SessionStore, StoredSession, server_key_for
from portal_app.settings import AppSettings
from ui import theme
from ui.event_loop import run_app
from ui.qt_compat import guard_singleton_refcounts
from ui.sign_in import SignInWindow
from ui.widgets import label

if TYPE_CHECKING:
    # Imported when an account opens (`_open_main`): the account pages cost a large part of a
    # cold start, and the sign-in window does not need them.
    from ui.main_window import MainWindow

T = TypeVar("T")
log = logging.getLogger(__name__)


class OpeningWindow(QWidget):
    """Shown while a kept session is resumed, so the screen is never empty."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("SignInWindow")
        self.setWindowTitle("Portal")
        self.setFixedSize(460, 260)
        box = QVBoxLayout(self)
        box.setContentsMargins(40, 36, 40, 36)
        box.setSpacing(12)
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo", None, 48))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(logo)
        title = label("Opening your account…", name="SignInTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        bar = QProgressBar()
        bar.setRange(0, 0)
        bar.setTextVisible(False)
        bar.setAccessibleName("Opening your account")
        box.addWidget(bar)
        self.note = label("", "muted", wrap=True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self.note)


class PortalApp(QObject):
    """Owns the windows, the session store, the client and (by default) the embedded service.

    Threading/async rule: lives on the Qt thread and runs its coroutines on the qasync loop.
    Blocking work never runs here: the embedded service is a child process (waiting for its
    ready line goes through asyncio.to_thread), and keyring calls (D-Bus, possibly an unlock
    prompt) go through a one-thread executor, which also keeps rotated refresh tokens written
    in the order they were issued.
    """

    signInShown = Signal()
    mainShown = Signal()
    overviewShown = Signal()

    serviceDown = Signal()  # the embedded service's process ended on its own
    serviceUp = Signal(str)  # ... and was restarted at this URL

    def __init__(
        self,
        server_url: str | None = None,
        data_dir: Path | None = None,
        *,
        service: ServiceProcess | None = None,
    ) -> None:
        super().__init__()
        settings = AppSettings.load(server_url, data_dir)
        self.server_url = settings.server_url
        self.data_dir = settings.data_dir
        self.store = SessionStore(server_key_for(self.server_url, self.data_dir))
        self.client: PortalClient | None = None
        self.sign_in_window: SignInWindow | None = None
        self.main_window: MainWindow | None = None
        self.opening_window: OpeningWindow | None = None
        # The embedded service's child process (None with --server); `run()` may have started it.
        self.service: ServiceProcess | None = service
        self._service_task: asyncio.Future[str] | None = None
        self._supervisor: asyncio.Future[Any] | None = None
        self._keyring_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-keyring")
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        # Tasks that run the controller itself (run_until_closed): never a page's to cancel.
        self._own_tasks: set[asyncio.Future[Any]] = set()
        self._shut_down = False
        self.sign_out_task: asyncio.Future[Any] | None = None
        self._ending_session = False
        self.sso_config: OidcConfig | None = None
        self._sso_session = False  # this run's session came through the identity provider

    # --- helpers ---------------------------------------------------------------------------

    @property
    def server_label(self) -> str:
        return self.server_url or "the Portal service on this computer"

    async def _keyring(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._keyring_pool, functools.partial(fn, *args, **kwargs))

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- service ---------------------------------------------------------------------------

    async def service_url(self) -> str:
        """The base URL, starting the embedded service first when no server was given."""
        if self.server_url:
            return self.server_url
        if self._service_task is None or (
            self._service_task.done() and self._service_task.exception() is not None
        ):
            self._service_task = self._spawn(self._start_embedded())
        url = await asyncio.shield(self._service_task)
        # After a restart the child may listen elsewhere: its current address wins.
        return self.service.url if self.service is not None and self.service.url else url

    async def _start_embedded(self) -> str:
        if self.service is None:
            # Background jobs (autopay, scheduled payments, grace periods) run in the child.
            self.service = ServiceProcess(self.data_dir, jobs_in_process=True)
        url = await self.service.start()
        if self._supervisor is None:
            self._supervisor = self._spawn(
                self.service.supervise(self._service_down, self._service_up, self._service_gave_up)
            )
        return url

    def _service_down(self, exit_code: int | None) -> None:
        """The child died on its own: say so while the supervisor restarts it."""
        log.warning("The embedded service stopped (exit %s); restarting it", exit_code)
        self.serviceDown.emit()
        # The live-feed indicator says "Reconnecting" by itself once its socket drops; this says why.
        if self.main_window is not None:
            self.main_window.statusBar().showMessage("Portal stopped on this computer: reconnecting…")

    def _service_up(self, url: str) -> None:
        if self.client is not None:
            self.client.rebase(url)  # also wakes the live feed out of its backoff
        if self.main_window is not None:
            self.main_window.statusBar().clearMessage()
        self.serviceUp.emit(url)

    def _service_gave_up(self, exc: BaseException) -> None:
        log.error("The embedded service could not be restarted: %s", exc)
        if self.main_window is not None:
            self.main_window.statusBar().showMessage(
                "Portal could not restart on this computer. Close and open the app again; "
                f"details are in {self.data_dir / 'service.log'}."
            )

    # --- start-up --------------------------------------------------------------------------

    def start(self) -> None:
        _preload_account_pages()
        if not self.server_url:
            # Warm the service up while the person types their password.
            self._spawn(self.service_url()).add_done_callback(_consume_exception)
        self._spawn(self._boot())

    async def _boot(self) -> None:
        stored = await self._keyring(self.store.load)
        if stored is None:
            self.show_sign_in()
            return
        self.opening_window = OpeningWindow()
        self.opening_window.show()
        await self._resume(stored)

    async def _resume(self, stored: StoredSession) -> None:
        """Open the account straight away with the refresh token kept in the keyring."""
        try:
            url = await self.service_url()
            client = self._new_client(url)
            client.restore(stored.refresh_token)
            me = await client.me()
        except ApiError as exc:
            if exc.ends_session:
                await self._keyring(self.store.clear)
            window = self.show_sign_in(prefill=stored.email)
            window.show_error(exc)
            return
        except (PortalError, RuntimeError, TimeoutError, OSError) as exc:
            window = self.show_sign_in(prefill=stored.email)
            window.show_error(exc)
            if isinstance(exc, ServiceUnreachable | RuntimeError | TimeoutError):
                window.set_retry(lambda: self._resume(stored))
            return
        self._open_main(client, me)

    def _new_client(self, url: str) -> PortalClient:
        if self.client is not None and self.client.base_url == url.rstrip("/"):
            return self.client
        self.client = PortalClient(
            url,
            on_refresh_token=self._remember_rotated_token,
            on_session_ended=self._session_ended,
            service_headers=self.service.headers if self.service is not None else None,
        )
        return self.client

    def _remember_rotated_token(self, token: str) -> None:
        # Refresh tokens rotate: the keyring must follow or the next start uses a dead one.
        self._keyring_pool.submit(self.store.update_refresh_token, token)

    # --- windows ---------------------------------------------------------------------------

    def show_sign_in(self, prefill: str | None = None) -> SignInWindow:
        window = self.sign_in_window
        if window is None:
            window = SignInWindow(
                self._sign_in,
                demo_hint=not self.server_url,
                server_label=self.server_url or "",
                on_sso=self._sign_in_sso,
            )
            self._spawn(self._offer_sso(window))
            window.closed.connect(self._closed.set)
            window.shown.connect(self.signInShown)
            self.sign_in_window = window
        window.set_keyring_secure(self.store.is_secure)
        window.set_retry(None)
        window.prefill(prefill)
        window.show()
        window.raise_()
        window.activateWindow()
        self._hide_opening()
        return window

    def _hide_opening(self) -> None:
        if self.opening_window is not None:
            self.opening_window.hide()
            self.opening_window.deleteLater()
            self.opening_window = None

    async def _sign_in(self, email: str, password: str, keep: bool) -> None:
        """Handler behind the sign-in button: errors propagate to the window to be worded."""
        window = self.sign_in_window
        if (
            window is not None
            and not self.server_url
            and not (self._service_task is not None and self._service_task.done())
        ):
            window.set_busy_text("Starting Portal on this computer…")
        url = await self.service_url()
        if window is not None:
            window.set_busy_text("Signing in…")
        client = self._new_client(url)
        pair = await client.sign_in(email, password)
        self._sso_session = False
        await self._keyring(self.store.save, pair.refresh_token, email, keep_signed_in=keep)
        self._open_main(client, pair.user)

    async def _offer_sso(self, window: SignInWindow) -> None:
        """Show "Sign in with <insurer>" once the service says it offers single sign-on."""
        try:
            url = await self.service_url()
            client = self._new_client(url)
            # The insurer's own phone line for the window's "call us" messages.
            with contextlib.suppress(PortalError):
                window.set_support_phone((await client.insurer()).phone)
            self.sso_config = await client.oidc_config()
        except (PortalError, RuntimeError, TimeoutError, OSError):
            return  # no SSO button; the password form reports the service's trouble itself
        window.set_sso(self.sso_config.provider_name if self.sso_config.enabled else None)

    async def _sign_in_sso(self, keep: bool) -> None:
        """Handler behind "Sign in with <insurer>": the system browser, then the portal session."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from portal_app.oidc import sign_in_with_provider

        url = await self.service_url()
        client = self._new_client(url)
        config = self.sso_config or await client.oidc_config()
        pair = await sign_in_with_provider(
            client,
            lambda link: QDesktopServices.openUrl(QUrl(link)),
            provider_name=config.provider_name or "your insurer",
            port=config.loopback_port,
        )
        self._sso_session = True
        await self._keyring(self.store.save, pair.refresh_token, pair.user.email, keep_signed_in=keep)
        self._open_main(client, pair.user)

    def _open_main(self, client: PortalClient, me: Me) -> None:
        self._ending_session = False
        from ui.main_window import MainWindow

        window_class: Any = MainWindow
        if me.is_staff:
            # The role decides: agents, supervisors and branch staff get the staff window.
            # Imported here so a policyholder's start-up never loads the console (printing, PDF).
            from ui.staff.window import StaffWindow

            window_class = StaffWindow
        window = window_class(client, me, server_label=self.server_label, data_dir=self.data_dir)
        window.signOutRequested.connect(self.sign_out)
        window.sessionProblem.connect(self._session_ended)
        window.closed.connect(self._closed.set)
        if window.account_view is not None:
            window.account_view.overviewLoaded.connect(self._first_overview)
        self.main_window = window
        window.show()
        self.mainShown.emit()
        if self.sign_in_window is not None:
            self.sign_in_window.hide()
            self.sign_in_window.reset()
        self._hide_opening()

    def _first_overview(self, _overview: object) -> None:
        self.overviewShown.emit()

    def sign_out(self) -> asyncio.Future[Any]:
        """Start signing out; the returned task finishes once the service was told."""
        self.sign_out_task = self._spawn(self._sign_out())
        return self.sign_out_task

    async def _sign_out(self) -> None:
        """Forget the session here first (keyring, memory), then tell the service.

        Whatever fails on the way (the keyring, a page that will not close, the service being
        unreachable), the person ends up at the sign-in window: signing out never ends the app.
        """
        email = self.client.user.email if self.client and self.client.user else None
        problem: BaseException | None = None
        try:
            await self._keyring(self.store.clear)
        except Exception as exc:  # a keyring that refuses must not keep the account open
            log.warning("Sign-out: could not clear the kept session: %s", exc)
            problem = exc
        window = self.show_sign_in(prefill=email)
        try:
            await self._close_main()
        except Exception:
            log.exception("Sign-out: closing the account window failed")
        if self.client is not None:
            try:
                # Also after a restart (session from the keyring): the service knows an SSO session.
                if self._sso_session or (self.sso_config and self.sso_config.enabled):
                    self._sso_session = False
                    end_session = await self.client.oidc_sign_out()
                    window.offer_provider_sign_out(end_session)
                else:
                    await self.client.sign_out()
            except (PortalError, OSError, TimeoutError) as exc:
                # Signed out here already; the service lets the token expire on its own.
                log.warning("Sign-out: the service was not told: %s", exc)
        if problem is not None:
            window.show_error(problem)

    async def _close_main(self) -> None:
        window, self.main_window = self.main_window, None
        if window is None:
            return
        await window.aclose()
        window.hide()
        await self._end_page_tasks()
        window.deleteLater()

    async def _end_page_tasks(self) -> None:
        """Cancel the pages' coroutines (loads, reloads) and wait until they have unwound.

        Once their window is gone or the service stops, a page coroutine resumed later would
        report a closed connection or touch deleted widgets. The controller's own tasks
        (start-up, sign-out, the embedded service, and the task running the app itself: cancel
        that one and the whole app ends) are left alone.
        """
        current = asyncio.current_task()
        pages = [
            t
            for t in asyncio.all_tasks()
            if t is not current and t not in self._tasks and t not in self._own_tasks and not t.done()
        ]
        for task in pages:
            task.cancel()
        if pages:
            await asyncio.wait(pages, timeout=5)

    def _session_ended(self, exc: ApiError) -> None:
        """The refresh token was refused (expired, revoked, replayed): back to sign-in."""
        if self._ending_session:
            return  # the client and the page that hit the refusal may both report it
        self._ending_session = True

        async def back_to_sign_in() -> None:
            email = self.client.user.email if self.client and self.client.user else None
            await self._keyring(self.store.clear)
            window = self.show_sign_in(prefill=email)
            await self._close_main()
            window.show_error(exc)

        self._spawn(back_to_sign_in())

    # --- shutdown --------------------------------------------------------------------------

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def run_until_closed(self) -> int:
        """What `portal run` runs: start, wait until the person closes the app, shut down."""
        task = asyncio.current_task()
        if task is not None:
            self._own_tasks.add(task)
        try:
            self.start()
            await self.wait_closed()
            await self.shutdown()
        finally:
            if task is not None:
                self._own_tasks.discard(task)
        return 0

    async def shutdown(self) -> None:
        """Close windows and connections, then stop the embedded service (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        for window in (self.sign_in_window, self.opening_window):
            if window is not None:
                window.hide()
        await self._close_main()
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None:
            if self.client.signed_in and not self.store.persisted:
                # Not kept: revoke it now rather than leave a live token unused for weeks.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.client.sign_out(), 3)
            await self.client.aclose()
        if self._service_task is not None and not self._service_task.done():
            # Still starting: let it finish so it can be stopped cleanly.
            with contextlib.suppress(Exception):
                await self._service_task
        if self.service is not None:
            # Closing the lifetime pipe lets the child finish its requests and jobs, then exit.
            await asyncio.to_thread(self.service.stop)
        self._keyring_pool.shutdown(wait=True)


def _preload_account_pages() -> None:
    """Import the account window's modules off the GUI thread while the person types.

    Imported on the GUI thread at sign-in they stalled painting for over a second on a loaded
    machine (tests/ui/test_stalls.py). The modules create no Qt objects at import. The collector
    is held off meanwhile so it cannot run in this thread over Qt wrappers (ui/qt_compat.py).
    """
    if "ui.main_window" in sys.modules:
        return

    def load() -> None:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            importlib.import_module("ui.main_window")
        except Exception:  # imported again (and reported) when the account opens
            log.exception("Preloading the account pages failed")
        finally:
            if was_enabled:
                gc.enable()

    threading.Thread(target=load, name="portal-preload", daemon=True).start()


def _consume_exception(task: asyncio.Future[Any]) -> None:
    # The warm-up's failure is reported when sign-in awaits the service; do not log it twice.
    if not task.cancelled():
        task.exception()


def create_application() -> QApplication:
    guard_singleton_refcounts()  # before any real Qt use; see ui/qt_compat.py
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Portal")
    app.setOrganizationName("Portal")
    app.setDesktopFileName("portal")
    # We decide when to quit: windows are swapped (sign-in <-> main) and must not end the app.
    app.setQuitOnLastWindowClosed(False)
    theme.apply_theme(app)
    # No service threads live in this process any more (the service is a child process), so
    # Python's garbage collector runs automatically here as everywhere else.
    return app


def run(
    server_url: str | None,
    *,
    data_dir: Path | None = None,
    configure: Callable[[PortalApp], None] | None = None,
    service: ServiceProcess | None = None,
) -> int:
    """Run the desktop app until the user closes it; returns the process exit code.

    `configure` receives the controller before it starts (bench/startup.py hooks timings there);
    `service` is the embedded service's child when the caller spawned it already (`portal run`
    does, before importing this module).
    """
    guard_singleton_refcounts()
    settings = AppSettings.load(server_url, data_dir)
    if service is None and not settings.server_url:
        # First of all: the child imports, migrates and seeds on the other core while Qt starts
        # here and the person types their password.
        service = ServiceProcess(settings.data_dir, jobs_in_process=True)
        service.spawn()

    app = create_application()

    async def main() -> int:
        controller = PortalApp(server_url, data_dir, service=service)
        if configure is not None:
            configure(controller)
        return await controller.run_until_closed()

    return run_app(main(), app)

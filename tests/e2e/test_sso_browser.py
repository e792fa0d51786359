"""End to end: a policyholder signs into the desktop app through the insurer's provider.

A real browser (Debian's chromium, driven by selenium through chromedriver) opens the URL the
app hands to QDesktopServices, goes through Canaille's login pages (password, TOTP) and is sent
back to the app's one-shot loopback listener; the app lands on the Overview. Sign-out offers the
provider's end-session link, and a second sign-in works (the provider remembers the browser).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from tests.oidc_provider import CLIENT_ID, PEOPLE, Person, Provider, running_provider, totp_now
from tests.support import Service, running_service
from tests.ui.conftest import make_app, wait_until
from ui.app import PortalApp

__all__ = ["make_app"]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("canaille")) as p:
        yield p


@pytest.fixture(scope="module")
def sso_service(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # Canaille matches redirect URIs exactly: the deployment fixes the app's loopback port.
    port = free_port()
    provider.allow_redirect(f"http://127.0.0.1:{port}/callback")
    folder = tmp_path_factory.mktemp("svc")
    with running_service(
        f"sqlite:///{folder / 'portal.sqlite3'}",
        folder,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_provider_name="Portal Mutual ID",
        oidc_scopes="openid profile email groups",
        oidc_role_map="portal-agents=agent,portal-supervisors=supervisor",
        oidc_loopback_port=port,
    ) as svc:
        yield svc


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromium-driver are missing: run scripts/ensure-system-deps.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="portal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class SystemBrowser(QObject):
    """Stands in for the desktop's default browser: QDesktopServices hands it http(s) URLs.

    Threading: the slot runs on the Qt thread and only starts a worker; selenium (blocking)
    drives chromium from that worker, so the app's event loop keeps running meanwhile.
    """

    def __init__(self, driver: Any, person: Person) -> None:
        super().__init__()
        self.driver, self.person = driver, person
        self.opened: list[str] = []
        self.finished = threading.Event()
        self.page_text = ""
        self.error: BaseException | None = None

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())
        self.finished.clear()
        threading.Thread(target=self._browse, args=(url.toString(),), daemon=True).start()

    def _browse(self, url: str) -> None:
        from selenium.webdriver.common.by import By

        try:
            self.driver.get(url)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                body = self.driver.find_element(By.TAG_NAME, "body").text
                if "return to the Portal app" in body:
                    self.page_text = body
                    return
                for name, value in (
                    ("otp", lambda: totp_now(self.person.totp_secret)),
                    ("password", lambda: "correct horse battery staple"),
                    ("login", lambda: self.person.user_name),
                ):
                    fields = [f for f in self.driver.find_elements(By.NAME, name) if f.is_displayed()]
                    if fields:
                        fields[0].clear()
                        fields[0].send_keys(value())
                        fields[0].submit()
                        break
                else:
                    time.sleep(0.2)
            raise AssertionError(f"the browser never came back to the app: {self.driver.current_url}")
        except BaseException as exc:
            self.error = exc
        finally:
            self.finished.set()


@pytest.fixture
def system_browser(browser: Any) -> Iterator[SystemBrowser]:
    handler = SystemBrowser(browser, PEOPLE["alex"])
    QDesktopServices.setUrlHandler("http", handler, "open")
    try:
        yield handler
    finally:
        QDesktopServices.unsetUrlHandler("http")


def sso_button_ready(app: PortalApp) -> bool:
    window = app.sign_in_window
    return window is not None and window.isVisible() and window.sso_button.isVisible()


def test_policyholder_signs_in_through_the_browser_signs_out_and_back_in(
    qtbot: Any,
    make_app: Any,
    sso_service: Service,
    system_browser: SystemBrowser,
    tmp_path: Path,
    memory_keyring: Any,
) -> None:
    # Given the sign-in window of an app whose service offers SSO
    app: PortalApp = make_app(sso_service.url, tmp_path)
    app.start()
    wait_until(qtbot, lambda: sso_button_ready(app))
    window = app.sign_in_window
    assert window is not None and window.sso_button.text() == "Sign in with Portal Mutual ID"

    for attempt in ("first", "second"):
        # When Alex presses "Sign in with Portal Mutual ID" and finishes in the browser
        qtbot.mouseClick(window.sso_button, Qt.MouseButton.LeftButton)
        wait_until(qtbot, system_browser.finished.is_set)
        assert system_browser.error is None, system_browser.error
        assert "You are signed in" in system_browser.page_text
        # Then the app lands on the Overview with Alex's policies
        wait_until(qtbot, lambda: app.main_window is not None and app.main_window.isVisible())
        view = app.main_window.account_view  # type: ignore[union-attr]
        assert view is not None
        wait_until(qtbot, lambda v=view: v.overview is not None)
        assert app.client is not None and app.client.user is not None
        assert app.client.user.email == "alex.morgan@example.com", attempt
        # And the session is kept in the OS keyring exactly as a password sign-in's would be
        stored = memory_keyring.secrets.get((f"Portal ({sso_service.url})", "refresh_token"))
        assert stored and stored == app.client.refresh_token

        # When Alex signs out
        qtbot.mouseClick(app.main_window.sign_out_button, Qt.MouseButton.LeftButton)  # type: ignore[union-attr]
        wait_until(qtbot, lambda: app.main_window is None and window.isVisible())
        wait_until(qtbot, lambda: app.sign_out_task is not None and app.sign_out_task.done())
        # Then the keyring is empty and the provider's own sign-out is offered
        assert memory_keyring.secrets == {}
        assert window.sso_sign_out_note.isVisible()
        assert (
            f"{sso_service.container.settings.oidc_issuer}/oauth/end_session"
            in window.sso_sign_out_note.text()
        )
    assert len(system_browser.opened) == 2
    events = sso_service.sql("SELECT action FROM audit_events WHERE action LIKE 'auth.oidc_%' ORDER BY seq")
    assert [e[0] for e in events] == [
        "auth.oidc_linked",
        "auth.oidc_signed_in",
        "auth.oidc_signed_out",
        "auth.oidc_signed_in",
        "auth.oidc_signed_out",
    ]


def test_cancel_while_the_browser_is_open_leaves_the_window_usable(
    qtbot: Any, make_app: Any, sso_service: Service, tmp_path: Path
) -> None:
    # Given a browser that never comes back (the person closed it)
    opened: list[str] = []

    class ClosedBrowser(QObject):
        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            opened.append(url.toString())

    handler = ClosedBrowser()
    QDesktopServices.setUrlHandler("http", handler, "open")
    try:
        app: PortalApp = make_app(sso_service.url, tmp_path)
        app.start()
        wait_until(qtbot, lambda: sso_button_ready(app))
        window = app.sign_in_window
        assert window is not None
        qtbot.mouseClick(window.sso_button, Qt.MouseButton.LeftButton)
        wait_until(qtbot, lambda: bool(opened) and window.sso_cancel_button.isVisible())
        assert not window.sso_button.isEnabled() and not window.sign_in_button.isEnabled()
        # When the person presses Cancel
        qtbot.mouseClick(window.sso_cancel_button, Qt.MouseButton.LeftButton)
        # Then the window says so and both ways of signing in work again
        wait_until(qtbot, lambda: window.form_error.isVisible())
        assert "was cancelled" in window.form_error_label.text()
        assert window.sso_button.isEnabled() and window.sign_in_button.isEnabled()
        assert not window.sso_cancel_button.isVisible()
        assert opened[0].startswith(sso_service.container.settings.oidc_issuer + "/oauth/authorize?")
    finally:
        QDesktopServices.unsetUrlHandler("http")


def test_no_answer_from_the_browser_times_out_and_the_listener_is_gone(
    qtbot: Any, sso_service: Service
) -> None:
    from portal_app.client import PortalClient
    from portal_app.oidc import SsoError, sign_in_with_provider
    from tests.ui.conftest import run

    # Given a browser that was opened and then closed without signing in
    opened: list[str] = []

    def closed_browser(url: str) -> bool:
        opened.append(url)
        return True

    client = PortalClient(sso_service.url)

    async def attempt() -> str:
        try:
            await sign_in_with_provider(client, closed_browser, provider_name="Portal Mutual ID", timeout=0.5)
        except SsoError as exc:
            return exc.code
        finally:
            await client.aclose()
        return "signed in"

    # When the app has waited its time, then it gives up with a code the window words
    assert run(qtbot, attempt()) == "sso.timeout"
    # And the loopback port no longer answers: the listener was one-shot and is closed
    port = int(parse_qs(urlsplit(opened[0]).query)["redirect_uri"][0].rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0

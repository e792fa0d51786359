"""Sign-in refusals worded inline: throttled and locked, with the wait the service gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from portal_app.embedded import EmbeddedService
from services.config import ServiceSettings
from tests.ui.conftest import PASSWORD, wait_until
from ui.app import PortalApp


def _service(data_dir: Path, **limits: int) -> Iterator[str]:
    service = EmbeddedService(ServiceSettings(data_dir=data_dir, **limits))
    url = service.start()
    yield url
    service.stop()


@pytest.fixture
def throttling_service(tmp_path: Path) -> Iterator[str]:
    # Throttle after the first failure; lock much later.
    yield from _service(tmp_path / "throttle", throttle_after=1, lock_after=50)


@pytest.fixture
def locking_service(tmp_path: Path) -> Iterator[str]:
    # Lock on the first failure for 15 minutes.
    yield from _service(tmp_path / "lock", throttle_after=50, lock_after=1, lock_seconds=900)


def attempt(qtbot: Any, app: PortalApp, email: str, password: str) -> Any:
    if app.sign_in_window is None:
        app.start()
        wait_until(qtbot, lambda: app.sign_in_window is not None and app.sign_in_window.isVisible())
    window = app.sign_in_window
    assert window is not None
    window.email.setText(email)
    window.password.setText(password)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: not window.busy_box.isVisible())
    return window


def test_throttled_sign_in_shows_the_wait_and_holds_the_button(
    qtbot: Any, make_app: Any, throttling_service: str, tmp_path: Path
) -> None:
    app = make_app(throttling_service, tmp_path)
    window = attempt(qtbot, app, "priya.shah@example.com", "wrong-1")
    wait_until(qtbot, window.password_error.isVisible)

    # Even the right password must wait now: the service refuses before checking it
    window = attempt(qtbot, app, "priya.shah@example.com", PASSWORD)
    wait_until(qtbot, window.form_error.isVisible)
    text = window.form_error_label.text()
    assert text.startswith("Too many attempts. Please wait ") and "second" in text
    assert not window.sign_in_button.isEnabled()
    assert not window.retry_button.isVisible()
    assert app.main_window is None
    # When the (short) wait is over the message stays, reworded, until the next attempt
    wait_until(qtbot, window.sign_in_button.isEnabled)
    assert window.form_error.isVisible() and "sign in again now" in window.form_error_label.text()


def test_locked_sign_in_says_for_how_long(
    qtbot: Any, make_app: Any, locking_service: str, tmp_path: Path
) -> None:
    app = make_app(locking_service, tmp_path)
    window = attempt(qtbot, app, "jamie.morgan@example.com", "wrong-1")
    wait_until(qtbot, window.form_error.isVisible)
    text = window.form_error_label.text()
    assert "locked" in text and "15 minutes" in text
    assert not window.sign_in_button.isEnabled()

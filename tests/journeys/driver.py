"""Driving the real app the way a person does: typing, clicking, keyboard shortcuts.

Used by every role's journey. `launch` runs `PortalApp.run_until_closed()` (what `portal run`
runs) as a task, so a journey sees the app end exactly when a person would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from tests.ui.conftest import PASSWORD, WAIT_MS
from ui.app import PortalApp


@dataclass
class RunningApp:
    """The controller and the task running it (done = the app has ended)."""

    controller: PortalApp
    task: asyncio.Future[Any]

    @property
    def ended(self) -> bool:
        return self.task.done()


def launch(qtbot: Any, make_app: Any, server_url: str | None, data_dir: Path) -> RunningApp:
    controller: PortalApp = make_app(server_url, data_dir)
    task = asyncio.ensure_future(controller.run_until_closed())
    qtbot.waitUntil(
        lambda: controller.sign_in_window is not None and controller.sign_in_window.isVisible(),
        timeout=WAIT_MS,
    )
    return RunningApp(controller, task)


def type_into(qtbot: Any, widget: QWidget, text: str) -> None:
    """Focus, select all, type: what a person does in a field."""
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def sign_in(qtbot: Any, running: RunningApp, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the window and wait until the account's overview has loaded."""
    app = running.controller
    window = app.sign_in_window
    assert window is not None and window.isVisible()
    type_into(qtbot, window.email, email)
    type_into(qtbot, window.password, password)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.main_window is not None and app.main_window.isVisible(), timeout=WAIT_MS)
    main = app.main_window
    view = getattr(main, "account_view", None)
    if view is not None:
        qtbot.waitUntil(lambda: view.overview is not None, timeout=WAIT_MS)
    return main


def sign_out(qtbot: Any, running: RunningApp, *, shortcut: bool = False) -> None:
    """Sign out with the header button or Ctrl+Shift+L and wait for the sign-in window."""
    app = running.controller
    main = app.main_window
    assert main is not None
    if shortcut:
        main.activateWindow()
        qtbot.waitUntil(main.isActiveWindow, timeout=WAIT_MS)
        modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        QTest.keyClick(main, Qt.Key.Key_L, modifiers)
    else:
        qtbot.mouseClick(main.sign_out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            running.ended
            or (
                app.main_window is None
                and app.sign_in_window is not None
                and app.sign_in_window.isVisible()
                and app.sign_out_task is not None
                and app.sign_out_task.done()
            )
        ),
        timeout=WAIT_MS,
    )
    assert not running.ended, "signing out ended the app"

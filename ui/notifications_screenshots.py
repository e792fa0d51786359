"""Screenshots of the notification centre and its settings (used by portal_app.screenshots and
the UI tests): the bell's panel drawn over the main window, as a person sees it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QWidget


async def _until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def with_popup(window: QWidget, popup: QWidget) -> QPixmap:
    """The window with a popup (a separate top-level) painted where it shows."""
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(popup.pos()), popup.grab())
    painter.end()
    return shot


async def shoot_notifications(main: Any, out: Path) -> list[Path]:
    """notifications-centre.png and notification-settings.png from a signed-in main window."""
    centre = main.notifications
    await _until(lambda: centre.loaded, 30, "the notifications")
    centre.open_panel()
    await _until(lambda: bool(centre.panel.rows), 20, "the notice rows")
    await _until(lambda: not centre.panel.progress.isVisible(), 20, "the refresh")
    await asyncio.sleep(0.5)
    paths = [out / "notifications-centre.png", out / "notification-settings.png"]
    with_popup(main, centre.panel).save(str(paths[0]))
    centre.open_settings()
    dialog = centre.settings_dialog
    await _until(lambda: dialog.settings is not None, 30, "the notification settings")
    dialog.adjustSize()
    await asyncio.sleep(0.4)
    dialog.grab().save(str(paths[1]))
    dialog.close()
    centre.panel.hide()
    for p in paths:
        print(f"saved {p}")
    return paths

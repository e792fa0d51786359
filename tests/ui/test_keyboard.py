"""Keyboard and accessibility on the sign-in window and the navigation (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.backends.fail
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from tests.ui.conftest import wait_until
from tests.ui.test_desktop import ALEX, PASSWORD, open_sign_in, sign_in, wait_for_overview


def test_tab_reaches_keep_me_signed_in(qtbot: Any, make_app: Any, service_url: str, tmp_path: Path) -> None:
    window = open_sign_in(qtbot, make_app(service_url, tmp_path))
    window.email.setFocus()
    QTest.keyClick(window.email, Qt.Key.Key_Tab)
    assert window.focusWidget() is window.password
    QTest.keyClick(window.password, Qt.Key.Key_Tab)
    assert window.focusWidget() is window.keep_signed_in
    QTest.keyClick(window.keep_signed_in, Qt.Key.Key_Tab)
    assert window.focusWidget() is window.sign_in_button


def test_a_disabled_keep_me_signed_in_looks_disabled(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    enabled = open_sign_in(qtbot, make_app(service_url, tmp_path))
    live = enabled.keep_signed_in.grab().toImage()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    disabled = open_sign_in(qtbot, make_app(service_url, tmp_path / "no-keyring"))
    box = disabled.keep_signed_in
    assert not box.isEnabled()
    dead = box.grab().toImage()

    # The text is drawn in a paler colour than the live box's: darkest pixel of each
    def darkest(image: Any) -> int:
        return min(
            QColor(image.pixel(x, y)).lightness()
            for x in range(0, image.width(), 2)
            for y in range(0, image.height(), 2)
        )

    assert darkest(dead) > darkest(live) + 40


def test_the_navigation_shows_where_the_keyboard_is(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    app = make_app(service_url, tmp_path)
    sign_in(qtbot, app, ALEX, PASSWORD)
    view = wait_for_overview(qtbot, app)
    nav = view.nav
    nav.setFocus()
    wait_until(qtbot, nav.hasFocus)
    nav.setCurrentRow(1)  # the focused row is also the selected one: focus ring on top
    QTest.keyClick(nav, Qt.Key.Key_Down)
    focused_row = nav.visualItemRect(nav.currentItem())
    image = nav.viewport().grab(focused_row).toImage()
    # The ring's colour (#9CC0F5) is on the focused row's edge
    edge = {QColor(image.pixel(x, 2)).name() for x in range(4, image.width() - 4)}
    assert "#9cc0f5" in edge, edge

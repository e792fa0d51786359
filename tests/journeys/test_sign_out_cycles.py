"""Signing out returns to the sign-in window, every time, with nothing raised (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.journeys.driver import launch, sign_in, sign_out

ALEX = "alex.morgan@example.com"
PRIYA = "priya.shah@example.com"


@pytest.mark.timeout(900)
def test_twenty_sign_out_and_sign_in_cycles_leave_no_traceback(
    qtbot: Any, make_app: Any, journey_service: str, tmp_path: Path, journey_log: Any
) -> None:
    # Given the app connected to a service (`portal run --server URL`)
    running = launch(qtbot, make_app, journey_service, tmp_path)
    for cycle in range(20):
        # When a policyholder signs in and out again, by button and by Ctrl+Shift+L in turn
        sign_in(qtbot, running, ALEX if cycle % 2 == 0 else PRIYA)
        sign_out(qtbot, running, shortcut=cycle % 2 == 1)
        # Then the sign-in window is back and the app still runs
        assert running.controller.sign_in_window.isVisible()
        assert not running.ended
    assert journey_log.tracebacks() == []


@pytest.mark.timeout(300)
def test_embedded_sign_out_returns_to_sign_in(
    qtbot: Any, make_app: Any, tmp_path: Path, journey_log: Any
) -> None:
    # Given the embedded default (`portal run`: the app starts its own service)
    running = launch(qtbot, make_app, None, tmp_path)
    for cycle in range(3):
        sign_in(qtbot, running, ALEX)
        sign_out(qtbot, running, shortcut=cycle == 1)
    assert not running.ended
    assert journey_log.tracebacks() == []

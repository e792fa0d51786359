"""End-to-end tests drive real windows like the UI tests: the same session-wide qasync loop."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.ui.conftest import memory_keyring, qapp_cls, qasync_loop, qasync_running

__all__ = ["memory_keyring", "qapp_cls", "qasync_loop", "qasync_running"]

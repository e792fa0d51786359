"""Names as customers write them, shown by the desktop app: the Shah household's co-holder and
drivers (accents, a long name) on the policy detail, in a font that has every one of their glyphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea

from tests.ui.test_documents import PRIYA, close_view, open_view, texts

ZOE = "Zoë Ångström-Núñez"
LONG_NAME = "Maximiliano Sebastián Ångström-Núñez de la Villa-Fuentes"


def test_accented_and_long_names_show_on_the_policy_detail(
    qtbot: Any, service_url: str, tmp_path: Path
) -> None:
    # Given Priya on the Policies page
    view = open_view(qtbot, service_url, PRIYA, tmp_path / "priya")
    try:
        view.show_page("policies")
        page = view.policies_page
        auto = next(p for p in view.overview.policies if p.number == "AUT-100877")  # type: ignore[union-attr]
        # When she opens her auto policy
        page.open_policy(auto.id)
        qtbot.waitUntil(lambda: page.detail_view is not None, timeout=10_000)
        shown = texts(page.detail_view)
        # Then the named insureds and drivers read exactly as written
        assert f"{ZOE} (Spouse / partner)" in shown
        assert f"{LONG_NAME} (Other)" in shown
        # And the label's font can draw every character (no empty boxes where letters should be)
        labels = [w for w in page.detail_view.findChildren(QLabel) if ZOE in w.text()]  # type: ignore[union-attr]
        assert labels
        for label in labels:
            metrics = QFontMetrics(label.font())
            missing = [ch for ch in ZOE + LONG_NAME if not metrics.inFontUcs4(ord(ch))]
            assert not missing, f"{label.font().family()} cannot draw {missing}"
        # And a long name wraps inside its card instead of pushing the page past the window's edge
        detail = page.detail_view
        assert detail is not None
        qtbot.waitUntil(lambda: detail.isVisible(), timeout=5_000)
        scrolls = [a for a in view.findChildren(QScrollArea) if a.isAncestorOf(detail)]
        assert scrolls
        assert all(a.horizontalScrollBar().maximum() == 0 for a in scrolls), (
            "the page is wider than the window"
        )
        for button in detail.findChildren(QPushButton):
            right = button.mapTo(view, button.rect().topRight()).x()
            assert right <= view.width(), f"{button.text()!r} ends at x={right}, past the window's edge"
        view.grab().save(str(tmp_path / "policy-detail.png"))
    finally:
        close_view(qtbot, view)

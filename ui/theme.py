"""Loads the QSS theme and the SVG icons from resources/ (the look lives there, not in code)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFont, QFontDatabase, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
THEME_FILE = RESOURCES / "theme" / "portal.qss"
ICONS_DIR = RESOURCES / "icons"
FONT_FAMILY = "DejaVu Sans"

# Palette shared with code that paints (icons, the ID card); keep in step with portal.qss.
BLUE = "#1F4E99"
NAVY = "#0E2747"
TEXT = "#1A2433"
MUTED = "#5A6678"
NAV_TEXT = "#C9D6EA"
SUCCESS = "#1B6E30"
WARNING = "#7D4C00"
DANGER = "#A8231B"


def apply_theme(app: QApplication) -> None:
    """Set the application font and style sheet."""
    app.setStyle("Fusion")  # the same base look on every platform; QSS styles on top of it
    family = FONT_FAMILY if FONT_FAMILY in QFontDatabase.families() else app.font().family()
    font = QFont(family, 10)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    app.setFont(font)
    qss = THEME_FILE.read_text(encoding="utf-8").replace("@ICONS@", ICONS_DIR.as_posix())
    app.setStyleSheet(qss)
    app.setWindowIcon(icon("logo", None))


@cache
def _svg(name: str) -> str:
    return (ICONS_DIR / f"{name}.svg").read_text(encoding="utf-8")


def pixmap(name: str, color: str | None = BLUE, size: int = 20, dpr: float = 2.0) -> QPixmap:
    """Render an icon, recoloured: the SVGs draw in currentColor so one file serves all tones."""
    svg = _svg(name)
    if color is not None:
        svg = svg.replace("currentColor", color)
    pm = QPixmap()
    pm.loadFromData(QByteArray(svg.encode("utf-8")), "SVG")
    if pm.isNull():
        return pm
    pm = pm.scaled(
        int(size * dpr),
        int(size * dpr),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    pm.setDevicePixelRatio(dpr)
    return pm


def icon(name: str, color: str | None = BLUE, *, selected_color: str | None = None) -> QIcon:
    """A QIcon from resources/icons; optional second colour for the selected state."""
    result = QIcon()
    for size in (16, 20, 24, 32, 48):
        result.addPixmap(pixmap(name, color, size, 1.0), QIcon.Mode.Normal)
        if selected_color is not None:
            result.addPixmap(pixmap(name, selected_color, size, 1.0), QIcon.Mode.Selected)
    return result


def repolish(widget: QWidget) -> None:
    """Re-apply the style after a dynamic property changed (Qt does not do it on its own)."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()

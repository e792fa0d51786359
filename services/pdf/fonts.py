"""The one font family every generated PDF uses: DejaVu, embedded (subset) into each file.

DejaVu covers the Latin, Greek and Cyrillic letters customers write their names and addresses in,
plus the signs our documents print (€, £, “ ”, —, ·, →). The base-14 PDF fonts (Helvetica, Courier)
are never used: they are not embedded, cover only WinAnsi, and render differently on every reader.

Threading rule: fonts are registered once per process under a lock; after that the registry is
only read, from any thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Debian/Ubuntu (fonts-dejavu-core), then Fedora/Arch; scripts/ensure-system-deps.sh installs it.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

# Our internal name -> the DejaVu file it is loaded from.
FACES = {
    "PortalSans": "DejaVuSans.ttf",
    "PortalSans-Bold": "DejaVuSans-Bold.ttf",
    "PortalSans-Oblique": "DejaVuSans-Oblique.ttf",
    "PortalSans-BoldOblique": "DejaVuSans-BoldOblique.ttf",
    "PortalMono": "DejaVuSansMono.ttf",
}
_lock = threading.Lock()


class FontsMissing(RuntimeError):
    """The DejaVu fonts are not installed, so no document can be made that reads right everywhere."""


@dataclass(frozen=True)
class Fonts:
    """Registered font names, to pass to reportlab styles and canvas.setFont."""

    regular: str = "PortalSans"
    bold: str = "PortalSans-Bold"
    italic: str = "PortalSans-Oblique"
    bold_italic: str = "PortalSans-BoldOblique"
    mono: str = "PortalMono"


def font_dir(dirs: tuple[Path, ...] = FONT_DIRS) -> Path:
    """The first folder holding every DejaVu face we need."""
    for folder in dirs:
        if all((folder / file).is_file() for file in FACES.values()):
            return folder
    raise FontsMissing(
        "The DejaVu fonts are not installed (looked in "
        + ", ".join(str(d) for d in dirs)
        + "). Install the Debian package fonts-dejavu-core: scripts/ensure-system-deps.sh does."
    )


@cache
def fonts() -> Fonts:
    """Register the DejaVu family with reportlab (once) and return its names."""
    with _lock:
        folder = font_dir()
        for name, file in FACES.items():
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))
        names = Fonts()
        # <b>/<i> in Paragraph markup pick the family's faces instead of falling back to Helvetica.
        pdfmetrics.registerFontFamily(
            names.regular,
            normal=names.regular,
            bold=names.bold,
            italic=names.italic,
            boldItalic=names.bold_italic,
        )
        return names

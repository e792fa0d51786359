"""The canvas every Portal PDF is drawn on, its metadata, and the fast text operator.

`PortalCanvas` starts in the embedded DejaVu face (reportlab's default canvas registers Helvetica
in its preamble, which would put an unembedded base-14 font into every file), writes our
document information (title, subject, producer, creation date in UTC), and stays deterministic:
the creation date is the document's own issue time, never the wall clock, so the same input
still gives the same bytes and the same SHA-256.

`text_op` is the fast path for flowables that write text operators straight into the page
(the evidence timeline): the same embedded subset fonts and ToUnicode maps as canvas.drawString,
without its per-call overhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from services.pdf.fonts import fonts

PRODUCER = f"Portal document service (ReportLab {reportlab.Version}, DejaVu fonts embedded)"


@dataclass(frozen=True)
class DocumentInfo:
    """What a PDF says about itself in its information dictionary."""

    title: str
    subject: str
    author: str
    creator: str
    created_at: datetime  # aware; written in UTC


def pdf_info_date(moment: datetime) -> str:
    """A PDF date string in UTC ("D:20261123150000+00'00'"); naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("a document's creation time must be timezone-aware")
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


def apply_info(canvas: Canvas, info: DocumentInfo) -> None:
    """Write title, subject, author, creator, producer and the UTC creation date onto a canvas."""
    canvas.setTitle(info.title)
    canvas.setSubject(info.subject)
    canvas.setAuthor(info.author)
    canvas.setCreator(info.creator)
    canvas.setProducer(PRODUCER)
    stamp = pdf_info_date(info.created_at)
    # reportlab formats CreationDate and ModDate through this hook; in invariant mode its own
    # timestamp is a fixed 2000-01-01, so the document's issue time is what gets written.
    canvas.setDateFormatter(lambda *_: stamp)


class PortalCanvas(Canvas):
    """A deterministic canvas whose only fonts are the embedded DejaVu faces.

    Threading rule: one canvas per thread, like any reportlab canvas."""

    def __init__(self, filename: Any, *args: Any, info: DocumentInfo | None = None, **kwargs: Any) -> None:
        kwargs["invariant"] = 1  # no wall-clock time or random id inside: same input, same bytes
        kwargs["initialFontName"] = fonts().regular
        kwargs.setdefault("initialFontSize", 10)
        kwargs.setdefault("initialLeading", 12)
        super().__init__(filename, *args, **kwargs)
        if info is not None:
            apply_info(self, info)


def text_op(canvas: Canvas, font: str, size: float, x: float, y: float, text: str) -> str:
    """PDF operators that show `text` at (x, y) in a registered TrueType font (see TextWriter)."""
    return TextWriter(canvas).op(font, size, x, y, text)


class TextWriter:
    """Writes text operators for one canvas: Unicode in, the fonts' embedded subset codes out.

    reportlab assigns each character a code in one of the font's subsets (and writes the
    ToUnicode map that makes the text extractable), exactly as canvas.drawString does; this only
    skips drawString's per-call machinery, for flowables that lay out thousands of strings.
    Threading rule: used by the thread drawing its canvas."""

    def __init__(self, canvas: Canvas) -> None:
        self.doc = canvas._doc
        self.escape = canvas._escape
        self.faces: dict[str, tuple[TTFont, str | None]] = {}

    def _face(self, font: str) -> tuple[TTFont, str | None]:
        known = self.faces.get(font)
        if known is None:
            face = pdfmetrics.getFont(font)
            if not isinstance(face, TTFont):
                raise TypeError(f"{font} is not an embedded TrueType font")
            # Printable ASCII sits at its own code in subset 0 from the start (reportlab's
            # "ASCII readable" subsets): such strings need no per-character assignment.
            ascii_name = face.getSubsetInternalName(0, self.doc) if _ascii_is_identity(font) else None
            known = self.faces[font] = (face, ascii_name)
        return known

    def op(self, font: str, size: float, x: float, y: float, text: str) -> str:
        """PDF operators that show `text` with its baseline starting at (x, y)."""
        face, ascii_name = self._face(font)
        if ascii_name is not None and text.isascii() and text.isprintable():
            shown = self.escape(text.encode())
            return f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm {ascii_name} {size:g} Tf ({shown}) Tj ET"
        ops = [f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm"]
        for subset, chunk in face.splitString(text, self.doc):
            name = face.getSubsetInternalName(subset, self.doc)
            ops.append(f"{name} {size:g} Tf ({self.escape(chunk)}) Tj")
        ops.append("ET")
        return " ".join(ops)


@cache
def _ascii_is_identity(font: str) -> bool:
    """True when the font maps printable ASCII to the same codes in its first subset."""
    face = pdfmetrics.getFont(font)
    glyphs = face.face.charToGlyph
    return (
        bool(face._asciiReadable)
        and not getattr(face.face, "_full_font", False)
        and all(n in glyphs for n in range(32, 127))
    )


def fit_text(text: str, font: str, size: float, width: float, *, minimum: float = 5.0) -> tuple[str, float]:
    """(text, size) that fit `width`: shrink in quarter points down to `minimum`, then cut with "…"."""
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.25
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text, size
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip(" ,·") + "…", size

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
    """PDF operators that show `text` at (x, y) in a registered TrueType font.

    Unicode in, the font's embedded subset codes out: reportlab assigns each character a code
    in one of the font's subsets (and writes the ToUnicode map that makes the text extractable),
    exactly as canvas.drawString does; this only skips drawString's per-call machinery."""
    face = pdfmetrics.getFont(font)
    if not isinstance(face, TTFont):
        raise TypeError(f"{font} is not an embedded TrueType font")
    doc = canvas._doc
    escape = canvas._escape
    ops = [f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm"]
    for subset, chunk in face.splitString(text, doc):
        ops.append(f"{face.getSubsetInternalName(subset, doc)} {size:g} Tf ({escape(chunk)}) Tj")
    ops.append("ET")
    return " ".join(ops)


def fit_text(text: str, font: str, size: float, width: float, *, minimum: float = 5.0) -> tuple[str, float]:
    """(text, size) that fit `width`: shrink in quarter points down to `minimum`, then cut with "…"."""
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.25
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text, size
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip(" ,·") + "…", size

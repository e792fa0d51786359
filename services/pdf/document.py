"""Branded PDF building blocks: the insurer's header and logo, a numbered footer, fact grids, tables.

Every customer-facing PDF (declarations, policy wording, statements, ID cards, payment receipts,
the evidence record) is built from these so they share one look and one font family. Output is
deterministic for the same input, so a document's SHA-256 identifies its content.

Usage::

    doc = BrandedDocument("Payment receipt", reference="RCT-1234", issued_at=clock.now())
    doc.heading("Payment")
    doc.facts([("Amount", pdf_money(12450, "USD")), ("Paid on", "23 Nov 2026")])
    doc.table(["Installment", "Amount"], [["3 of 12", "$124.50"]], align_right=(1,))
    pdf_bytes = doc.render()

Threading rule: a BrandedDocument is built and rendered by one thread.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.pdf.canvas import PRODUCER, DocumentInfo, PortalCanvas, fit_text
from services.pdf.fonts import fonts
from services.pdf.formats import escape, pdf_datetime

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "documents"
BRANDING_FILE = RESOURCES / "branding.json"


@dataclass(frozen=True)
class Branding:
    """Who the documents come from; loaded from resources/documents/branding.json."""

    insurer_name: str
    short_name: str
    insurer_code: str
    address_lines: tuple[str, ...]
    phone: str
    claims_phone: str
    website: str
    colors: dict[str, str] = field(default_factory=dict)

    def color(self, name: str) -> Color:
        return colors.HexColor(self.colors.get(name, "#1A2433"))

    @property
    def creator(self) -> str:
        return f"{self.short_name} document service"


@cache
def load_branding(path: Path = BRANDING_FILE) -> Branding:
    """The insurer's name, code, contact lines and colours (cached per process)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["address_lines"] = tuple(data.get("address_lines", ()))
    return Branding(**data)


def draw_logo(canvas: Canvas, x: float, y: float, size: float, *, fill: Any, tick: Any) -> None:
    """The shield-and-tick mark (resources/icons/logo.svg) drawn as vectors; (x, y) is bottom-left."""
    s = size / 48.0

    def pt(px: float, py: float) -> tuple[float, float]:
        return x + px * s, y + (48 - py) * s  # SVG y grows downwards

    path = canvas.beginPath()
    path.moveTo(*pt(24, 3.5))
    path.lineTo(*pt(40, 9.7))
    path.lineTo(*pt(40, 21.3))
    path.curveTo(*pt(40, 31.3), *pt(33.4, 39.5), *pt(24, 43))
    path.curveTo(*pt(14.6, 39.5), *pt(8, 31.3), *pt(8, 21.3))
    path.lineTo(*pt(8, 9.7))
    path.close()
    canvas.saveState()
    canvas.setFillColor(fill)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.setStrokeColor(tick)
    canvas.setLineWidth(3.4 * s)
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    tick_path = canvas.beginPath()
    tick_path.moveTo(*pt(16.5, 24.2))
    tick_path.lineTo(*pt(21.7, 29.4))
    tick_path.lineTo(*pt(32, 19.1))
    canvas.drawPath(tick_path, stroke=1, fill=0)
    canvas.restoreState()


def draw_letterhead(
    canvas: Canvas,
    branding: Branding,
    pagesize: tuple[float, float],
    margin: float,
    title: str,
    subtitle: str = "",
) -> None:
    """The navy band on every page: logo, insurer and contact line left, the document's title right.

    The title and subtitle get the room the left side leaves (DejaVu is wider than Helvetica, and
    subtitles carry vehicle names): they shrink, then are shortened with an ellipsis, never overlap."""
    f = fonts()
    w, h = pagesize
    left = margin + 0.78 * inch
    contact = f"{branding.phone}  ·  {branding.website}  ·  {branding.insurer_code}"
    canvas.saveState()
    canvas.setFillColor(branding.color("navy"))
    canvas.rect(0, h - 0.95 * inch, w, 0.95 * inch, stroke=0, fill=1)
    draw_logo(canvas, margin, h - 0.8 * inch, 0.62 * inch, fill=colors.white, tick=branding.color("navy"))
    canvas.setFillColor(colors.white)
    canvas.setFont(f.bold, 15)
    canvas.drawString(left, h - 0.45 * inch, branding.insurer_name)
    canvas.setFont(f.regular, 8)
    canvas.setFillColor(colors.HexColor("#C9D6EA"))
    canvas.drawString(left, h - 0.64 * inch, contact)
    gap = 14
    title_room = w - margin - (left + canvas.stringWidth(branding.insurer_name, f.bold, 15) + gap)
    text, size = fit_text(title, f.bold, 12, title_room, minimum=8)
    canvas.setFillColor(colors.white)
    canvas.setFont(f.bold, size)
    canvas.drawRightString(w - margin, h - 0.45 * inch, text)
    if subtitle:
        sub_room = w - margin - (left + canvas.stringWidth(contact, f.regular, 8) + gap)
        text, size = fit_text(subtitle, f.regular, 8.5, sub_room, minimum=6.5)
        canvas.setFont(f.regular, size)
        canvas.setFillColor(colors.HexColor("#C9D6EA"))
        canvas.drawRightString(w - margin, h - 0.64 * inch, text)
    canvas.restoreState()


def draw_footer(
    canvas: Canvas,
    branding: Branding,
    pagesize: tuple[float, float],
    margin: float,
    *,
    reference: str,
    issued: str,
    page: str,
) -> None:
    """The rule, the insurer's address, the reference and issue time, and the page number."""
    f = fonts()
    w, _ = pagesize
    canvas.saveState()
    canvas.setStrokeColor(branding.color("rule"))
    canvas.setLineWidth(0.6)
    canvas.line(margin, 0.62 * inch, w - margin, 0.62 * inch)
    canvas.setFont(f.regular, 7.5)
    canvas.setFillColor(branding.color("muted"))
    canvas.drawString(margin, 0.45 * inch, f"{branding.insurer_name} · {', '.join(branding.address_lines)}")
    ref = f"Ref. {reference}" if reference else ""
    canvas.drawString(margin, 0.31 * inch, "   ".join(x for x in (ref, f"Issued {issued}") if x))
    canvas.drawRightString(w - margin, 0.45 * inch, page)
    canvas.restoreState()


class _NumberedCanvas(PortalCanvas):
    """Defers page output so the footer can say "Page 2 of 3"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab calls it by this name
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            footer = getattr(self, "_portal_footer", None)
            if footer is not None:
                footer(self, total)
            super().showPage()
        super().save()


class BrandedDocument:
    """A letter- or wallet-sized PDF with the insurer's header, a footer and content blocks."""

    def __init__(
        self,
        title: str,
        *,
        subtitle: str = "",
        reference: str = "",
        issued_at: datetime,
        time_zone: str = "UTC",
        branding: Branding | None = None,
        pagesize: tuple[float, float] = LETTER,
        author: str = "",
    ) -> None:
        self.title = title
        self.subtitle = subtitle
        self.reference = reference
        self.issued_at = issued_at
        self.time_zone = time_zone
        self.branding = branding or load_branding()
        self.pagesize = pagesize
        self.author = author or self.branding.insurer_name
        self.story: list[Flowable] = []
        self.page_count = 0  # known after render()
        f = fonts()
        text = self.branding.color("text")
        self.styles = {
            "body": ParagraphStyle("body", fontName=f.regular, fontSize=9.5, leading=13, textColor=text),
            "small": ParagraphStyle(
                "small", fontName=f.regular, fontSize=8, leading=10.5, textColor=self.branding.color("muted")
            ),
            "heading": ParagraphStyle(
                "heading",
                fontName=f.bold,
                fontSize=12,
                leading=15,
                textColor=self.branding.color("primary"),
                spaceBefore=10,
                spaceAfter=4,
                keepWithNext=1,  # never a heading alone at the foot of a page
            ),
            "caption": ParagraphStyle(
                "caption",
                fontName=f.regular,
                fontSize=7.5,
                leading=9.5,
                textColor=self.branding.color("muted"),
            ),
            "value": ParagraphStyle("value", fontName=f.bold, fontSize=9.5, leading=12.5, textColor=text),
            "cell": ParagraphStyle("cell", fontName=f.regular, fontSize=9, leading=11.5, textColor=text),
            "cell_right": ParagraphStyle(
                "cell_right", fontName=f.regular, fontSize=9, leading=11.5, textColor=text, alignment=TA_RIGHT
            ),
            "cell_head": ParagraphStyle(
                "cell_head", fontName=f.bold, fontSize=8.5, leading=11, textColor=colors.white
            ),
        }
        self.fonts = f

    # --- content blocks ----------------------------------------------------------------------

    @property
    def width(self) -> float:
        return self.pagesize[0] - 2 * self.margin

    @property
    def margin(self) -> float:
        return 0.7 * inch

    def heading(self, text: str) -> None:
        self.story.append(Paragraph(escape(text), self.styles["heading"]))

    def paragraph(self, text: str, style: str = "body", *, markup: bool = False) -> None:
        """Body text; pass markup=True only for trusted template text with <b>/<i> tags."""
        self.story.append(Paragraph(text if markup else escape(text), self.styles[style]))

    def spacer(self, height: float = 8) -> None:
        self.story.append(Spacer(1, height))

    def flowable(self, item: Flowable) -> None:
        self.story.append(item)

    def facts(self, rows: Sequence[tuple[str, str]], columns: int = 2) -> None:
        """Caption-over-value pairs in a grid: the at-a-glance block at the top of a document."""
        cells = [
            [
                Paragraph(escape(cap).upper(), self.styles["caption"]),
                Paragraph(escape(val), self.styles["value"]),
            ]
            for cap, val in rows
        ]
        grid: list[list[Any]] = []
        for i in range(0, len(cells), columns):
            chunk: list[Any] = list(cells[i : i + columns])
            chunk += [""] * (columns - len(chunk))  # an empty cell (a list would be read as flowables)
            grid.append(chunk)
        col = self.width / columns
        table = Table(grid, colWidths=[col] * columns, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),  # padding cells too
                    ("BACKGROUND", (0, 0), (-1, -1), self.branding.color("band")),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        self.story.append(table)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        col_widths: Sequence[float] | None = None,
        align_right: Sequence[int] = (),
        total: Sequence[str] | None = None,
    ) -> None:
        """A striped table with a coloured header; `align_right` lists money columns."""
        right = set(align_right)

        def cell(value: str, index: int) -> Paragraph:
            return Paragraph(escape(value), self.styles["cell_right" if index in right else "cell"])

        head_right = ParagraphStyle("cell_head_right", parent=self.styles["cell_head"], alignment=TA_RIGHT)
        data: list[list[Any]] = [
            [
                Paragraph(escape(h), head_right if i in right else self.styles["cell_head"])
                for i, h in enumerate(header)
            ]
        ]
        data += [[cell(v, i) for i, v in enumerate(row)] for row in rows]
        if total is not None:
            data.append([cell(v, i) for i, v in enumerate(total)])
        if col_widths is None:
            widths = [self.width / len(header)] * len(header)
        else:
            scale = self.width / sum(col_widths)
            widths = [w * scale for w in col_widths]
        table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        style: list[tuple[Any, ...]] = [
            ("BACKGROUND", (0, 0), (-1, 0), self.branding.color("primary")),
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 1), (-1, -1), 0.5, self.branding.color("rule")),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
        for r in range(2, len(data), 2):
            style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F7F9FC")))
        if total is not None:
            style += [
                ("LINEABOVE", (0, -1), (-1, -1), 1, self.branding.color("text")),
                ("FONTNAME", (0, -1), (-1, -1), self.fonts.bold),
            ]
        table.setStyle(TableStyle(style))
        self.story.append(table)

    def keep_together(self, *items: Flowable) -> None:
        self.story.append(KeepTogether(list(items)))

    # --- page furniture ----------------------------------------------------------------------

    def _header(self, canvas: Canvas, _doc: Any) -> None:
        draw_letterhead(canvas, self.branding, self.pagesize, self.margin, self.title, self.subtitle)

    def _footer(self, canvas: Canvas, total: int) -> None:
        draw_footer(
            canvas,
            self.branding,
            self.pagesize,
            self.margin,
            reference=self.reference,
            issued=pdf_datetime(self.issued_at, self.time_zone),
            page=f"Page {canvas.getPageNumber()} of {total}",
        )

    @property
    def info(self) -> DocumentInfo:
        """The PDF's information dictionary: created at the document's issue time, in UTC."""
        return DocumentInfo(
            title=self.title + (f" {self.reference}" if self.reference else ""),
            subject=self.subtitle or self.title,
            author=self.author,
            creator=self.branding.creator,
            created_at=self.issued_at,
        )

    def render(self) -> bytes:
        """Lay out the story on branded pages and return the PDF bytes."""
        buffer = io.BytesIO()
        info = self.info
        template = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=self.margin,
            rightMargin=self.margin,
            topMargin=1.2 * inch,
            bottomMargin=0.9 * inch,
            # platypus copies these onto the canvas after making it: the same values as `info`.
            title=info.title,
            author=info.author,
            subject=info.subject,
            creator=info.creator,
            producer=PRODUCER,
            invariant=1,
        )
        footer = self._footer
        made: list[_NumberedCanvas] = []

        def make_canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
            canvas = _NumberedCanvas(*args, info=info, **kwargs)
            canvas._portal_footer = footer
            made.append(canvas)
            return canvas

        story = self.story or [Spacer(1, 1)]
        template.build(story, onFirstPage=self._header, onLaterPages=self._header, canvasmaker=make_canvas)
        self.page_count = len(made[-1]._saved) if made else 0
        return buffer.getvalue()

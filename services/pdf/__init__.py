"""The one way Portal puts text on a PDF page: Unicode in, the embedded DejaVu family out.

- fonts: registers DejaVu Sans (regular, bold, oblique) and DejaVu Sans Mono with reportlab.
- canvas: `PortalCanvas` (deterministic, starts in DejaVu, writes title/subject/producer and the
  creation date in UTC) and `TextWriter`/`text_op`, the fast text operators for flowables that draw directly.
- document: `BrandedDocument`, the insurer's letterhead layout every document is built on.
- formats: how money, dates and free text are printed.

Nothing here knows about policies, payments or the audit trail: domains build on it.
"""

from services.pdf.canvas import (
    PRODUCER,
    DocumentInfo,
    PortalCanvas,
    TextWriter,
    apply_info,
    fit_text,
    pdf_info_date,
    text_op,
)
from services.pdf.document import (
    RESOURCES,
    BrandedDocument,
    Branding,
    draw_footer,
    draw_letterhead,
    draw_logo,
    load_branding,
)
from services.pdf.fonts import Fonts, FontsMissing, fonts
from services.pdf.formats import CURRENCY_SYMBOLS, escape, pdf_date, pdf_datetime, pdf_money

__all__ = [
    "CURRENCY_SYMBOLS",
    "PRODUCER",
    "RESOURCES",
    "BrandedDocument",
    "Branding",
    "DocumentInfo",
    "Fonts",
    "FontsMissing",
    "PortalCanvas",
    "TextWriter",
    "apply_info",
    "draw_footer",
    "draw_letterhead",
    "draw_logo",
    "escape",
    "fit_text",
    "fonts",
    "load_branding",
    "pdf_date",
    "pdf_datetime",
    "pdf_info_date",
    "pdf_money",
    "text_op",
]

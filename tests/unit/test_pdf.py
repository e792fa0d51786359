"""Unit tests of services/pdf: embedded DejaVu only, metadata in UTC, the fast text path, fitting."""

from __future__ import annotations

import ast
import io
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from reportlab.platypus import Flowable

from services.idcards.render import CardFace, page_pdf, wallet_pdf
from services.pdf import (
    PRODUCER,
    BrandedDocument,
    DocumentInfo,
    FontsMissing,
    PortalCanvas,
    fit_text,
    fonts,
    pdf_info_date,
    text_op,
)
from services.pdf.fonts import font_dir
from tests.pdf_support import pdf_fonts, pdf_metadata, pdf_text, pdftotext

HARD_TEXT = "Zoë Ångström-Núñez · “Rue de l'Église” — €2.50 · £1 · Ωμέγα · Жанна → done"
ISSUED = datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=-6)))


class _FastLine(Flowable):
    """Draws one line through text_op, the way the evidence timeline does."""

    def __init__(self, text: str, font: str) -> None:
        super().__init__()
        self.text, self.font = text, font

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return avail_width, 14

    def draw(self) -> None:
        self.canv._code.append(text_op(self.canv, self.font, 9, 0, 2, self.text))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_fast_text_path_and_paragraphs_read_back_character_for_character() -> None:
    f = fonts()
    doc = BrandedDocument("Evidence record", subtitle=HARD_TEXT, reference="acc_1", issued_at=ISSUED)
    doc.paragraph(HARD_TEXT)
    doc.flowable(_FastLine(HARD_TEXT, f.regular))
    doc.flowable(_FastLine("Bold · " + HARD_TEXT, f.bold))
    content = doc.render()
    _, text = pdf_text(content)
    assert _flat(text).count(HARD_TEXT) >= 3  # the paragraph and both fast lines
    assert "Â" not in text and "\ufffd" not in text
    poppler = pdftotext(content)
    if poppler is not None:
        assert _flat(poppler).count(HARD_TEXT) >= 3 and "Â" not in poppler


def test_every_font_is_embedded_dejavu_and_metadata_is_the_issue_time_in_utc() -> None:
    doc = BrandedDocument("Payment receipt", subtitle="Policy AUT-1", reference="RCT-9", issued_at=ISSUED)
    doc.facts([("Amount", "$1.00"), ("Odd count", "x"), ("Third", "y")])  # a padding cell too
    doc.table(["A", "B"], [["1", "2"]], total=["Total", "3"])
    content = doc.render()
    used = pdf_fonts(content)
    assert used and all(f.embedded and "DejaVu" in f.name for f in used), used
    meta = pdf_metadata(content)
    assert meta["title"] == "Payment receipt RCT-9" and meta["subject"] == "Policy AUT-1"
    assert meta["producer"] == PRODUCER
    assert meta["created"] == datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    assert meta["created"].utcoffset() == timedelta(0)


def test_a_bare_portal_canvas_references_no_base14_font() -> None:
    buffer = io.BytesIO()
    info = DocumentInfo("t", "s", "a", "c", ISSUED)
    canvas = PortalCanvas(buffer, info=info)
    canvas.setFont(fonts().mono, 8)
    canvas.drawString(10, 10, "MONO ë")
    canvas.showPage()
    canvas.save()
    names = [f.name for f in pdf_fonts(buffer.getvalue())]
    assert names and all("DejaVu" in n for n in names) and not any("Helvetica" in n for n in names)


def test_creation_time_must_be_aware() -> None:
    assert pdf_info_date(ISSUED) == "D:20261123153000+00'00'"
    with pytest.raises(ValueError, match="timezone-aware"):
        pdf_info_date(datetime(2026, 11, 23, 9, 30))


def test_fit_text_shrinks_then_shortens() -> None:
    f = fonts()
    assert fit_text("short", f.regular, 10, 200) == ("short", 10)
    text, size = fit_text("a rather longer subtitle", f.regular, 10, 100, minimum=6)
    assert text == "a rather longer subtitle" and 6 <= size < 10
    text, size = fit_text(
        "Policy AUT-100877 · 2019 Subaru Outback Premium Limited", f.regular, 10, 60, minimum=8
    )
    assert size == 8 and text.endswith("…") and len(text) < 30


def test_missing_fonts_say_which_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        font_dir((tmp_path,))


def test_id_card_with_many_long_names_keeps_them_on_the_card() -> None:
    names = ["Zoë Ångström-Núñez", "Maximiliano Sebastián Ångström-Núñez de la Villa-Fuentes", "Priya Shah"]
    face = CardFace(
        "AUT-100877",
        "Portal Mutual Insurance Company",
        "NAIC 40117",
        names,
        "2019 Subaru Outback Premium",
        "4S4BSANC5K3301234",
        date(2026, 8, 1),
        date(2027, 8, 1),
        "PMIC1.e30.sig",
        "1-800-555-0123",
        "portal-mutual.example",
    )
    wallet, _ = wallet_pdf(face, issued_at=ISSUED)
    _, text = pdf_text(wallet)
    # Two lines at a readable size, not one line shrunk to nothing: every name is still there.
    assert "Zoë Ångström-Núñez, Maximiliano Sebastián" in _flat(text) and "Priya Shah" in _flat(text)
    page, _ = page_pdf(face, issued_at=ISSUED, time_zone="America/New_York")
    _, text = pdf_text(page)
    assert ", ".join(names) + " hold auto insurance" in _flat(text)
    assert all(f.embedded for f in pdf_fonts(page))


def test_shared_pdf_and_signing_modules_import_no_domain() -> None:
    # They sit below every domain (issue 13): documents, ID cards, receipts and the audit trail
    # build on them, so they may import nothing of those.
    root = Path(__file__).resolve().parents[2]
    for path in [*sorted((root / "services" / "pdf").glob("*.py")), root / "services" / "signing.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        domain = sorted(
            m
            for m in imported
            if m.startswith("services.") and not m.startswith(("services.pdf", "services.signing"))
        )
        assert not domain, f"{path.relative_to(root)} imports {domain}"

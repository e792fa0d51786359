"""Reading generated PDFs back in tests: text and page count (pypdf, pdftotext), fonts and metadata
(pypdf), QR codes off a rendered page (QtPdf renders, zxing-cpp decodes)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import zxingcpp
from PIL import Image


def pdf_text(content: bytes) -> tuple[int, str]:
    """(page count, all text) of a PDF; raises if it is not a PDF."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


def qr_codes_on_page(content: bytes, page: int, width: int = 1200) -> list[str]:
    """Render one page of a PDF with QtPdf and decode every QR code on it."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument(None)
    source = QBuffer()
    source.setData(QByteArray(content))
    source.open(QIODevice.OpenModeFlag.ReadOnly)
    document.load(source)
    assert document.status() == QPdfDocument.Status.Ready, document.status()
    size = document.pagePointSize(page)
    image = document.render(page, QSize(width, int(width * size.height() / size.width())))
    png = QByteArray()
    sink = QBuffer(png)
    sink.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(sink, "PNG")
    document.close()
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(png))))]


@dataclass(frozen=True)
class PdfFont:
    """One font a PDF uses, as its font dictionary describes it."""

    name: str
    subtype: str
    embedded: bool


def _font_file_present(font: Any) -> bool:
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False  # a base-14 font (Helvetica, Courier...): nothing embedded, the reader substitutes
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def pdf_fonts(content: bytes) -> list[PdfFont]:
    """Every font referenced from any page's (or form's) resources, with whether its program is embedded."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    found: dict[int | str, PdfFont] = {}
    stack: list[Any] = [page.get("/Resources") for page in reader.pages]
    while stack:
        resources = stack.pop()
        if resources is None:
            continue
        resources = resources.get_object()
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            key = getattr(ref, "idnum", None) or str(font.get("/BaseFont"))
            if font.get("/Subtype") == "/Type0":
                descendants = [d.get_object() for d in font["/DescendantFonts"]]
                embedded = bool(descendants) and all(_font_file_present(d) for d in descendants)
            else:
                embedded = _font_file_present(font)
            found[key] = PdfFont(str(font.get("/BaseFont")), str(font.get("/Subtype")), embedded)
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                stack.append(xobject.get("/Resources"))
    return list(found.values())


def pdf_metadata(content: bytes) -> dict[str, Any]:
    """Title, subject, producer and creation date (aware datetime) from the information dictionary."""
    meta = pypdf.PdfReader(io.BytesIO(content)).metadata
    assert meta is not None, "the PDF has no information dictionary"
    return {
        "title": meta.title,
        "subject": meta.subject,
        "producer": meta.producer,
        "author": meta.author,
        "created": meta.creation_date,
    }


def pdftotext(content: bytes) -> str | None:
    """Text as poppler's pdftotext reads it (UTF-8), or None when poppler-utils is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="portal-pdftext-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(content)
        run = subprocess.run(
            [tool, "-enc", "UTF-8", str(source), "-"], capture_output=True, check=True, timeout=60
        )
    return run.stdout.decode("utf-8")

"""Reading generated PDFs back in tests: text and page count (pypdf), QR codes off a rendered page
(QtPdf renders, zxing-cpp decodes)."""

from __future__ import annotations

import io

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

"""Printing PDFs at the counter: the service's own PDF rendered page by page onto a QPrinter."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

RENDER_DPI = 200  # crisp on paper, small enough to render a page in a few milliseconds


class PrintFailed(Exception):
    pass


def _load(pdf: bytes) -> tuple[QPdfDocument, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() == 0:
        raise PrintFailed("The document could not be read for printing.")
    return document, buffer


def print_pdfs(pdfs: list[bytes], printer: QPrinter) -> int:
    """Render every page of each PDF onto `printer` as one print job; returns the pages printed.

    One job (one QPainter session), because a printer restarts its output on every begin().
    Threading rule: Qt thread (QPainter on a printer); the PDFs here are a page or two each.
    """
    loaded = [_load(pdf) for pdf in pdfs]  # refuse before anything reaches the printer
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailed("The printer could not be started.")
    printed = 0
    try:
        for document, _buffer in loaded:
            for page in range(document.pageCount()):
                if printed:
                    printer.newPage()
                points = document.pagePointSize(page)
                pixels = QSize(int(points.width() * RENDER_DPI / 72), int(points.height() * RENDER_DPI / 72))
                image = document.render(page, pixels)
                area = painter.viewport()
                scaled = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(QPoint(area.x() + (area.width() - scaled.width()) // 2, area.y()), scaled)
                painter.drawImage(target, image)
                printed += 1
    finally:
        painter.end()
        for document, buffer in loaded:
            document.close()
            buffer.close()
    return printed

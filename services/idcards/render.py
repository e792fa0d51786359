"""Drawing the auto ID card: front and back at wallet size, and a printable letter page with both."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from services.pdf import (
    Branding,
    DocumentInfo,
    PortalCanvas,
    draw_footer,
    draw_letterhead,
    draw_logo,
    fit_text,
    fonts,
    load_branding,
    pdf_date,
    pdf_datetime,
)

CARD_W, CARD_H = 3.375 * inch, 2.125 * inch  # ISO/IEC 7810 ID-1, the size of a bank card


@dataclass(frozen=True)
class CardFace:
    """What an ID card shows; the same data the app draws and the QR payload vouches for."""

    policy_number: str
    insurer_name: str
    insurer_code: str
    named_insureds: list[str]
    vehicle: str
    vin: str
    valid_from: date
    valid_to: date
    code: str
    claims_phone: str
    website: str


@lru_cache(maxsize=512)
def qr_runs(code: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """(modules per side, dark runs as (row, first column, length)) for a code, quiet zone included.

    A fixed mask skips segno's search for the "best" of eight masks (most of its time); any mask
    decodes the same, and the page and wallet PDFs of one card share the cached result.
    """
    qr = segno.make(code, error="m", micro=False, mask=2)
    rows = list(qr.matrix_iter(border=2))
    runs = []
    for r, row in enumerate(rows):
        start = None
        for c, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                runs.append((r, start, c - start))
                start = None
    return len(rows), tuple(runs)


def draw_qr(canvas: Canvas, code: str, x: float, y: float, size: float) -> None:
    """Vector QR modules, crisp at any print resolution, as one filled path."""
    count, runs = qr_runs(code)
    module = size / count
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    # In module units with y pointing down, every rectangle is small integers: written as raw path
    # operators in one go (reportlab's rect() formats each float in Python, ~50x slower here).
    canvas.transform(module, 0, 0, -module, x, y + size)
    canvas._code.append(" ".join(f"{c} {r} {n} 1 re" for r, c, n in runs) + " f")
    canvas.restoreState()


def draw_front(canvas: Canvas, face: CardFace, x: float, y: float, branding: Branding) -> None:
    f = fonts()
    canvas.saveState()
    canvas.setFillColor(branding.color("navy"))
    canvas.roundRect(x, y, CARD_W, CARD_H, 9, stroke=0, fill=1)
    canvas.setFillColor(branding.color("primary"))
    canvas.rect(x, y + CARD_H - 34, CARD_W, 4, stroke=0, fill=1)
    draw_logo(canvas, x + 9, y + CARD_H - 30, 24, fill=colors.white, tick=branding.color("navy"))
    canvas.setFillColor(colors.white)
    canvas.setFont(f.bold, 9.5)
    canvas.drawString(x + 36, y + CARD_H - 17, face.insurer_name)
    canvas.setFont(f.regular, 6)
    canvas.setFillColor(colors.HexColor("#C9D6EA"))
    canvas.drawString(x + 36, y + CARD_H - 26, f"AUTO INSURANCE ID CARD · {face.insurer_code}")

    def field(label: str, value: str, fx: float, fy: float, width: float, size: float = 8.5) -> None:
        canvas.setFont(f.regular, 5.2)
        canvas.setFillColor(colors.HexColor("#AFC3E2"))
        canvas.drawString(fx, fy + 9.5, label.upper())
        canvas.setFillColor(colors.white)
        # Long names and model names shrink to fit, and are cut with "…" only below 5 pt.
        text, fitted = fit_text(value, f.bold, size, width)
        canvas.setFont(f.bold, fitted)
        canvas.drawString(fx, fy, text)

    left, right = x + 12, x + CARD_W / 2 + 6
    half = CARD_W / 2 - 18
    field("Policy number", face.policy_number, left, y + CARD_H - 56, half, 10)
    field("Effective", pdf_date(face.valid_from), right, y + CARD_H - 56, half / 2 - 2)
    field("Expires", pdf_date(face.valid_to), right + half / 2 + 6, y + CARD_H - 56, half / 2 - 4)
    field("Vehicle", face.vehicle, left, y + CARD_H - 82, CARD_W - 24)
    field("VIN", face.vin, left, y + CARD_H - 108, CARD_W - 24)
    insureds = ", ".join(face.named_insureds)
    if canvas.stringWidth(insureds, f.bold, 6.5) <= CARD_W - 24:
        field("Named insureds", insureds, left, y + 12, CARD_W - 24, 7.5)
    else:
        # Long or many names: two lines at a readable size rather than one line shrunk to nothing.
        lines = simpleSplit(insureds, f.bold, 6.2, CARD_W - 24)
        if len(lines) > 2:
            lines = [lines[0], fit_text(" ".join(lines[1:]), f.bold, 6.2, CARD_W - 24, minimum=6.2)[0]]
        canvas.setFont(f.regular, 5.2)
        canvas.setFillColor(colors.HexColor("#AFC3E2"))
        canvas.drawString(left, y + 12 + 7.5 * (len(lines) - 1) + 9.5, "NAMED INSUREDS")
        canvas.setFillColor(colors.white)
        canvas.setFont(f.bold, 6.2)
        for i, line in enumerate(lines):
            canvas.drawString(left, y + 12 + 7.5 * (len(lines) - 1 - i), line)
    canvas.restoreState()


def draw_back(canvas: Canvas, face: CardFace, x: float, y: float, branding: Branding) -> None:
    f = fonts()
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.setStrokeColor(branding.color("rule"))
    canvas.setLineWidth(0.8)
    canvas.roundRect(x, y, CARD_W, CARD_H, 9, stroke=1, fill=1)
    qr_size = CARD_H - 22
    draw_qr(canvas, face.code, x + 8, y + 11, qr_size)
    tx = x + qr_size + 14
    width = CARD_W - qr_size - 22
    canvas.setFillColor(branding.color("primary"))
    canvas.setFont(f.bold, 7.5)
    canvas.drawString(tx, y + CARD_H - 20, "Check this card")
    lines = [
        "Scan the code to confirm",
        "this card is valid, or enter",
        "the code printed below at",
        face.website + "/verify",
    ]
    canvas.setFillColor(branding.color("text"))
    canvas.setFont(f.regular, 5.6)
    for i, line in enumerate(lines):
        canvas.drawString(tx, y + CARD_H - 31 - i * 7.2, line)
    canvas.setFillColor(branding.color("primary"))
    canvas.setFont(f.bold, 6.4)
    canvas.drawString(tx, y + CARD_H - 70, "Report an accident")
    canvas.setFillColor(branding.color("text"))
    canvas.setFont(f.bold, 7.5)
    canvas.drawString(tx, y + CARD_H - 80, face.claims_phone)
    canvas.setFont(f.regular, 5.2)
    canvas.setFillColor(branding.color("muted"))
    for i, line in enumerate(
        ["Keep this card in the vehicle.", "Valid only while the policy", "is in force."]
    ):
        canvas.drawString(tx, y + 34 - i * 6.6, line)
    # The first characters of the code, so a card can be matched to its QR without a scanner.
    canvas.setFont(f.regular, 4.2)
    canvas.drawString(tx, y + 11, f"Code {face.code[6:20]}…")
    _ = width
    canvas.restoreState()


def _canvas(
    buffer: io.BytesIO, size: tuple[float, float], face: CardFace, issued_at: datetime, branding: Branding
) -> Canvas:
    info = DocumentInfo(
        title=f"ID card {face.policy_number} {face.vehicle}",
        subject=f"Auto insurance ID card, policy {face.policy_number}, {face.vehicle} (VIN {face.vin})",
        author=branding.insurer_name,
        creator=branding.creator,
        created_at=issued_at,
    )
    return PortalCanvas(buffer, pagesize=size, info=info)


def wallet_pdf(face: CardFace, *, issued_at: datetime, branding: Branding | None = None) -> tuple[bytes, int]:
    """Two pages at card size: front, then back (print double-sided or fold)."""
    b = branding or load_branding()
    buffer = io.BytesIO()
    canvas = _canvas(buffer, (CARD_W, CARD_H), face, issued_at, b)
    draw_front(canvas, face, 0, 0, b)
    canvas.showPage()
    draw_back(canvas, face, 0, 0, b)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue(), 2


def page_pdf(
    face: CardFace, *, issued_at: datetime, time_zone: str, branding: Branding | None = None
) -> tuple[bytes, int]:
    """A letter page with the card's front and back at true size, cut lines and instructions."""
    b = branding or load_branding()
    f = fonts()
    buffer = io.BytesIO()
    w, h = LETTER
    canvas = _canvas(buffer, LETTER, face, issued_at, b)
    m = 0.7 * inch
    draw_letterhead(canvas, b, LETTER, m, "ID card", f"Policy {face.policy_number} · {face.vehicle}")

    canvas.setFillColor(b.color("text"))
    canvas.setFont(f.regular, 10)
    canvas.drawString(
        m, h - 1.35 * inch, "Cut out along the dashed lines, fold in the middle and keep it in the vehicle."
    )
    top = h - 1.6 * inch - CARD_H
    gap = 0.35 * inch
    left = (w - 2 * CARD_W - gap) / 2
    for i, draw in enumerate((draw_front, draw_back)):
        cx = left + i * (CARD_W + gap)
        canvas.saveState()
        canvas.setDash(3, 3)
        canvas.setStrokeColor(colors.HexColor("#9AA7B8"))
        canvas.rect(cx - 6, top - 6, CARD_W + 12, CARD_H + 12, stroke=1, fill=0)
        canvas.restoreState()
        draw(canvas, face, cx, top, b)

    y = top - 0.6 * inch
    canvas.setFillColor(b.color("primary"))
    canvas.setFont(f.bold, 12)
    canvas.drawString(m, y, "What this card proves")
    canvas.setFillColor(b.color("text"))
    canvas.setFont(f.regular, 9.5)
    # Wrapped to the page, not broken by hand: names and vehicles are as long as they are.
    text = [
        *simpleSplit(
            f"{', '.join(face.named_insureds)} hold auto insurance with {b.insurer_name} under policy "
            f"{face.policy_number} for the {face.vehicle} (VIN {face.vin}) from {pdf_date(face.valid_from)} "
            f"to {pdf_date(face.valid_to)}.",
            f.regular,
            9.5,
            w - 2 * m,
        ),
        "",
        *simpleSplit(
            "Anyone may check the card: scan the QR code on its back, or send the code below to our "
            "verification service. It answers valid, expired, revoked (policy cancelled or vehicle removed) "
            "or forged (the code was not issued by us or was altered).",
            f.regular,
            9.5,
            w - 2 * m,
        ),
    ]
    for i, line in enumerate(text):
        canvas.drawString(m, y - 16 - i * 13, line)
    y -= 16 + len(text) * 13 + 10
    canvas.setFont(f.bold, 8)
    canvas.drawString(m, y, "Verification code")
    canvas.setFont(f.mono, 6.5)
    chunk = 110
    for i in range(0, len(face.code), chunk):
        y -= 9
        canvas.drawString(m, y, face.code[i : i + chunk])
    draw_footer(
        canvas,
        b,
        LETTER,
        m,
        reference=face.policy_number,
        issued=pdf_datetime(issued_at, time_zone),
        page="Page 1 of 1",
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue(), 1

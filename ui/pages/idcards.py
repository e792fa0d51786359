"""ID cards: each card drawn at wallet size (front, and the back with its verification QR), saved
as a wallet PDF or a printable page, printed, and still shown when the service cannot be reached."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import qasync
import segno
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QPoint, QSizeF, Qt, Signal
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPixmap
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from portal_app.client import (
    AccountOverview,
    ApiError,
    IdCardInfo,
    PortalClient,
    PortalError,
    ServiceUnreachable,
)
from portal_app.offline_cards import OfflineCardStore
from ui import theme, wording
from ui.files import save_file
from ui.formatting import this_computer, time_in
from ui.pages.documents import print_pdf
from ui.tasks import TaskScope
from ui.widgets import Badge, Banner, Card, EmptyState, Page, ResponsiveColumns, clear_layout, label

# An ID-1 card is 85.60 × 53.98 mm; at the desktop's logical 96 dpi scaled 1.3 it reads comfortably.
CARD_W, CARD_H = 420, 265
CARD_STATUS = {
    "valid": ("Valid", "success"),
    "expired": ("Expired", "warning"),
    "not_yet_valid": ("Not yet in force", "info"),
    "revoked": ("No longer valid", "danger"),
}


def qr_pixmap(code: str, size: int) -> QPixmap:
    """The card's QR drawn from its code (segno), the same content the PDF carries."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=6, border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _field(caption: str, value: str, size: int = 15) -> QVBoxLayout:
    cell = QVBoxLayout()
    cell.setSpacing(1)
    c = QLabel(caption.upper())
    c.setStyleSheet("font-size: 9px; letter-spacing: 1px; color: #AFC3E2;")
    v = QLabel(value)
    v.setStyleSheet(f"font-size: {size}px; font-weight: bold;")
    cell.addWidget(c)
    cell.addWidget(v)
    return cell


class CardFront(QFrame):
    """The front of the card as printed: insurer, policy, dates, vehicle, named insureds."""

    def __init__(self, card: IdCardInfo) -> None:
        super().__init__()
        self.setObjectName("IdCardFront")
        self.setFixedSize(CARD_W, CARD_H)
        self.setStyleSheet(
            "QFrame#IdCardFront { background: qlineargradient(x1:0, y1:0, x2:1, y2:1,"
            " stop:0 #1F4E99, stop:1 #0E2747); border-radius: 14px; }"
            "QFrame#IdCardFront QLabel { color: #FFFFFF; background: transparent; }"
        )
        box = QVBoxLayout(self)
        box.setContentsMargins(20, 16, 20, 16)
        box.setSpacing(8)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo-white", None, 30))
        top.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(0)
        brand = QLabel(card.insurer_name)
        brand.setStyleSheet("font-size: 14px; font-weight: bold;")
        kind = QLabel(f"AUTO INSURANCE ID CARD · {card.insurer_code}")
        kind.setStyleSheet("font-size: 9px; letter-spacing: 1px; color: #C9D6EA;")
        names.addWidget(brand)
        names.addWidget(kind)
        top.addLayout(names, 1)
        box.addLayout(top)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(8)
        grid.addLayout(_field("Policy number", card.policy_number, 17), 0, 0)
        grid.addLayout(_field("Effective", wording.day(card.valid_from), 13), 0, 1)
        grid.addLayout(_field("Expires", wording.day(card.valid_to), 13), 0, 2)
        grid.addLayout(_field("Vehicle", card.vehicle.description, 14), 1, 0, 1, 3)
        grid.addLayout(_field("VIN", card.vehicle.vin, 13), 2, 0, 1, 3)
        box.addLayout(grid)
        box.addStretch(1)
        box.addLayout(_field("Named insureds", ", ".join(card.named_insureds), 12))
        self.setAccessibleName(
            f"ID card front: policy {card.policy_number}, {card.vehicle.description}, "
            f"VIN {card.vehicle.vin}, "
            f"effective {wording.day(card.valid_from)} to {wording.day(card.valid_to)}, "
            f"named insureds {', '.join(card.named_insureds)}"
        )


class CardBack(QFrame):
    """The back: the verification QR, how to check the card, and the claims line."""

    def __init__(self, card: IdCardInfo) -> None:
        super().__init__()
        self.setObjectName("IdCardBack")
        self.setFixedSize(CARD_W, CARD_H)
        self.setStyleSheet(
            "QFrame#IdCardBack { background: #FFFFFF; border: 1px solid #DCE3ED; border-radius: 14px; }"
            "QFrame#IdCardBack QLabel { background: transparent; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 14, 18, 14)
        row.setSpacing(14)
        self.qr = QLabel()
        self.qr.setPixmap(qr_pixmap(card.code, CARD_H - 28))
        self.qr.setAccessibleName("Verification QR code")
        row.addWidget(self.qr)
        words = QVBoxLayout()
        words.setSpacing(4)
        title = QLabel("Check this card")
        title.setStyleSheet(f"font-size: 13px; font-weight: bold; color: {theme.BLUE};")
        words.addWidget(title)
        how = QLabel("Scan the code to confirm the card is valid, expired or revoked.")
        how.setWordWrap(True)
        how.setStyleSheet("font-size: 11px;")
        words.addWidget(how)
        words.addSpacing(6)
        accident = QLabel("Report an accident")
        accident.setStyleSheet(f"font-size: 11px; font-weight: bold; color: {theme.BLUE};")
        phone = QLabel(card.claims_phone)
        phone.setStyleSheet("font-size: 14px; font-weight: bold;")
        words.addWidget(accident)
        words.addWidget(phone)
        words.addStretch(1)
        keep = QLabel("Keep this card in the vehicle.")
        keep.setStyleSheet(f"font-size: 10px; color: {theme.MUTED};")
        words.addWidget(keep)
        row.addLayout(words, 1)
        self.setAccessibleName("ID card back: verification QR code and claims phone number")


def local_card_pdf(card: IdCardInfo, layout: str, fetched_at: datetime | None) -> bytes:
    """A PDF drawn on this computer from the kept card data (used offline when the service's own
    PDF was never fetched): the same faces as on screen, at true card size."""
    out = QBuffer()
    out.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(out)
    writer.setResolution(300)
    writer.setTitle(f"ID card {card.policy_number} {card.vehicle.description}")
    writer.setCreator("Portal desktop (offline copy)")
    card_mm = QSizeF(85.6, 53.98)
    if layout == "wallet":
        writer.setPageSize(QPageSize(card_mm, QPageSize.Unit.Millimeter))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    else:
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    dots_per_mm = writer.resolution() / 25.4
    scale = card_mm.width() * dots_per_mm / CARD_W  # widget pixels -> printed card width
    painter = QPainter(writer)
    try:
        faces = [CardFront(card), CardBack(card)]
        if layout == "wallet":
            for i, face in enumerate(faces):
                if i:
                    writer.newPage()
                painter.save()
                painter.scale(scale, scale)
                face.render(painter, QPoint())
                painter.restore()
        else:
            when = time_in(fetched_at, this_computer()) if fetched_at else "earlier"
            painter.setFont(QFont(theme.FONT_FAMILY, 11))
            title = f"ID card {card.policy_number} · {card.vehicle.description}"
            painter.drawText(0, int(6 * dots_per_mm), title)
            painter.drawText(0, int(12 * dots_per_mm), f"Printed offline from the card fetched {when}.")
            for i, face in enumerate(faces):
                painter.save()
                painter.translate(i * (card_mm.width() + 8) * dots_per_mm, 18 * dots_per_mm)
                painter.scale(scale, scale)
                face.render(painter, QPoint())
                painter.restore()
    finally:
        painter.end()
    data = bytes(out.data().data())
    del writer  # the writer refers to the buffer: let it go first
    out.close()
    return data


class IdCardsPage(Page):
    """Threading/async rule: Qt thread; network calls are coroutines on the qasync loop."""

    cardsShown = Signal(bool)  # True when shown from the offline copy
    saved = Signal(str)

    def __init__(self, client: PortalClient, account_id: str, *, data_dir: Path | None = None) -> None:
        super().__init__("ID cards", "Proof of insurance for each insured vehicle.")
        self.client = client
        self.account_id = account_id
        self.store = OfflineCardStore(data_dir, account_id) if data_dir is not None else None
        self.cards: list[IdCardInfo] = []
        self.offline_since: datetime | None = None
        self.messages: dict[str, QLabel] = {}
        self._loading = False
        self.loaded = False
        # Coroutines this page started: cancelled by shutdown() before the client is closed.
        self.tasks = TaskScope()  # this page's calls; shutdown() cancels them

    @property
    def keeps_copies(self) -> bool:
        """Only a policyholder's own app keeps cards on disk: staff desks never hoard customers' papers."""
        user = self.client.user
        return self.store is not None and not (user is not None and user.is_staff)

    @property
    def offline(self) -> bool:
        return self.offline_since is not None

    def show_overview(self, overview: AccountOverview) -> None:
        """Live changes refresh the cards once the page has been opened (then the copy is current)."""
        if self.loaded or self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:
        # Fetched when first shown, not at sign-in: the first listing issues the term's cards,
        # which is the service's work to do when someone asks for them.
        super().showEvent(event)
        if not self.loaded and not self._loading:
            self.refresh()

    def shutdown(self) -> None:
        """Cancel this page's network work (the account view is closing, the client goes next)."""
        self.tasks.cancel()  # answers still in flight are dropped, not drawn on a dying widget

    @qasync.asyncSlot()
    async def refresh(self) -> None:
        if not self.tasks.adopt():
            return
        if self._loading:
            return
        self._loading = True
        try:
            cards = await self.client.id_cards(self.account_id)
        except ServiceUnreachable:
            self._show_saved()
            return
        except PortalError as exc:
            self._render([], error=getattr(exc, "detail", "") or "We could not load your ID cards.")
            return
        finally:
            self._loading = False
        self.offline_since = None
        self.loaded = True
        if self.store is not None and self.keeps_copies:
            self.store.save([c.raw for c in cards])
        self._render(cards)

    def _show_saved(self) -> None:
        saved = self.store.load() if self.store is not None else None
        if saved is None:
            self._render([], error="Portal cannot be reached and no ID cards are saved on this computer yet.")
            return
        self.offline_since = saved.fetched_at
        self._render([IdCardInfo.from_json(c) for c in saved.cards])

    def _render(self, cards: list[IdCardInfo], *, error: str = "") -> None:
        if self.tasks.closed:
            return
        self.cards = cards
        self.messages = {}
        clear_layout(self.content)
        if self.offline_since is not None:
            when = time_in(self.offline_since, this_computer())
            self.content.addWidget(
                Banner(
                    "warning",
                    "You are offline: these are the ID cards saved on this computer",
                    f"Fetched {when}. They were valid then; they refresh when Portal is reachable again.",
                )
            )
        if error:
            self.content.addWidget(EmptyState("idcard", "ID cards are not available", error))
            self.cardsShown.emit(self.offline)
            return
        if not cards:
            self.content.addWidget(
                EmptyState(
                    "idcard",
                    "No ID cards for this account",
                    "ID cards come with auto policies that are in force: one for each insured vehicle.",
                )
            )
            self.cardsShown.emit(self.offline)
            return
        for card in cards:
            self.content.addWidget(self._card(card))
        self.cardsShown.emit(self.offline)

    def _card(self, card: IdCardInfo) -> Card:
        status, tone = CARD_STATUS.get(card.status, (card.status.replace("_", " ").capitalize(), "neutral"))
        panel = Card(
            card.vehicle.description,
            f"Auto policy {card.policy_number} · valid {wording.day(card.valid_from)}"
            f" to {wording.day(card.valid_to)}",
            icon_name="car",
            badge=Badge(status, tone),
        )
        # Front and back side by side when they fit, the back under the front otherwise (at
        # 1024 px the back was cut off at the window's edge).
        faces = ResponsiveColumns([CardFront(card), CardBack(card)], min_column_width=CARD_W + 16)
        faces.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        panel.body.addWidget(faces)
        actions = QHBoxLayout()
        wallet = QPushButton("Save wallet card (PDF)…")
        wallet.setAccessibleName(f"Save the wallet-size card for {card.vehicle.description} as PDF")
        wallet.clicked.connect(lambda _=False, c=card: self.save(c, "wallet"))
        page = QPushButton("Save printable page (PDF)…")
        page.setAccessibleName(f"Save a printable page for {card.vehicle.description} as PDF")
        page.clicked.connect(lambda _=False, c=card: self.save(c, "page"))
        printer = QPushButton("Print…")
        printer.setProperty("kind", "primary")
        printer.setAccessibleName(f"Print the ID card for {card.vehicle.description}")
        printer.clicked.connect(lambda _=False, c=card: self.print_card(c))
        for b in (printer, page, wallet):
            actions.addWidget(b)
        actions.addStretch(1)
        panel.body.addLayout(actions)
        message = label(
            "Show this card to the police or at an accident scene; anyone can check it with the QR code.",
            "muted",
            wrap=True,
        )
        self.messages[card.id] = message
        panel.body.addWidget(message)
        return panel

    # --- files -------------------------------------------------------------------------------

    async def card_pdf(self, card: IdCardInfo, layout: str) -> bytes | None:
        """The PDF for one layout: from the service when online (a recorded download, kept for later),
        else the copy kept on this computer, else one drawn here from the kept card data."""
        document_id = card.wallet_document_id if layout == "wallet" else card.page_document_id
        if not self.offline:
            try:
                content = await self.client.document_content(document_id, download=True)
                if self.store is not None and self.keeps_copies:
                    self.store.save_pdf(document_id, content)
                return content
            except ServiceUnreachable:
                pass
            except ApiError as exc:
                self._say(card, exc.detail or "The card could not be fetched.", error=True)
                return None
        saved = self.store.pdf(document_id) if self.store is not None else None
        if saved is None:
            # Never fetched while online: draw it here from the card data kept on this computer.
            saved = local_card_pdf(card, layout, self.offline_since)
        return saved

    def save(self, card: IdCardInfo, layout: str, path: Path | None = None) -> None:
        """Save the wallet card or the printable page; `path` skips the file dialog.

        Dialogs here are opened with open() and answer through signals, never exec() inside a
        coroutine (a nested event loop re-enters the qasync loop).
        """
        if path is not None:
            self._save_to(card, layout, path)
            return
        suffix = "wallet" if layout == "wallet" else "page"
        name = f"{card.policy_number}-id-card-{card.vehicle.vin[-6:]}-{suffix}.pdf"
        dialog = QFileDialog(self, "Save ID card", str(Path.home() / name), "PDF documents (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda chosen: self._save_to(card, layout, Path(chosen)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @qasync.asyncSlot(object, str, object)
    async def _save_to(self, card: IdCardInfo, layout: str, path: Path) -> None:
        if not self.tasks.adopt():
            return
        content = await self.card_pdf(card, layout)
        if content is None:
            return
        try:
            await save_file(path, content)  # off the GUI thread, complete or not at all
        except OSError as exc:
            self._say(card, f"The file could not be written: {exc.strerror or exc}.", error=True)
            return
        self._say(card, f"Saved to {path}")
        self.saved.emit(str(path))

    def print_card(self, card: IdCardInfo, printer: QPrinter | None = None) -> None:
        """Print the printable page (card front and back at true size, with cut lines)."""
        if printer is not None:
            self._print(card, printer)
            return
        chosen = QPrinter(QPrinter.PrinterMode.HighResolution)
        chosen.setDocName(f"ID card {card.policy_number}")
        dialog = QPrintDialog(chosen, self)
        dialog.accepted.connect(lambda: self._print(card, chosen))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()  # type: ignore[call-arg]  # QDialog.open(); the stubs list only open(receiver, member)

    @qasync.asyncSlot(object, object)
    async def _print(self, card: IdCardInfo, printer: QPrinter) -> None:
        if not self.tasks.adopt():
            return
        content = await self.card_pdf(card, "page")
        if content is None:
            return
        document = QPdfDocument(self)
        buffer = QBuffer(document)
        buffer.setData(QByteArray(content))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        document.load(buffer)
        pages = print_pdf(document, printer)
        document.close()
        self._say(
            card, "Sent to the printer." if pages else "The printer could not be started.", error=not pages
        )

    def _say(self, card: IdCardInfo, text: str, *, error: bool = False) -> None:
        message = self.messages.get(card.id)
        if message is not None:
            message.setText(text)
            message.setProperty("role", "field-error" if error else "muted")
            theme.repolish(message)

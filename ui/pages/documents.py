"""Documents: every paper on the account in a filterable list, an in-app PDF viewer, Save as and Print.

The list is an item model (fast for years of statements); the viewer is QtPdf's QPdfView over the
bytes the service sent. Opening a document is recorded by the service as a view, Save as as a
download: the page asks for the bytes with the matching disposition.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import (
    QAbstractTableModel,
    QBuffer,
    QByteArray,
    QIODevice,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, DocumentInfo, PortalClient, PortalError
from ui import error_wording, wording
from ui.files import save_file
from ui.tasks import TaskScope
from ui.widgets import ComboBox, EmptyState, Page, label

KIND_NAMES = {
    "declarations": "Declarations",
    "policy_wording": "Policy wording",
    "billing_statement": "Billing statement",
    "id_card": "ID card (printable page)",
    "id_card_wallet": "ID card (wallet size)",
    "claim_letter": "Claim letter",
}
# The type filter groups both ID card layouts under one choice.
KIND_FILTERS = [
    ("All types", None),
    ("Declarations", {"declarations"}),
    ("Policy wording", {"policy_wording"}),
    ("Billing statements", {"billing_statement"}),
    ("ID cards", {"id_card", "id_card_wallet"}),
    ("Claim letters", {"claim_letter"}),
]
COLUMNS = ("Document", "Policy", "Issued", "Pages")


def size_text(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


class DocumentsModel(QAbstractTableModel):
    """Rows of DocumentInfo; display text and sort keys are worked out once per load, so sorting
    and painting hundreds of rows never re-format dates. Threading rule: Qt thread only."""

    def __init__(self) -> None:
        super().__init__()
        self.documents: list[DocumentInfo] = []
        self._text: list[tuple[str, str, str, str]] = []
        self._keys: list[tuple[str, str, float, int]] = []
        self._tips: list[str] = []

    def set_documents(self, documents: list[DocumentInfo]) -> None:
        self.beginResetModel()
        self.documents = list(documents)
        days: dict[object, str] = {}
        self._text, self._keys, self._tips = [], [], []
        for d in self.documents:
            local = d.created_at.astimezone().date() if d.created_at else None
            if local not in days:
                days[local] = wording.day(local)
            self._text.append((d.title, d.policy_number or "—", days[local], str(d.page_count)))
            stamp = d.created_at.timestamp() if d.created_at else 0.0
            self._keys.append((d.title.lower(), d.policy_number or "", stamp, d.page_count))
            kind = KIND_NAMES.get(d.kind, d.kind.replace("_", " ").capitalize())
            self._tips.append(f"{d.title}\n{kind} · {d.page_count} pages · {size_text(d.size_bytes)}")
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.documents)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text[row][col]
        if role == Qt.ItemDataRole.UserRole:  # sort keys: dates and numbers as values, not text
            return self._keys[row][col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[row]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole and col == 0:
            return f"{self._text[row][0]}, {self._text[row][1]}"
        return None


class DocumentsFilter(QSortFilterProxyModel):
    """Text, policy and type filters over DocumentsModel."""

    def __init__(self, source: DocumentsModel) -> None:
        super().__init__()
        self.source = source
        self.setSourceModel(source)
        self.setSortRole(Qt.ItemDataRole.UserRole)
        self.text = ""
        self.policy_id: str | None = None
        self.kinds: set[str] | None = None

    def set_filters(self, text: str, policy_id: str | None, kinds: set[str] | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+: invalidateFilter() is deprecated
            self.beginFilterChange()
            self.text, self.policy_id, self.kinds = text.strip().lower(), policy_id, kinds
            self.endFilterChange()
        else:
            self.text, self.policy_id, self.kinds = text.strip().lower(), policy_id, kinds
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        d = self.source.documents[row]
        if self.policy_id and d.policy_id != self.policy_id:
            return False
        if self.kinds is not None and d.kind not in self.kinds:
            return False
        if self.text:
            haystack = (
                f"{d.title} {d.policy_number or ''} {KIND_NAMES.get(d.kind, d.kind)} {d.file_name}".lower()
            )
            return all(word in haystack for word in self.text.split())
        return True


class DocumentViewer(QFrame):
    """The PDF viewer with its toolbar. Threading rule: Qt thread only."""

    saveRequested = Signal()
    printRequested = Signal()
    closeRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setProperty("card", True)
        self.setObjectName("DocumentViewer")
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 14, 16, 14)
        box.setSpacing(10)
        head = QHBoxLayout()
        self.title = label("", name="CardTitle", wrap=True)
        self.meta = label("", "muted", wrap=True)
        head.addWidget(self.title, 1)
        self.save_button = QPushButton("Save as…")
        self.save_button.setAccessibleName("Save this document as a PDF file")
        self.print_button = QPushButton("Print…")
        self.print_button.setAccessibleName("Print this document")
        self.close_button = QPushButton("Close")
        self.close_button.setProperty("kind", "quiet")
        for b in (self.save_button, self.print_button, self.close_button):
            head.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(head)
        box.addWidget(self.meta)
        self.error = label("", "field-error", wrap=True)
        self.error.setVisible(False)
        box.addWidget(self.error)
        self.pdf = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self.pdf)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setAccessibleName("Document pages")
        self.view.setMinimumHeight(420)
        box.addWidget(self.view, 1)
        self.placeholder = EmptyState(
            "documents", "Choose a document", "Select a document in the list to read it here."
        )
        box.addWidget(self.placeholder, 1)
        self._buffer: QBuffer | None = None
        self.document: DocumentInfo | None = None
        self.content = b""
        self.save_button.clicked.connect(self.saveRequested)
        self.print_button.clicked.connect(self.printRequested)
        self.close_button.clicked.connect(self.closeRequested)
        self.clear()

    def clear(self) -> None:
        self.document, self.content = None, b""
        self.pdf.close()
        self.title.setText("No document open")
        self.meta.setText("")
        self.error.setVisible(False)
        self.view.setVisible(False)
        self.placeholder.setVisible(True)
        for b in (self.save_button, self.print_button, self.close_button):
            b.setEnabled(False)
            b.setVisible(False)  # nothing to act on until a document is open

    def loading(self, document: DocumentInfo) -> None:
        self.title.setText(document.title)
        self.meta.setText("Opening…")
        self.error.setVisible(False)

    def show_error(self, document: DocumentInfo, message: str) -> None:
        self.clear()
        self.title.setText(document.title)
        self.error.setText(message)
        self.error.setVisible(True)

    def show_pdf(self, document: DocumentInfo, content: bytes) -> None:
        self.document, self.content = document, content
        self.pdf.close()
        # QPdfDocument reads from the device lazily: keep the buffer alive with the document.
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(content))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.pdf.load(self._buffer)
        self.title.setText(document.title)
        issued = wording.local_time(document.created_at) if document.created_at else "—"
        pages = f"{self.pdf.pageCount()} page" + ("s" if self.pdf.pageCount() != 1 else "")
        self.meta.setText(f"{document.policy_number or ''} · {pages} · issued {issued} · integrity checked")
        self.meta.setToolTip(f"SHA-256 {document.sha256}")
        self.placeholder.setVisible(False)
        self.view.setVisible(True)
        self.error.setVisible(False)
        for b in (self.save_button, self.print_button, self.close_button):
            b.setEnabled(True)
            b.setVisible(True)


def print_pdf(pdf: QPdfDocument, printer: QPrinter) -> int:
    """Paint every page of a loaded PDF onto the printer, scaled to the printable area; returns pages."""
    painter = QPainter()
    if not painter.begin(printer):
        return 0
    try:
        area = printer.pageLayout().paintRectPixels(printer.resolution())
        for page in range(pdf.pageCount()):
            if page:
                printer.newPage()
            size = pdf.pagePointSize(page)
            scale = min(area.width() / size.width(), area.height() / size.height())
            image = pdf.render(page, (size * scale).toSize())
            painter.drawImage(0, 0, image)
        return pdf.pageCount()
    finally:
        painter.end()


class DocumentsPage(Page):
    """Threading/async rule: Qt thread; network calls are coroutines on the qasync loop."""

    documentsShown = Signal(int)  # rows in the model after a load
    documentOpened = Signal(str)  # document id
    saved = Signal(str)  # path

    def __init__(self, client: PortalClient, account_id: str) -> None:
        super().__init__("Documents", "Declarations, ID cards, policy wordings and billing statements.")
        self.client = client
        self.account_id = account_id
        self.overview: AccountOverview | None = None
        self.loaded = False
        self._loading = False
        self.last_load_ms = 0.0
        # Coroutines this page started: cancelled by shutdown() before the client is closed.
        self.tasks = TaskScope()  # this page's calls; shutdown() cancels them

        tools = QHBoxLayout()
        tools.setSpacing(10)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search documents")
        self.search.setAccessibleName("Search documents")
        self.search.setClearButtonEnabled(True)
        self.policy_filter = ComboBox()
        self.policy_filter.setAccessibleName("Filter by policy")
        self.kind_filter = ComboBox()
        self.kind_filter.setAccessibleName("Filter by type")
        for text, kinds in KIND_FILTERS:
            self.kind_filter.addItem(text, kinds)
        self.count = label("", "muted")
        tools.addWidget(self.search, 2)
        tools.addWidget(self.policy_filter, 1)
        tools.addWidget(self.kind_filter, 1)
        tools.addWidget(self.count)
        self.content.addLayout(tools)
        self.status = label("", "field-error", wrap=True)
        self.status.setVisible(False)
        self.content.addWidget(self.status)

        self.model = DocumentsModel()
        self.proxy = DocumentsFilter(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Documents")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths from the font, not ResizeToContents: that measures every row on each load.
        metrics = self.table.fontMetrics()
        for col, sample in ((1, "AUT-100234 "), (2, "30 Sep 2026 "), (3, "Pages ")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, metrics.horizontalAdvance(sample) + 28)
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 16)
        self.empty = EmptyState(
            "documents", "No documents match", "Clear the search or the filters to see every document."
        )
        self.empty.setVisible(False)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.addWidget(self.table, 1)
        left_box.addWidget(self.empty)
        self.viewer = DocumentViewer()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.viewer)
        # The list gets the larger share: its names are what people scan for.
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([640, 420])
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setMinimumHeight(600)
        self.content.addWidget(self.splitter, 1)

        self.search.textChanged.connect(self._apply_filters)
        self.policy_filter.currentIndexChanged.connect(self._apply_filters)
        self.kind_filter.currentIndexChanged.connect(self._apply_filters)
        # Opening records a view: wait until the selection settles (arrowing through the list).
        self._open_timer = QTimer(self)
        self._open_timer.setSingleShot(True)
        self._open_timer.setInterval(250)
        self._open_timer.timeout.connect(self._open_selected)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._open_timer.start())
        self.table.activated.connect(lambda _: self._open_selected())
        self.viewer.saveRequested.connect(lambda: self.save_as())
        self.viewer.printRequested.connect(lambda: self.print_document())
        self.viewer.closeRequested.connect(self._close_viewer)

    # --- data --------------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        """Keep the policy filter current; reload the list if it has been shown before."""
        self.overview = overview
        current = self.policy_filter.currentData()
        self.policy_filter.blockSignals(True)
        self.policy_filter.clear()
        self.policy_filter.addItem("All policies", None)
        for p in overview.policies:
            self.policy_filter.addItem(f"{wording.product_line(p.product_line)} {p.number}", p.id)
        index = self.policy_filter.findData(current)
        self.policy_filter.setCurrentIndex(max(index, 0))
        self.policy_filter.blockSignals(False)
        if self.loaded or self.isVisible():
            self.refresh()

    # Below this page width the viewer goes under the list: side by side, a 1024-pixel window
    # left the list ~380 px and cut every document's name to "Billing ...".
    STACK_BELOW = 980

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        narrow = self.viewport().width() < self.STACK_BELOW
        wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            self.splitter.setMinimumHeight(900 if wanted == Qt.Orientation.Vertical else 600)
            self.splitter.setSizes([420, 480] if wanted == Qt.Orientation.Vertical else [640, 420])

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self.loaded and not self._loading:
            self.refresh()

    def shutdown(self) -> None:
        """Cancel this page's network work (the account view is closing, the client goes next)."""
        self.tasks.cancel()  # answers still in flight are dropped, not drawn on a dying widget

    @qasync.asyncSlot()
    async def refresh(self) -> None:
        """Fetch the account's documents (the service issues any that are due)."""
        if not self.tasks.adopt():
            return
        if self._loading:
            return
        self._loading = True
        try:
            documents = await self.client.documents(self.account_id)
        except PortalError as exc:
            self.status.setText(
                "We could not load your documents. "
                + (
                    "Check your connection and try again."
                    if not isinstance(exc, ApiError)
                    else exc.detail or ""
                )
            )
            self.status.setVisible(True)
            return
        finally:
            self._loading = False
        self.set_documents(documents)

    def set_documents(self, documents: list[DocumentInfo]) -> None:
        if self.tasks.closed:
            return
        started = time.perf_counter()
        self.status.setVisible(False)
        selected = self.viewer.document.id if self.viewer.document else None
        self.model.set_documents(documents)
        self.loaded = True
        self._apply_filters()
        if selected:
            self._select(selected, open_it=False)
        self.last_load_ms = (time.perf_counter() - started) * 1000
        self.documentsShown.emit(len(documents))

    def filter_policy(self, policy_id: str | None) -> None:
        """Show one policy's documents (clears the other filters so nothing is hidden by surprise)."""
        self.search.clear()
        self.kind_filter.setCurrentIndex(0)
        self.policy_filter.setCurrentIndex(max(self.policy_filter.findData(policy_id), 0))
        self._apply_filters()

    def _apply_filters(self) -> None:
        self.proxy.set_filters(
            self.search.text(), self.policy_filter.currentData(), self.kind_filter.currentData()
        )
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total} documents" if shown != total else f"{total} documents")
        nothing = total > 0 and shown == 0
        self.empty.setVisible(nothing)
        self.table.setVisible(not nothing)
        if total == 0 and self.loaded:
            self.empty.setVisible(True)
            self.table.setVisible(False)

    def visible_documents(self) -> list[DocumentInfo]:
        return [
            self.model.documents[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
            for r in range(self.proxy.rowCount())
        ]

    def _select(self, document_id: str, *, open_it: bool = True) -> bool:
        for row in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(row, 0))
            if self.model.documents[source.row()].id == document_id:
                self.table.blockSignals(not open_it)
                self.table.selectRow(row)
                self.table.blockSignals(False)
                return True
        return False

    def open_document(self, document_id: str) -> None:
        """Select a document and show it in the viewer (used by other pages and tests)."""
        if self._select(document_id):
            self._open_timer.stop()
            self._open_selected()

    def _selected(self) -> DocumentInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.documents[self.proxy.mapToSource(rows[0]).row()]

    def _open_selected(self) -> None:
        document = self._selected()
        if document is not None and (self.viewer.document is None or self.viewer.document.id != document.id):
            self._load(document)

    @qasync.asyncSlot()
    async def _load(self, document: DocumentInfo) -> None:
        if not self.tasks.adopt():
            return
        self.viewer.loading(document)
        try:
            content = await self.client.document_content(document.id)
        except ApiError as exc:
            self.viewer.show_error(
                document, error_wording.message(exc.code, exc.detail or "This document cannot be opened.")
            )
            return
        except PortalError:
            self.viewer.show_error(
                document, "We could not reach Portal to open this document. Try again shortly."
            )
            return
        if self.tasks.closed:
            return
        selected = self._selected()
        if selected is None or selected.id == document.id:
            self.viewer.show_pdf(document, content)
            self.documentOpened.emit(document.id)

    def _close_viewer(self) -> None:
        self.table.clearSelection()
        self.viewer.clear()

    # --- save and print ----------------------------------------------------------------------

    def save_as(self, path: Path | None = None) -> None:
        """Save the open document; the service records the download. `path` skips the dialog.

        The file dialog is opened with open() and answers through its signal: a dialog's own
        event loop (exec) inside a running coroutine would re-enter the qasync loop.
        """
        document = self.viewer.document
        if document is None:
            return
        if path is not None:
            self._save_to(path)
            return
        dialog = QFileDialog(
            self, "Save document", str(Path.home() / document.file_name), "PDF documents (*.pdf)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda chosen: self._save_to(Path(chosen)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @qasync.asyncSlot(object)
    async def _save_to(self, path: Path) -> None:
        if not self.tasks.adopt():
            return
        document = self.viewer.document
        if document is None:
            return
        try:
            content = await self.client.document_content(document.id, download=True)
        except ApiError as exc:
            self.viewer.error.setText(
                error_wording.message(exc.code, exc.detail or "The document could not be saved.")
            )
            self.viewer.error.setVisible(True)
            return
        except PortalError:
            self.viewer.error.setText("We could not reach Portal to save this document. Try again shortly.")
            self.viewer.error.setVisible(True)
            return
        try:
            await save_file(path, content)  # off the GUI thread, complete or not at all
        except OSError as exc:
            self.viewer.error.setText(f"The file could not be written: {exc.strerror or exc}.")
            self.viewer.error.setVisible(True)
            return
        self.viewer.meta.setText(f"Saved to {path}")
        self.saved.emit(str(path))

    def print_document(self, printer: QPrinter | None = None) -> int:
        """Print the open document; with no printer given, ask with the system print dialog."""
        if self.viewer.document is None:
            return 0
        if printer is None:
            # Asked with open(): the pages are printed when the dialog is accepted (returns 0 now).
            chosen = QPrinter(QPrinter.PrinterMode.HighResolution)
            chosen.setDocName(self.viewer.document.file_name)
            dialog = QPrintDialog(chosen, self)
            dialog.accepted.connect(lambda: print_pdf(self.viewer.pdf, chosen))
            dialog.finished.connect(dialog.deleteLater)
            dialog.open()  # type: ignore[call-arg]  # QDialog.open(); the stubs list only open(receiver, member)
            return 0
        return print_pdf(self.viewer.pdf, printer)

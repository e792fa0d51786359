"""Claim photo uploads: the manager that runs them, and the widgets that show them.

Several uploads run at once (up to MAX_PARALLEL), each with its own progress bar, Cancel and
Retry. The journal on disk records every state change, so after a crash or quit an unfinished
upload comes back as "interrupted" with a Retry button.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import ApiError, PortalClient, ServiceUnreachable
from ui import claims_wording as words
from ui import theme
from ui.claims_state import CANCELLED, DONE, FAILED, QUEUED, UPLOADING, UploadEntry, UploadJournal
from ui.widgets import label

MAX_PARALLEL = 3
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.heic *.heif *.webp *.JPG *.JPEG *.PNG *.HEIC *.HEIF *.WEBP)"


class UploadManager(QObject):
    """Runs and remembers photo uploads for one account.

    Threading/async rule: lives on the Qt thread; each upload is a task on the qasync loop and
    file reads happen in worker threads inside PortalClient. Call `shutdown()` before the client
    closes: running uploads are cancelled but stay "uploading" in the journal, so the next start
    offers Retry.
    """

    changed = Signal(str)  # an entry's key: its state or progress moved
    listChanged = Signal()  # entries were added or removed
    uploaded = Signal(str)  # claim id that gained a photo

    def __init__(self, client: PortalClient, journal: UploadJournal, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.journal = journal
        self.entries: dict[str, UploadEntry] = {e.key: e for e in journal.load()}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False

    # --- queries -----------------------------------------------------------------------------

    def for_claim(self, claim_id: str) -> list[UploadEntry]:
        """This claim's uploads, including the ones finished in this session (shown as done)."""
        return [e for e in self.entries.values() if e.claim_id == claim_id]

    def running(self) -> int:
        return len(self._tasks)

    def all_finished(self, keys: list[str]) -> bool:
        return all(self.entries[k].state == DONE for k in keys if k in self.entries)

    # --- commands ----------------------------------------------------------------------------

    def add(self, claim_id: str, claim_number: str, paths: list[Path]) -> list[UploadEntry]:
        added = []
        for path in paths:
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            entry = UploadEntry.new(claim_id, claim_number, path, size)
            self.entries[entry.key] = entry
            added.append(entry)
        self._save()
        self.listChanged.emit()
        self._pump()
        return added

    def cancel(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None:
            return
        if entry.state not in (QUEUED, UPLOADING):
            return
        # Popped here, not in the task: a task cancelled before it first ran never runs its
        # except clause, and its slot must free up for the next photo either way.
        task = self._tasks.pop(key, None)
        entry.state, entry.error, entry.sent = CANCELLED, "", 0
        self._save()
        self.changed.emit(key)
        if task is not None:
            task.cancel()
        self._pump()

    def retry(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None or entry.state not in (FAILED, CANCELLED):
            return
        entry.state, entry.error, entry.detail, entry.sent = QUEUED, "", "", 0
        self._save()
        self.changed.emit(key)
        self._pump()

    def remove(self, key: str) -> None:
        self.cancel(key)
        if self.entries.pop(key, None) is not None:
            self._save()
            self.listChanged.emit()

    def shutdown(self) -> None:
        self._closing = True
        for task in list(self._tasks.values()):
            task.cancel()

    # --- running -----------------------------------------------------------------------------

    def _save(self) -> None:
        # Finished uploads are on the service; the journal only needs the rest.
        self.journal.save([e for e in self.entries.values() if e.state != DONE])

    def _pump(self) -> None:
        if self._closing:
            return
        for entry in list(self.entries.values()):
            if len(self._tasks) >= MAX_PARALLEL:
                break
            if entry.state == QUEUED and entry.key not in self._tasks:
                entry.state = UPLOADING
                self._tasks[entry.key] = asyncio.ensure_future(self._run(entry))
        self._save()

    def _progress(self, key: str, sent: int, total: int) -> None:
        entry = self.entries.get(key)
        if entry is not None and entry.state == UPLOADING:
            entry.sent = sent
            entry.size = total or entry.size
            self.changed.emit(key)

    async def _run(self, entry: UploadEntry) -> None:
        self.changed.emit(entry.key)
        try:
            photo = await self.client.upload_claim_photo(
                entry.claim_id,
                Path(entry.path),
                filename=entry.name,
                on_progress=lambda sent, total: self._progress(entry.key, sent, total),
            )
        except asyncio.CancelledError:
            if entry.state == CANCELLED:  # the person pressed Cancel; cancel() did the rest
                return
            raise  # shutting down: the journal still says "uploading", so it is retried later
        except FileNotFoundError:
            entry.state, entry.error = FAILED, "missing"
        except ApiError as exc:
            entry.state, entry.error, entry.detail = FAILED, exc.code, exc.detail
        except ServiceUnreachable:
            entry.state, entry.error = FAILED, "unreachable"
        except OSError:
            entry.state, entry.error = FAILED, "missing"
        else:
            entry.state, entry.photo_id, entry.sent = DONE, photo.id, entry.size
            self.uploaded.emit(entry.claim_id)
        self._tasks.pop(entry.key, None)
        self._save()
        self.changed.emit(entry.key)
        self._pump()


# --- thumbnails ------------------------------------------------------------------------------


def _scaled_image(source: Path | bytes, edge: int) -> QImage:
    """Decode at thumbnail size (JPEG decodes at a reduced scale), orientation applied."""
    reader = QImageReader()
    buffer = None
    if isinstance(source, Path):
        reader.setFileName(str(source))
    else:
        from PySide6.QtCore import QBuffer, QByteArray

        buffer = QBuffer()
        buffer.setData(QByteArray(source))
        buffer.open(QBuffer.OpenModeFlag.ReadOnly)
        reader.setDevice(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        reader.setScaledSize(size.scaled(QSize(edge * 2, edge * 2), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if buffer is not None:
        buffer.close()
    return image


async def thumbnail(source: Path | bytes, edge: int) -> QPixmap | None:
    """A pixmap for a local file or downloaded bytes, decoded in a worker thread."""
    try:
        image = await asyncio.to_thread(_scaled_image, source, edge)
    except OSError:
        return None
    if image.isNull():
        return None  # e.g. HEIC, which Qt cannot read without a plugin: the caller shows an icon
    pixmap = QPixmap.fromImage(image).scaled(
        edge * 2,
        edge * 2,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    pixmap.setDevicePixelRatio(2.0)
    return pixmap


class Thumb(QLabel):
    """A square photo tile with a placeholder icon until the picture is decoded."""

    def __init__(self, edge: int) -> None:
        super().__init__()
        self.edge = edge
        self.setFixedSize(edge, edge)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #EAF1FB; border-radius: 8px;")
        self.setPixmap(theme.pixmap("claims", "#8A9BB4", max(16, edge // 3)))
        self._task: asyncio.Task[None] | None = None

    def load(self, source: Path | bytes) -> None:
        self._task = asyncio.ensure_future(self._load(source))

    async def _load(self, source: Path | bytes) -> None:
        pixmap = await thumbnail(source, self.edge)
        if pixmap is not None:
            with contextlib.suppress(RuntimeError):  # the tile was deleted meanwhile
                self.setPixmap(pixmap)


# --- widgets ---------------------------------------------------------------------------------


class UploadRow(QFrame):
    """One photo: thumbnail, name, state, its own progress bar, and Cancel / Retry / Remove."""

    def __init__(self, manager: UploadManager, entry: UploadEntry) -> None:
        super().__init__()
        self.manager = manager
        self.key = entry.key
        self.setObjectName("ListRow")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 10, 0, 10)
        row.setSpacing(12)
        self.thumb = Thumb(48)
        self.thumb.load(Path(entry.path))
        row.addWidget(self.thumb)
        middle = QVBoxLayout()
        middle.setSpacing(4)
        self.name = label(entry.name, "value")
        self.status = label("", "muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName(f"Upload progress for {entry.name}")
        middle.addWidget(self.name)
        middle.addWidget(self.progress)
        middle.addWidget(self.status)
        row.addLayout(middle, 1)
        self.cancel_button = self._button("Cancel", lambda: manager.cancel(self.key))
        self.retry_button = self._button("Retry", lambda: manager.retry(self.key))
        self.remove_button = self._button("Remove", lambda: manager.remove(self.key))
        for b in (self.cancel_button, self.retry_button, self.remove_button):
            row.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        manager.changed.connect(self._on_changed)
        self.refresh()

    def _button(self, text: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setProperty("kind", "quiet")
        button.setAccessibleName(f"{text} {self.name.text()}")
        button.clicked.connect(slot)
        return button

    def _on_changed(self, key: str) -> None:
        if key == self.key:
            self.refresh()

    def refresh(self) -> None:
        entry = self.manager.entries.get(self.key)
        if entry is None:
            return
        size = words.file_size(entry.size)
        fraction = entry.sent / entry.size if entry.size else 0.0
        self.progress.setValue(1000 if entry.state == DONE else int(fraction * 1000))
        self.progress.setVisible(entry.state in (UPLOADING, DONE, QUEUED))
        if entry.state == QUEUED:
            text = f"{size} · waiting to upload"
        elif entry.state == UPLOADING:
            text = f"{words.file_size(entry.sent)} of {size} · uploading"
        elif entry.state == DONE:
            text = f"{size} · uploaded"
        elif entry.state == CANCELLED:
            text = f"{size} · cancelled"
        else:
            text = words.photo_error(entry.error, entry.detail)
        self.status.setText(text)
        self.status.setProperty("role", "field-error" if entry.state == FAILED else "muted")
        theme.repolish(self.status)
        self.cancel_button.setVisible(entry.state in (QUEUED, UPLOADING))
        self.retry_button.setVisible(entry.state in (FAILED, CANCELLED) and entry.error != "missing")
        self.remove_button.setVisible(entry.state in (FAILED, CANCELLED))


class DropArea(QFrame):
    """A dashed target that takes photos by drag and drop or through the file dialog."""

    filesChosen = Signal(list)  # list[Path]

    def __init__(self, text: str = "Drag photos here, or add them from a folder") -> None:
        super().__init__()
        self.setObjectName("PhotoDropArea")
        self.setAcceptDrops(True)
        self._set_hover(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 12, 16, 12)
        row.setSpacing(12)
        icon = QLabel()
        icon.setPixmap(theme.pixmap("claims", theme.BLUE, 26))
        row.addWidget(icon)
        words_box = QVBoxLayout()
        words_box.setSpacing(2)
        words_box.addWidget(label(text, "value"))
        words_box.addWidget(label("JPEG, PNG, HEIC or WebP, up to 32 MB each", "muted"))
        row.addLayout(words_box, 1)
        self.add_button = QPushButton("Add photos…")
        self.add_button.setAccessibleName("Add photos")
        self.add_button.clicked.connect(self.choose)
        row.addWidget(self.add_button)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def _set_hover(self, on: bool) -> None:
        color = "#2F6FD0" if on else "#B9C6D8"
        background = "#EEF4FC" if on else "#F8FAFD"
        self.setStyleSheet(
            f"QFrame#PhotoDropArea {{ border: 2px dashed {color}; border-radius: 10px;"
            f" background: {background}; }}"
            "QFrame#PhotoDropArea QLabel { background: transparent; border: none; }"
        )

    def choose(self) -> None:
        # open(), not the static getOpenFileNames (its own event loop would re-enter qasync's).
        dialog = QFileDialog(self, "Add photos", "", PHOTO_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda names: self.filesChosen.emit([Path(n) for n in names]))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            self._set_hover(True)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:
        self._set_hover(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hover(False)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        files = [p for p in paths if p.is_file()]
        if files:
            self.filesChosen.emit(files)
            event.acceptProposedAction()


class PhotoTile(QWidget):
    """An uploaded photo: its display rendition and its name."""

    def __init__(self, name: str, caption: str, edge: int = 120) -> None:
        super().__init__()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        self.thumb = Thumb(edge)
        box.addWidget(self.thumb)
        title = label(_elide(name, 18), "value")
        title.setToolTip(name)
        box.addWidget(title)
        box.addWidget(label(caption, "muted"))
        self.setFixedWidth(edge)
        self.setAccessibleName(f"Photo {name}")


def _elide(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"

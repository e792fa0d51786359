"""The claim photo store: streaming receipt, content checks, and content-addressed blobs.

Photos are kept in the service's blob store (services/blobs: the data dir by default, an S3
bucket shared by every instance in a deployment), in two namespaces:
    claim-photos/originals    the bytes exactly as uploaded, keyed by their SHA-256: the evidence
                              the audit trail hashes
    claim-photos/renditions   JPEG display renditions (EXIF orientation applied, metadata
                              stripped), keyed by their own SHA-256 and linked from the original's
Uploads are received into `<data dir>/claim-photos/tmp/` (removed on any refusal or disconnect)
and handed to the store from there: a rename for the local store, a streamed multipart upload
for S3. Every read is checked against its SHA-256 first (BlobCorrupted otherwise).

Threading rule: `receive` is a coroutine for the server's event loop (its hashing and writes hop
to worker threads); `inspect`, `commit`, `ensure_display`, `open_*` and `discard` block and run in
worker threads. Full decodes are serialised by a semaphore and the display renditions are made by
one background worker, so several large uploads at once cost the memory of one decode at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import secrets
import struct
import threading
import unicodedata
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile

from services.blobs import BlobCorrupted, BlobReader, BlobStore, LocalBlobStore
from services.errors import DomainError, Invalid

# Content types by the format Pillow detects from the bytes (never from the file name).
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}
DISPLAY_EDGE = 1600
DRAFT_EDGE = 1024
DISPLAY_QUALITY = 85
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
log = logging.getLogger(__name__)
ORIGINALS = "claim-photos/originals"
RENDITIONS = "claim-photos/renditions"

_heif_registered = False
_heif_lock = threading.Lock()


def _register_heif() -> None:
    # pillow-heif adds HEIC/HEIF to Pillow; done on first use, not at import time.
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _heif_registered = True


class PhotoRefused(DomainError):
    """A photo we will not store; `status` says why (413 size, 415 type, 422 content)."""

    title = "Photo refused"


def check_filename(name: str) -> str:
    """Refuse (never rewrite) names with path separators or control characters.

    Refusing keeps what we store identical to what the customer chose; a name that needs
    sanitising is a client bug or an attack, and the customer can simply rename the file.
    """
    if not name or len(name) > 255 or name.strip() in {"", ".", ".."}:
        raise Invalid("claim.photo_filename_invalid", "Give the photo a file name of 1 to 255 characters.")
    if (
        "/" in name
        or "\\" in name
        or any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name)
    ):
        raise Invalid(
            "claim.photo_filename_invalid",
            "The file name contains folder separators or control characters. Rename the photo and try again.",
        )
    return name


@dataclass(frozen=True)
class Received:
    tmp_path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Inspected:
    format: str
    content_type: str
    width: int
    height: int
    captured_at: str | None


# Bytes handed to a worker thread at a time while receiving: large enough that the hop costs
# nothing, small enough that four uploads at once hold only a few MB between them.
WRITE_BATCH = 1 << 20
# How long a background rendition waits for uploads in flight to finish before it runs anyway.
RENDER_DEFER_SECONDS = 10.0
TAIL_BLOCK = 1 << 16


class PhotoStore:
    """Receives, checks and keeps claim photos under `root`. Safe to share across threads.

    The upload path reads every byte (hash, size limit), parses the header with Pillow (format,
    pixel count: bombs stop here) and checks the file is whole (JPEG end marker after the scan,
    PNG chunk CRCs through IEND; WebP and HEIF are decoded in full). The display rendition is a
    derived picture, made by one background worker right after the upload (or on first request),
    so a 25 MB photo is not decoded while the customer waits and memory stays bounded.
    """

    def __init__(
        self, root: Path, blobs: BlobStore, *, max_bytes: int, max_pixels: int, decoders: int = 1
    ) -> None:
        self.root = Path(root)  # local working folder: uploads being received, renditions being made
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._decode = threading.BoundedSemaphore(decoders)
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claim-photo-display")
        self._uploads = 0  # uploads in flight in this process; renditions wait for them
        self._idle = threading.Condition()
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        _adopt_legacy_renditions(self.root / "display", blobs)

    # --- receiving ---------------------------------------------------------------------------

    def too_large(self) -> PhotoRefused:
        mb = self.max_bytes // 1_000_000
        return PhotoRefused(
            "claim.photo_too_large",
            f"Each photo can be at most {mb} MB.",
            status=413,
            max_bytes=self.max_bytes,
        )

    async def receive(self, chunks: AsyncIterator[bytes]) -> Received:
        """Write the request body to a temp file while hashing, refusing it once it is too large."""
        tmp = self.root / "tmp" / f"up-{secrets.token_hex(12)}"
        digest = hashlib.sha256()
        size = 0
        batch = bytearray()

        def flush(fh: BinaryIO, data: bytes) -> None:
            # hashlib and file writes release the GIL: this runs beside the event loop.
            digest.update(data)
            fh.write(data)

        # One batch is hashed and written in a worker thread while the next is received.
        pending: asyncio.Future[None] | None = None
        try:
            with tmp.open("wb") as fh:
                try:
                    async for chunk in chunks:
                        if not chunk:
                            continue
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise self.too_large()
                        batch += chunk
                        if len(batch) >= WRITE_BATCH:
                            data, batch = bytes(batch), bytearray()
                            if pending is not None:
                                await pending
                            pending = asyncio.ensure_future(asyncio.to_thread(flush, fh, data))
                    if pending is not None:
                        await pending
                    if batch:
                        await asyncio.to_thread(flush, fh, bytes(batch))
                finally:
                    if pending is not None and not pending.done():
                        # Refused or cut off: let the write in flight finish before the file goes.
                        with contextlib.suppress(BaseException):
                            await asyncio.shield(pending)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if size == 0:
            tmp.unlink(missing_ok=True)
            raise PhotoRefused("claim.photo_empty", "The photo file is empty.", status=422)
        return Received(tmp, size, digest.hexdigest())

    # --- checking ----------------------------------------------------------------------------

    def inspect(self, received: Received) -> Inspected:
        """Check the bytes are a whole JPEG, PNG, WebP or HEIC/HEIF within the pixel limit."""
        _register_heif()
        try:
            return self._inspect(received.tmp_path)
        except PhotoRefused:
            raise
        except Image.DecompressionBombError as exc:
            raise self._too_many_pixels() from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise _corrupt() from exc

    def _too_many_pixels(self) -> PhotoRefused:
        return PhotoRefused(
            "claim.photo_too_many_pixels",
            f"The photo has more than {self.max_pixels // 1_000_000} million pixels.",
            status=422,
            max_pixels=self.max_pixels,
        )

    def _open(self, path: Path | BinaryIO) -> ImageFile.ImageFile:
        if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global someone could flip; we need it off
            raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                img = Image.open(path, formats=list(ACCEPTED_FORMATS))
            except Image.UnidentifiedImageError as exc:
                raise _not_allowed() from exc
            except Image.DecompressionBombWarning as exc:
                raise self._too_many_pixels() from exc
        if (img.format or "") not in ACCEPTED_FORMATS:
            img.close()
            raise _not_allowed()
        width, height = img.size
        # The header tells the size before any pixel is decoded: bombs stop here.
        if width <= 0 or height <= 0 or width * height > self.max_pixels:
            img.close()
            raise self._too_many_pixels()
        return img

    def _inspect(self, path: Path) -> Inspected:
        with self._open(path) as img:
            fmt = img.format or ""
            width, height = img.size
            captured = _capture_time(img)
            if fmt == "JPEG":
                scan_start = img.tile[0][2] if img.tile else 0
                if not _has_end_marker(path, scan_start):
                    raise _corrupt()
            elif fmt == "PNG":
                with self._open(path) as check:
                    check.verify()  # every chunk's CRC, through IEND, without decoding pixels
            else:
                with self._decode, warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    img.load()  # WebP and HEIF have no cheap whole-file check: decode them
        return Inspected(fmt, ACCEPTED_FORMATS[fmt], width, height, captured)

    # --- the display rendition ---------------------------------------------------------------

    @contextlib.contextmanager
    def uploading(self) -> Iterator[None]:
        """Mark an upload in flight (non-blocking; safe on the event loop)."""
        with self._idle:
            self._uploads += 1
        try:
            yield
        finally:
            with self._idle:
                self._uploads -= 1
                self._idle.notify_all()

    def render_later(self, sha256: str) -> None:
        """Queue the display rendition of a kept original for the background worker."""
        future = self._renderer.submit(self._render_when_idle, sha256)
        future.add_done_callback(_log_failure)

    def _render_when_idle(self, sha256: str) -> str:
        # A rendition is a second's decode: customers' uploads in flight get the CPU first (a
        # rendition asked for by a reader is made at once by `open_display`, not here).
        with self._idle:
            self._idle.wait_for(lambda: self._uploads == 0, timeout=RENDER_DEFER_SECONDS)
        return self.ensure_display(sha256)

    def ensure_display(self, sha256: str) -> str:
        """The SHA-256 of this original's display rendition, making it first if needed (blocking).

        Raises BlobCorrupted when the original fails its hash check (nothing is made from it)."""
        existing = self._rendition_of(sha256)
        if existing is not None:
            return existing
        _register_heif()
        with self._decode:
            existing = self._rendition_of(sha256)
            if existing is not None:
                return existing
            tmp = self.root / "tmp" / f"disp-{secrets.token_hex(12)}"
            try:
                with self.blobs.open(ORIGINALS, sha256) as original, self._open(original.file) as img:
                    orientation = img.getexif().get(_ORIENTATION, 1)
                    if img.format == "JPEG":
                        # Decode at a reduced DCT scale (1/2, 1/4 or 1/8) that still leaves at
                        # least DRAFT_EDGE pixels on the short side: a fraction of the memory.
                        img.draft("RGB", (DRAFT_EDGE, DRAFT_EDGE))
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", Image.DecompressionBombWarning)
                        img.load()
                    display = img if img.mode in ("RGB", "L") else img.convert("RGB")
                    display.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE))
                    # Orientation on the small picture: the same result for a fraction of memory.
                    method = _TRANSPOSE.get(orientation)
                    if method is not None:
                        display = display.transpose(method)
                    display.save(tmp, "JPEG", quality=DISPLAY_QUALITY)
                stored = self.blobs.put_file(RENDITIONS, tmp, move=True)
                self.blobs.link(RENDITIONS, sha256, stored.sha256)
            except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
                raise PhotoRefused(
                    "claim.photo_unreadable", "This photo could not be shown.", status=422
                ) from exc
            finally:
                tmp.unlink(missing_ok=True)
        return stored.sha256

    def _rendition_of(self, sha256: str) -> str | None:
        linked = self.blobs.resolve(RENDITIONS, sha256)
        return linked if linked is not None and self.blobs.exists(RENDITIONS, linked) else None

    def open_original(self, sha256: str) -> BlobReader:
        """The original bytes, hash-checked (BlobMissing / BlobCorrupted otherwise)."""
        return self.blobs.open(ORIGINALS, sha256)

    def open_display(self, sha256: str) -> BlobReader:
        """The display rendition, made now if the background worker has not made it yet.

        A rendition that fails its own hash check is derived data: it is made again from the
        (checked) original rather than refused; a bad original raises BlobCorrupted."""
        rendition = self.ensure_display(sha256)
        try:
            return self.blobs.open(RENDITIONS, rendition)
        except BlobCorrupted:
            log.warning(
                "display rendition %s of %s failed its hash check; making it again", rendition, sha256
            )
            self.blobs.delete(RENDITIONS, rendition)
            return self.blobs.open(RENDITIONS, self.ensure_display(sha256))

    def close(self) -> None:
        self._renderer.shutdown(wait=False, cancel_futures=True)

    # --- keeping -----------------------------------------------------------------------------

    def commit(self, received: Received) -> list[str]:
        """Keep the original in the blob store; returns the keys this call created (for rollback)."""
        stored = self.blobs.put_file(ORIGINALS, received.tmp_path, sha256=received.sha256, move=True)
        return [stored.sha256] if stored.created else []

    def discard(self, *paths: Path) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def forget(self, sha256: str) -> None:
        """Remove an original (and its rendition) that no photo refers to."""
        rendition = self.blobs.resolve(RENDITIONS, sha256)
        self.blobs.delete(ORIGINALS, sha256)
        if rendition is not None:
            self.blobs.delete(RENDITIONS, rendition)


def _adopt_legacy_renditions(folder: Path, blobs: BlobStore) -> None:
    """Earlier versions kept renditions as `display/ab/<original sha>` in the data dir; move them
    into the blob store under their own hash, linked from the original's (once, at start)."""
    if not folder.is_dir() or not isinstance(blobs, LocalBlobStore):
        return
    for path in sorted(folder.glob("??/*")):
        if path.is_file() and re.fullmatch(r"[0-9a-f]{64}", path.name):
            stored = blobs.put_file(RENDITIONS, path, move=True)
            blobs.link(RENDITIONS, path.name, stored.sha256)
    with contextlib.suppress(OSError):
        for shard in folder.iterdir():
            shard.rmdir()
        folder.rmdir()


def _not_allowed() -> PhotoRefused:
    return PhotoRefused(
        "claim.photo_type_not_allowed",
        "Only photos in JPEG, PNG, HEIC/HEIF or WebP format can be added.",
        status=415,
    )


def _corrupt() -> PhotoRefused:
    return PhotoRefused(
        "claim.photo_corrupt",
        "The photo could not be read: it may be damaged or only partly copied.",
        status=422,
    )


def _has_end_marker(path: Path, scan_start: int) -> bool:
    """A whole JPEG has its end-of-image marker after the scan data (trailers may follow it,
    as in motion photos, so search back from the end rather than only at the last bytes)."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        position = end
        carry = b""
        while position > scan_start:
            start = max(scan_start, position - TAIL_BLOCK)
            fh.seek(start)
            block = fh.read(position - start) + carry
            if block.find(b"\xff\xd9") >= 0:
                return True
            carry = block[:1]
            position = start
    return False


def _log_failure(future: Future[str]) -> None:
    exc = future.exception() if not future.cancelled() else None
    if exc is not None and not isinstance(exc, PhotoRefused):
        log.error("display rendition failed", exc_info=exc)


def _capture_time(img: Image.Image) -> str | None:
    """EXIF DateTimeOriginal (or DateTime) as ISO text, with the offset when recorded."""
    try:
        exif = img.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        offset = sub.get(_OFFSET_TIME_ORIGINAL)
    except Exception:  # unreadable metadata is not a reason to refuse the photo
        return None
    if not isinstance(raw, str):
        return None
    match = _EXIF_TIME.match(raw.strip().rstrip("\x00"))
    if not match:
        return None
    y, mo, d, h, mi, s = match.groups()
    text = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    if isinstance(offset, str) and _OFFSET.match(offset.strip().rstrip("\x00")):
        text += offset.strip().rstrip("\x00")
    return text

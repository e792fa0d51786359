"""The claim photo store: streaming receipt, content checks, and content-addressed files.

Layout under the service's data dir (`claim-photos/`):
    tmp/                    uploads being received (removed on any refusal or disconnect)
    originals/ab/<sha256>   the bytes exactly as uploaded: the evidence the audit trail hashes
    display/ab/<sha256>     a JPEG rendition, EXIF orientation applied, metadata stripped

Threading rule: `receive` is a coroutine for the server's event loop; `inspect`, `commit`,
`discard` and `path_of` are blocking and run in worker threads. Decoding is serialised by a
semaphore so several large uploads at once cost the memory of one decode, not of all of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
import unicodedata
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps

from services.errors import DomainError, Invalid

# Content types by the format Pillow detects from the bytes (never from the file name).
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}
DISPLAY_EDGE = 1600
DISPLAY_QUALITY = 85
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")

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
    display_tmp: Path
    display_sha256: str


class PhotoStore:
    """Receives, checks and keeps claim photos under `root`. Safe to share across threads."""

    def __init__(self, root: Path, *, max_bytes: int, max_pixels: int, decoders: int = 1) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._decode = threading.BoundedSemaphore(decoders)
        for sub in ("tmp", "originals", "display"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

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
        try:
            with tmp.open("wb") as fh:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self.too_large()
                    digest.update(chunk)
                    # Page-cache writes of one network chunk: short enough for the event loop.
                    fh.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if size == 0:
            tmp.unlink(missing_ok=True)
            raise PhotoRefused("claim.photo_empty", "The photo file is empty.", status=422)
        return Received(tmp, size, digest.hexdigest())

    # --- checking ----------------------------------------------------------------------------

    def inspect(self, received: Received) -> Inspected:
        """Check the bytes are a complete JPEG, PNG, WebP or HEIC/HEIF within the pixel limit,
        then write the display rendition. Raises PhotoRefused; removes its own temp files."""
        _register_heif()
        with self._decode:
            try:
                return self._inspect(received)
            except PhotoRefused:
                raise
            except Image.DecompressionBombError as exc:
                raise self._too_many_pixels() from exc
            except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError) as exc:
                raise PhotoRefused(
                    "claim.photo_corrupt",
                    "The photo could not be read: it may be damaged or only partly copied.",
                    status=422,
                ) from exc

    def _too_many_pixels(self) -> PhotoRefused:
        return PhotoRefused(
            "claim.photo_too_many_pixels",
            f"The photo has more than {self.max_pixels // 1_000_000} million pixels.",
            status=422,
            max_pixels=self.max_pixels,
        )

    def _inspect(self, received: Received) -> Inspected:
        if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global someone could flip; we need it off
            raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                img = Image.open(received.tmp_path, formats=list(ACCEPTED_FORMATS))
            except Image.UnidentifiedImageError as exc:
                raise PhotoRefused(
                    "claim.photo_type_not_allowed",
                    "Only photos in JPEG, PNG, HEIC/HEIF or WebP format can be added.",
                    status=415,
                ) from exc
            except Image.DecompressionBombWarning as exc:
                raise self._too_many_pixels() from exc
        with img:
            fmt = img.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise PhotoRefused(
                    "claim.photo_type_not_allowed",
                    "Only photos in JPEG, PNG, HEIC/HEIF or WebP format can be added.",
                    status=415,
                )
            width, height = img.size
            # The header tells the size before any pixel is decoded: bombs stop here.
            if width <= 0 or height <= 0 or width * height > self.max_pixels:
                raise self._too_many_pixels()
            captured = _capture_time(img)
            if fmt == "JPEG":
                # Decode at a reduced DCT scale: every byte is still read (truncation is still
                # caught) but memory is a fraction of the full image.
                img.draft("RGB", (DISPLAY_EDGE, DISPLAY_EDGE))
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            display = ImageOps.exif_transpose(img)
            if display.mode not in ("RGB", "L"):
                display = (
                    display.convert("RGBA").convert("RGB") if "A" in display.mode else display.convert("RGB")
                )
            display.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE))
            display_tmp = self.root / "tmp" / f"disp-{secrets.token_hex(12)}"
            try:
                display.save(display_tmp, "JPEG", quality=DISPLAY_QUALITY)
                display_sha = _file_sha256(display_tmp)
            except BaseException:
                display_tmp.unlink(missing_ok=True)
                raise
        return Inspected(fmt, ACCEPTED_FORMATS[fmt], width, height, captured, display_tmp, display_sha)

    # --- keeping -----------------------------------------------------------------------------

    def path_of(self, kind: str, sha256: str) -> Path:
        if kind not in ("originals", "display") or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("bad photo reference")
        return self.root / kind / sha256[:2] / sha256

    def commit(self, received: Received, inspected: Inspected) -> list[Path]:
        """Move both files into place; returns the paths this call created (for rollback)."""
        created: list[Path] = []
        for kind, tmp, sha in (
            ("originals", received.tmp_path, received.sha256),
            ("display", inspected.display_tmp, inspected.display_sha256),
        ):
            final = self.path_of(kind, sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink(missing_ok=True)  # the same bytes are already kept
            else:
                os.replace(tmp, final)
                created.append(final)
        return created

    def discard(self, *paths: Path) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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

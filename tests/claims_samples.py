"""Photo samples for the claims tests: real encoded images, and the bad kinds we must refuse."""

from __future__ import annotations

import io
import os
import struct
import zlib

from PIL import Image


def _noise(width: int, height: int) -> Image.Image:
    # Random pixels: every byte of the encoded file matters, so truncation is detectable.
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def jpeg(
    width: int = 640,
    height: int = 480,
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    quality: int = 90,
) -> bytes:
    img = _noise(width, height)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if taken:
        sub = exif.get_ifd(0x8769)
        sub[36867] = taken
        if offset:
            sub[36881] = offset
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def encoded(fmt: str, width: int = 320, height: int = 240) -> bytes:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    out = io.BytesIO()
    _noise(width, height).save(out, fmt)
    return out.getvalue()


def windows_executable() -> bytes:
    """The start of a PE file: what a renamed .exe looks like."""
    header = (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"
    )
    return (
        header
        + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21This program cannot be run in DOS mode."
        + b"\x00" * 4000
    )


def truncated_jpeg() -> bytes:
    data = jpeg(800, 600)
    return data[: len(data) // 2]


def huge_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small file whose header claims width x height pixels: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # A few rows of zeros; the rest would inflate to gigabytes if anyone decoded it.
    idat = zlib.compress(b"\x00" * (1 + width * 3) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")

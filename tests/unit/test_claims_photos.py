"""The photo store on its own: content checks, renditions, EXIF, filenames, no leftovers."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from services.blobs import LocalBlobStore
from services.claims.photos import PhotoRefused, PhotoStore, check_filename
from services.errors import Invalid
from tests import claims_samples as samples


def _store(tmp_path: Path, **limits: int) -> PhotoStore:
    return PhotoStore(
        tmp_path / "claim-photos",
        LocalBlobStore(tmp_path),
        max_bytes=limits.get("max_bytes", 32_000_000),
        max_pixels=limits.get("max_pixels", 60_000_000),
    )


async def _chunks(data: bytes, size: int = 65_536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _keep(store: PhotoStore, data: bytes):  # type: ignore[no-untyped-def]
    received = asyncio.run(store.receive(_chunks(data)))
    inspected = store.inspect(received)
    store.commit(received)
    store.ensure_display(received.sha256)
    return received, inspected


def _files(store: PhotoStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and p.parent.name != "links")


def _display(store: PhotoStore, sha256: str) -> Image.Image:
    return Image.open(io.BytesIO(store.open_display(sha256).read()))


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("HEIF", "image/heif")],
)
def test_each_accepted_type_is_kept_as_original_and_display(
    tmp_path: Path, fmt: str, content_type: str
) -> None:
    store = _store(tmp_path)
    data = samples.encoded(fmt)
    received, inspected = _keep(store, data)
    assert inspected.content_type == content_type
    assert (inspected.width, inspected.height) == (320, 240)
    assert store.open_original(received.sha256).read() == data
    assert received.sha256 == hashlib.sha256(data).hexdigest()
    with _display(store, received.sha256) as shown:
        assert shown.format == "JPEG"
    assert not list((store.root / "tmp").iterdir())


def test_display_rendition_applies_exif_orientation_and_keeps_capture_time(tmp_path: Path) -> None:
    # Given a phone photo stored landscape with "rotate 90° clockwise" in its EXIF
    store = _store(tmp_path)
    data = samples.jpeg(400, 200, orientation=6, taken="2026:11:20 14:05:09", offset="-06:00")
    received, inspected = _keep(store, data)
    # Then the original's pixel size is reported, the display rendition stands upright
    assert (inspected.width, inspected.height) == (400, 200)
    with _display(store, received.sha256) as shown:
        assert shown.size == (200, 400)
        assert not shown.getexif().get(0x0112)  # metadata is not carried into the rendition
    assert inspected.captured_at == "2026-11-20T14:05:09-06:00"


def test_large_jpeg_display_is_bounded(tmp_path: Path) -> None:
    store = _store(tmp_path)
    received, _ = _keep(store, samples.jpeg(4000, 3000, quality=70))
    with _display(store, received.sha256) as shown:
        assert max(shown.size) <= 1600


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (samples.windows_executable(), "claim.photo_type_not_allowed", 415),
        (b"%PDF-1.7\n" + b"0" * 2000, "claim.photo_type_not_allowed", 415),
        (samples.encoded("GIF"), "claim.photo_type_not_allowed", 415),
        (samples.truncated_jpeg(), "claim.photo_corrupt", 422),
        (samples.encoded("PNG")[:-200], "claim.photo_corrupt", 422),
        (samples.encoded("WEBP")[:-300], "claim.photo_corrupt", 422),
        (samples.huge_png(), "claim.photo_too_many_pixels", 422),
        (samples.huge_png(9000, 8000), "claim.photo_too_many_pixels", 422),
    ],
    ids=["exe", "pdf", "gif", "truncated-jpeg", "truncated-png", "truncated-webp", "60000x60000", "72mp"],
)
def test_refused_content_leaves_no_files(tmp_path: Path, data: bytes, code: str, status: int) -> None:
    store = _store(tmp_path)
    received = asyncio.run(store.receive(_chunks(data)))
    with pytest.raises(PhotoRefused) as refused:
        store.inspect(received)
    assert (refused.value.code, refused.value.status) == (code, status)
    store.discard(received.tmp_path)
    assert _files(store) == []


def test_size_limit_is_enforced_while_streaming(tmp_path: Path) -> None:
    store = _store(tmp_path, max_bytes=1_000_000)
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 65_536
            yield b"\xff" * 65_536

    with pytest.raises(PhotoRefused) as refused:
        asyncio.run(store.receive(endless()))
    assert refused.value.code == "claim.photo_too_large" and refused.value.status == 413
    assert consumed < 1_200_000  # stopped reading at the limit, not at the end
    assert _files(store) == []


def test_same_bytes_twice_are_stored_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = samples.jpeg(200, 100)
    _keep(store, data)
    _keep(store, data)
    assert len(_files(store)) == 2  # one original, one display


@pytest.mark.parametrize(
    "name", ["../etc/passwd.jpg", "C:\\photos\\a.jpg", "dir/a.jpg", "bad\x00.jpg", "new\nline.jpg", "", ".."]
)
def test_filenames_with_separators_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_filename(name)
    assert refused.value.code == "claim.photo_filename_invalid"


def test_ordinary_filenames_pass_unchanged() -> None:
    assert check_filename("IMG_0042 (1).HEIC") == "IMG_0042 (1).HEIC"
    assert check_filename("Schäden vorne.jpg") == "Schäden vorne.jpg"


def test_a_jpeg_with_data_after_its_end_marker_is_accepted(tmp_path: Path) -> None:
    # Motion photos and some cameras append a trailer (a video, a depth map) after EOI.
    store = _store(tmp_path)
    data = samples.jpeg(300, 200) + b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000
    received, inspected = _keep(store, data)
    assert inspected.content_type == "image/jpeg"
    assert store.open_original(received.sha256).read() == data

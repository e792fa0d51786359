"""The blob store on both backends: a local folder and a real S3 API server (moto's, on loopback)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.blobs import BlobCorrupted, BlobMissing, BlobStore, BlobStoreUnavailable, open_blob_store
from services.blobs.s3 import S3BlobStore
from tests.s3_support import S3Server, s3_server

NS = "claim-photos/originals"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_blob_store("", tmp_path)
    server: S3Server = request.getfixturevalue("s3")
    return open_blob_store(server.blob_url(server.new_bucket(), "portal"), tmp_path)


def _corrupt(store: BlobStore, sha: str, data: bytes, s3: S3Server | None) -> None:
    """Change the stored bytes behind the store's back (disk rot, a bad restore, tampering)."""
    if isinstance(store, S3BlobStore):
        assert s3 is not None
        s3.client().put_object(Bucket=store.bucket, Key=store.object_key(NS, sha), Body=data)
    else:
        store.path_of(NS, sha).write_bytes(data)  # type: ignore[attr-defined]


def test_put_get_stream_exists_delete(store: BlobStore, tmp_path: Path) -> None:
    # Given a 3 MB file (several read chunks, above the in-memory spool size)
    data = os.urandom(3_000_000)
    src = tmp_path / "photo.bin"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    # When it is kept (handing the file over), it is keyed by its SHA-256 and the file is gone
    stored = store.put_file(NS, src, move=True)
    assert (stored.sha256, stored.size, stored.created) == (sha, len(data), True)
    assert not src.exists()
    assert store.exists(NS, sha) and not store.exists("case-attachments", sha)
    # Then it streams back in chunks, byte for byte
    with store.open(NS, sha) as reader:
        chunks = list(reader.chunks())
    assert len(chunks) > 1 and b"".join(chunks) == data
    # Keeping the same bytes again writes nothing; small bytes go in as well
    again = tmp_path / "again.bin"
    again.write_bytes(data)
    assert store.put_file(NS, again, sha256=sha).created is False and again.exists()
    small = store.put_bytes("case-attachments", b"%PDF-1.4 letter")
    assert store.open("case-attachments", small.sha256).read() == b"%PDF-1.4 letter"
    assert sha in list(store.keys(NS)) and list(store.keys("case-attachments")) == [small.sha256]
    # Links map an original to a derived blob (a rendition)
    assert store.resolve("claim-photos/renditions", sha) is None
    store.link("claim-photos/renditions", sha, small.sha256)
    assert store.resolve("claim-photos/renditions", sha) == small.sha256
    # Deleting removes it; a missing blob is BlobMissing, deleting twice is fine
    store.delete(NS, sha)
    store.delete(NS, sha)
    assert not store.exists(NS, sha)
    with pytest.raises(BlobMissing):
        store.open(NS, sha)
    store.ping()
    # Spooled reads leave nothing behind
    assert not any(store.spool_dir.iterdir())


def test_a_local_store_copies_into_s3(s3: S3Server, tmp_path: Path) -> None:
    """What a practice moving off the embedded default needs: every blob and link, checked."""
    local = open_blob_store("", tmp_path / "local")
    photo = local.put_bytes(NS, os.urandom(2_000_000)).sha256
    rendition = local.put_bytes("claim-photos/renditions", b"\xff\xd8 small").sha256
    local.link("claim-photos/renditions", photo, rendition)
    letter = local.put_bytes("case-attachments", b"%PDF-1.4 letter").sha256
    target = open_blob_store(s3.blob_url(s3.new_bucket()), tmp_path / "spool")
    spaces = [NS, "claim-photos/renditions", "case-attachments"]
    assert local.copy_to(target, spaces) == 3
    assert target.open(NS, photo).read() == local.open(NS, photo).read()
    assert target.resolve("claim-photos/renditions", photo) == rendition
    assert target.open("case-attachments", letter).read() == b"%PDF-1.4 letter"
    assert list(target.links("claim-photos/renditions")) == [(photo, rendition)]
    assert local.copy_to(target, spaces) == 0  # again: nothing to write


def test_a_changed_blob_is_refused_on_read(store: BlobStore, request: pytest.FixtureRequest) -> None:
    s3 = request.getfixturevalue("s3") if isinstance(store, S3BlobStore) else None
    data = b"\xff\xd8\xff original bytes" * 1000
    sha = store.put_bytes(NS, data).sha256
    # When the stored object is replaced directly in the store with other bytes
    _corrupt(store, sha, data[:-1] + b"X", s3)
    # Then reading it is refused, naming what it hashes to now
    with pytest.raises(BlobCorrupted) as refused:
        store.open(NS, sha)
    assert refused.value.sha256 == sha and refused.value.found == hashlib.sha256(data[:-1] + b"X").hexdigest()


def test_bad_keys_and_namespaces_are_refused(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        store.open(NS, "../../etc/passwd")
    with pytest.raises(ValueError):
        store.exists("../x", "a" * 64)


def test_the_url_carries_no_secrets_and_bad_urls_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="credentials"):
        open_blob_store("s3://key:secret@bucket?endpoint=http://127.0.0.1:1", tmp_path)
    with pytest.raises(ValueError, match="unknown option"):
        open_blob_store("s3://bucket?endpoint=http://127.0.0.1:1&secret=x", tmp_path)
    with pytest.raises(ValueError):
        open_blob_store("ftp://bucket", tmp_path)
    store = open_blob_store("s3://bucket/pre?endpoint=http://127.0.0.1:9&region=eu-west-1", tmp_path)
    assert store.describe() == "S3 bucket bucket at http://127.0.0.1:9 under pre/"


def test_ping_fails_on_a_missing_bucket_and_an_unreachable_store(s3: S3Server, tmp_path: Path) -> None:
    with pytest.raises(BlobStoreUnavailable):
        open_blob_store(s3.blob_url("no-such-bucket"), tmp_path).ping()
    with pytest.raises(BlobStoreUnavailable):
        open_blob_store("s3://bucket?endpoint=http://127.0.0.1:9", tmp_path).ping()


def test_an_existing_data_dir_keeps_its_photos(tmp_path: Path) -> None:
    """Data dirs from before the blob store: originals stay where they were, and the old
    renditions (named by the original's hash) are adopted under their own hash."""
    from services.claims.photos import ORIGINALS, RENDITIONS, PhotoStore
    from tests import claims_samples as samples

    original, rendition = samples.jpeg(400, 300), samples.jpeg(160, 120)
    sha = hashlib.sha256(original).hexdigest()
    old = tmp_path / "claim-photos"
    (old / "originals" / sha[:2]).mkdir(parents=True)
    (old / "originals" / sha[:2] / sha).write_bytes(original)
    (old / "display" / sha[:2]).mkdir(parents=True)
    (old / "display" / sha[:2] / sha).write_bytes(rendition)
    # When the service starts on it
    blobs = open_blob_store("", tmp_path)
    photos = PhotoStore(old, blobs, max_bytes=10_000_000, max_pixels=10_000_000)
    try:
        # Then the original reads (checked), and the old rendition is served, not made again
        assert photos.open_original(sha).read() == original
        assert photos.open_display(sha).read() == rendition
        assert blobs.resolve(RENDITIONS, sha) == hashlib.sha256(rendition).hexdigest()
        assert blobs.exists(ORIGINALS, sha) and not (old / "display").exists()
    finally:
        photos.close()

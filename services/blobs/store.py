"""The blob store: content-addressed files (claim photos, renditions, case attachments).

A blob lives in a namespace ("claim-photos/originals", "case-attachments") under the hex SHA-256
of its bytes, so the same bytes are kept once and a key says what the content must hash to.
Every read is checked against that hash before the first byte is handed out: a mismatch raises
`BlobCorrupted`, which the caller records on the audit trail and refuses with a coded problem.

Two backends share this interface: `LocalBlobStore` (a folder, the embedded default) and
`S3BlobStore` (any S3-compatible object store, services/blobs/s3.py). `open_blob_store` picks one
from `PORTAL_BLOB_URL`.

Threading rule: every method blocks (disk or network I/O, hashing); call them from worker threads
(`asyncio.to_thread`), never on the event loop. Stores are safe to share across threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

CHUNK = 1 << 18  # 256 KB: what a reader yields at a time, and the hashing block size
_SHA = re.compile(r"[0-9a-f]{64}")
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*")
_LINKS = "links"  # sub-folder of a namespace that maps a source hash to a derived blob's hash


class BlobError(Exception):
    """Base of blob-store failures."""


class BlobMissing(BlobError):
    """No blob under that key."""

    def __init__(self, namespace: str, sha256: str) -> None:
        super().__init__(f"no blob {namespace}/{sha256}")
        self.namespace = namespace
        self.sha256 = sha256


class BlobCorrupted(BlobError):
    """The stored bytes no longer hash to their key: refused, never served."""

    def __init__(self, namespace: str, sha256: str, found: str) -> None:
        super().__init__(f"blob {namespace}/{sha256} hashes to {found}")
        self.namespace = namespace
        self.sha256 = sha256
        self.found = found


class BlobStoreUnavailable(BlobError):
    """The store could not be reached or refused us (readiness fails on this)."""


@dataclass(frozen=True)
class Stored:
    """A blob as kept: its key, its size, and whether this call wrote it (False: already there)."""

    sha256: str
    size: int
    created: bool


def check_namespace(namespace: str) -> str:
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"bad blob namespace {namespace!r}")
    return namespace


def check_sha(sha256: str) -> str:
    if not _SHA.fullmatch(sha256):
        raise ValueError("bad blob key (expected a lower-case hex SHA-256)")
    return sha256


def file_sha256(path: Path) -> tuple[str, int]:
    """The hex SHA-256 and size of a file, read in blocks (hashlib releases the GIL)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class BlobReader:
    """A blob that passed its hash check, open for reading. Iterate `chunks()` once, or
    `read()` a small one; `close()` releases the file (the iterator closes it at its end)."""

    def __init__(self, fh: BinaryIO, sha256: str, size: int) -> None:
        self._fh = fh
        self.sha256 = sha256
        self.size = size

    @property
    def file(self) -> BinaryIO:
        """The checked bytes as a seekable binary file at its start (for Pillow and the like)."""
        self._fh.seek(0)
        return self._fh

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        try:
            self._fh.seek(0)
            while block := self._fh.read(size):
                yield block
        finally:
            self.close()

    def read(self) -> bytes:
        try:
            self._fh.seek(0)
            return self._fh.read()
        finally:
            self.close()

    def copy_to(self, path: Path) -> None:
        """Write the verified bytes to `path` (for work that needs a seekable local file)."""
        with path.open("wb") as out:
            for block in self.chunks():
                out.write(block)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verified(fh: BinaryIO, namespace: str, sha256: str) -> BlobReader:
    """Hash an open file from the start; a reader on it when it matches, else BlobCorrupted."""
    digest = hashlib.sha256()
    size = 0
    fh.seek(0)
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    found = digest.hexdigest()
    if found != sha256:
        fh.close()
        raise BlobCorrupted(namespace, sha256, found)
    return BlobReader(fh, sha256, size)


class BlobStore(ABC):
    """Content-addressed blobs in namespaces. See the module docstring for the threading rule."""

    kind: str  # "local" or "s3"

    def __init__(self, spool_dir: Path) -> None:
        # Where uploads are received before they are checked and kept: a local folder, on the
        # same file system as a local store so keeping a file is a rename, not a copy.
        self.spool_dir = Path(spool_dir)
        self.spool_dir.mkdir(parents=True, exist_ok=True)

    def spool_path(self, prefix: str = "up") -> Path:
        """A fresh temp-file path in the spool folder (the caller creates and removes it)."""
        return self.spool_dir / f"{prefix}-{secrets.token_hex(12)}"

    # --- the interface -----------------------------------------------------------------------

    def put_file(
        self, namespace: str, path: Path, *, sha256: str | None = None, move: bool = False
    ) -> Stored:
        """Keep a file's bytes under their SHA-256 (computed unless given), streamed from disk.

        `move=True` hands the file over: it is renamed into a local store or removed after an
        upload. Keeping bytes that are already there writes nothing.
        """
        check_namespace(namespace)
        if sha256 is None:
            sha256, size = file_sha256(path)
        else:
            size = path.stat().st_size
        check_sha(sha256)
        try:
            created = self._put_file(namespace, sha256, path, move=move)
        finally:
            if move:
                path.unlink(missing_ok=True)
        return Stored(sha256, size, created)

    def put_bytes(self, namespace: str, data: bytes) -> Stored:
        """Keep small bytes (case attachments) under their SHA-256."""
        tmp = self.spool_path("put")
        tmp.write_bytes(data)
        return self.put_file(namespace, tmp, sha256=hashlib.sha256(data).hexdigest(), move=True)

    def open(self, namespace: str, sha256: str) -> BlobReader:
        """The blob, its hash checked first: BlobMissing, BlobCorrupted or a verified reader."""
        return self._open(check_namespace(namespace), check_sha(sha256))

    def exists(self, namespace: str, sha256: str) -> bool:
        return self._exists(check_namespace(namespace), check_sha(sha256))

    def delete(self, namespace: str, sha256: str) -> None:
        """Remove a blob (no error when it is not there)."""
        self._delete(check_namespace(namespace), check_sha(sha256))

    def link(self, namespace: str, source_sha256: str, sha256: str) -> None:
        """Record that the blob `sha256` in `namespace` was derived from `source_sha256` (a
        rendition of an original): derived blobs stay content-addressed and checked on read."""
        self._put_link(check_namespace(namespace), check_sha(source_sha256), check_sha(sha256))

    def resolve(self, namespace: str, source_sha256: str) -> str | None:
        """The hash of the blob derived from `source_sha256`, if one was linked."""
        found = self._get_link(check_namespace(namespace), check_sha(source_sha256))
        return found if found is not None and _SHA.fullmatch(found) else None

    @abstractmethod
    def keys(self, namespace: str) -> Iterator[str]:
        """Every blob key in a namespace (for copying a store)."""

    @abstractmethod
    def links(self, namespace: str) -> Iterator[tuple[str, str]]:
        """Every (source hash, derived blob hash) link recorded in a namespace."""

    def copy_to(self, target: BlobStore, namespaces: Iterable[str]) -> int:
        """Copy every blob and link of `namespaces` into `target` (each checked on the way, streamed
        through a spool file; blobs already there are skipped). Returns how many blobs were written."""
        written = 0
        for namespace in namespaces:
            for sha256 in self.keys(namespace):
                if target.exists(namespace, sha256):
                    continue
                spool = target.spool_path("copy")
                try:
                    with self.open(namespace, sha256) as reader:
                        reader.copy_to(spool)
                    written += target.put_file(namespace, spool, sha256=sha256, move=True).created
                finally:
                    spool.unlink(missing_ok=True)
            for source, sha256 in self.links(namespace):
                target.link(namespace, source, sha256)
        return written

    @abstractmethod
    def ping(self) -> None:
        """A cheap readiness check: raises BlobStoreUnavailable when the store cannot be used."""

    @abstractmethod
    def describe(self) -> str:
        """Where the blobs live, safe to log (never credentials)."""

    # --- what a backend implements -----------------------------------------------------------

    @abstractmethod
    def _put_file(self, namespace: str, sha256: str, path: Path, *, move: bool) -> bool: ...

    @abstractmethod
    def _open(self, namespace: str, sha256: str) -> BlobReader: ...

    @abstractmethod
    def _exists(self, namespace: str, sha256: str) -> bool: ...

    @abstractmethod
    def _delete(self, namespace: str, sha256: str) -> None: ...

    @abstractmethod
    def _put_link(self, namespace: str, source: str, sha256: str) -> None: ...

    @abstractmethod
    def _get_link(self, namespace: str, source: str) -> str | None: ...


class LocalBlobStore(BlobStore):
    """Blobs as files: `<root>/<namespace>/<ab>/<sha256>` (the first two hex digits shard the
    folder), links as small text files under `<namespace>/links/`. The embedded default's root
    is the data directory, which keeps the claim-photo originals where earlier versions put them."""

    kind = "local"

    def __init__(self, root: Path, *, spool_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        super().__init__(spool_dir or self.root / "blob-spool")

    def path_of(self, namespace: str, sha256: str) -> Path:
        return self.root / check_namespace(namespace) / sha256[:2] / check_sha(sha256)

    def _put_file(self, namespace: str, sha256: str, path: Path, *, move: bool) -> bool:
        final = self.path_of(namespace, sha256)
        if final.exists():
            return False  # the same bytes are already kept
        final.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(path, final)  # same file system: a rename, no copy
                return True
            except OSError:
                pass  # another file system: copy below
        tmp = final.parent / f".{sha256}.{secrets.token_hex(6)}"
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, final)  # readers never see a half-written blob
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _open(self, namespace: str, sha256: str) -> BlobReader:
        try:
            fh = self.path_of(namespace, sha256).open("rb")
        except FileNotFoundError:
            raise BlobMissing(namespace, sha256) from None
        return verified(fh, namespace, sha256)

    def _exists(self, namespace: str, sha256: str) -> bool:
        return self.path_of(namespace, sha256).is_file()

    def _delete(self, namespace: str, sha256: str) -> None:
        with contextlib.suppress(OSError):
            self.path_of(namespace, sha256).unlink(missing_ok=True)

    def _link_path(self, namespace: str, source: str) -> Path:
        return self.root / namespace / _LINKS / source

    def _put_link(self, namespace: str, source: str, sha256: str) -> None:
        path = self._link_path(namespace, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{source}.{secrets.token_hex(6)}")
        tmp.write_text(sha256)
        os.replace(tmp, path)

    def _get_link(self, namespace: str, source: str) -> str | None:
        try:
            return self._link_path(namespace, source).read_text().strip()
        except FileNotFoundError:
            return None

    def keys(self, namespace: str) -> Iterator[str]:
        base = self.root / check_namespace(namespace)
        if not base.is_dir():
            return
        for shard in sorted(base.iterdir()):
            if shard.is_dir() and len(shard.name) == 2:
                for path in sorted(shard.iterdir()):
                    if _SHA.fullmatch(path.name):
                        yield path.name

    def links(self, namespace: str) -> Iterator[tuple[str, str]]:
        base = self.root / check_namespace(namespace) / _LINKS
        if not base.is_dir():
            return
        for path in sorted(base.iterdir()):
            if _SHA.fullmatch(path.name):
                target = path.read_text().strip()
                if _SHA.fullmatch(target):
                    yield path.name, target

    def ping(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise BlobStoreUnavailable(f"the blob folder {self.root} is missing or not writable")

    def describe(self) -> str:
        return f"local folder {self.root}"


def open_blob_store(url: str, data_dir: Path) -> BlobStore:
    """The store `PORTAL_BLOB_URL` names: empty -> the data directory; `file:///path` -> that
    folder; `s3://bucket[/prefix]?endpoint=URL&region=NAME` -> an S3-compatible object store
    (credentials from the environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile)."""
    spool = Path(data_dir) / "blob-spool"
    if not url:
        return LocalBlobStore(Path(data_dir), spool_dir=spool)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(parts.path), spool_dir=spool)
    if parts.scheme == "s3":
        from services.blobs.s3 import S3BlobStore

        return S3BlobStore.from_url(url, spool_dir=spool)
    raise ValueError("PORTAL_BLOB_URL must start with s3:// or file:// (or be empty for the data directory)")

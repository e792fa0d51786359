"""Blob storage behind one interface: a local folder (embedded default) or an S3-compatible store."""

from services.blobs.store import (
    BlobCorrupted,
    BlobError,
    BlobMissing,
    BlobReader,
    BlobStore,
    BlobStoreUnavailable,
    LocalBlobStore,
    Stored,
    open_blob_store,
)

__all__ = [
    "BlobCorrupted",
    "BlobError",
    "BlobMissing",
    "BlobReader",
    "BlobStore",
    "BlobStoreUnavailable",
    "LocalBlobStore",
    "Stored",
    "open_blob_store",
]

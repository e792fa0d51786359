"""The blob store on any S3-compatible object store (AWS S3, MinIO, Ceph, moto's server), via boto3.

`PORTAL_BLOB_URL=s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1`. The URL
carries no secrets: boto3 takes credentials from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), a profile or an instance role; a URL with a user or
password in it is refused so it never ends up in a log.

Uploads stream from the spooled file (multipart above 16 MB, 8 MB parts); reads stream the
object into a spooled temp file while hashing, so a blob is checked whole before its first byte
is served and a 25 MB photo never sits in memory.

Threading rule: as BlobStore (blocking; boto3 clients are thread-safe).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.blobs.store import (
    _LINKS,
    _SHA,
    CHUNK,
    BlobMissing,
    BlobReader,
    BlobStore,
    BlobStoreUnavailable,
    check_namespace,
    verified,
)

# Reads up to this size stay in memory while checked; larger ones spill to the spool folder.
SPOOL_IN_MEMORY = 1 << 20
_TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=4,
    use_threads=True,
)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class S3BlobStore(BlobStore):
    """Blobs as objects `<prefix><namespace>/<ab>/<sha256>` in one bucket."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        spool_dir: Path,
    ) -> None:
        super().__init__(spool_dir)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        config = Config(
            region_name=region,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # Path-style requests work with every S3-compatible server on a custom endpoint.
            s3={"addressing_style": "path" if endpoint else "auto"},
            # Only the checksums S3 requires: aws-chunked uploads are not spoken by every
            # S3-compatible store, and we check every read against its SHA-256 ourselves.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)

    @classmethod
    def from_url(cls, url: str, *, spool_dir: Path) -> S3BlobStore:
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise ValueError(
                "PORTAL_BLOB_URL must not carry credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment instead"
            )
        if not parts.hostname:
            raise ValueError("PORTAL_BLOB_URL needs a bucket: s3://bucket?endpoint=...")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region"}
        if unknown:
            raise ValueError(f"PORTAL_BLOB_URL: unknown option(s) {', '.join(sorted(unknown))}")
        return cls(
            parts.hostname,
            prefix=parts.path,
            endpoint=query.get("endpoint") or None,
            region=query.get("region") or None,
            spool_dir=spool_dir,
        )

    def object_key(self, namespace: str, sha256: str) -> str:
        return f"{self.prefix}{namespace}/{sha256[:2]}/{sha256}"

    def _put_file(self, namespace: str, sha256: str, path: Path, *, move: bool) -> bool:
        key = self.object_key(namespace, sha256)
        if self._head(key):
            return False  # the same bytes are already kept
        try:
            self._client.upload_file(
                str(path), self.bucket, key, ExtraArgs={"Metadata": {"sha256": sha256}}, Config=_TRANSFER
            )
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreUnavailable(f"could not store {namespace}/{sha256}: {exc}") from exc
        return True

    def _open(self, namespace: str, sha256: str) -> BlobReader:
        key = self.object_key(namespace, sha256)
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise BlobMissing(namespace, sha256) from None
            raise BlobStoreUnavailable(f"could not read {namespace}/{sha256}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(f"could not read {namespace}/{sha256}: {exc}") from exc
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=str(self.spool_dir))  # noqa: SIM115
        try:
            with contextlib.closing(body):
                for block in body.iter_chunks(CHUNK):
                    spool.write(block)
        except (BotoCoreError, ClientError, OSError) as exc:
            spool.close()
            raise BlobStoreUnavailable(f"could not read {namespace}/{sha256}: {exc}") from exc
        return verified(spool, namespace, sha256)  # type: ignore[arg-type]

    def _head(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            raise BlobStoreUnavailable(f"could not look up {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(f"could not look up {key}: {exc}") from exc

    def _exists(self, namespace: str, sha256: str) -> bool:
        return self._head(self.object_key(namespace, sha256))

    def _delete(self, namespace: str, sha256: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.object_key(namespace, sha256))
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreUnavailable(f"could not delete {namespace}/{sha256}: {exc}") from exc

    def _link_key(self, namespace: str, source: str) -> str:
        return f"{self.prefix}{namespace}/{_LINKS}/{source}"

    def _put_link(self, namespace: str, source: str, sha256: str) -> None:
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=self._link_key(namespace, source), Body=sha256.encode()
            )
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreUnavailable(f"could not link {namespace}/{source}: {exc}") from exc

    def _get_link(self, namespace: str, source: str) -> str | None:
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._link_key(namespace, source))["Body"]
            with contextlib.closing(body):
                return str(body.read(200).decode("ascii", "replace").strip())
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise BlobStoreUnavailable(f"could not read link {namespace}/{source}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(f"could not read link {namespace}/{source}: {exc}") from exc

    def keys(self, namespace: str) -> Iterator[str]:
        base = f"{self.prefix}{check_namespace(namespace)}/"
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                rest = item["Key"][len(base) :].split("/")
                if len(rest) == 2 and len(rest[0]) == 2 and _SHA.fullmatch(rest[1]):
                    yield rest[1]

    def links(self, namespace: str) -> Iterator[tuple[str, str]]:
        base = f"{self.prefix}{check_namespace(namespace)}/{_LINKS}/"
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                source = item["Key"][len(base) :]
                if _SHA.fullmatch(source):
                    target = self._get_link(namespace, source)
                    if target is not None and _SHA.fullmatch(target):
                        yield source, target

    def ping(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreUnavailable(
                f"the object store bucket {self.bucket} cannot be reached: {exc}"
            ) from exc

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"S3 bucket {self.bucket}{where}" + (f" under {self.prefix}" if self.prefix else "")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

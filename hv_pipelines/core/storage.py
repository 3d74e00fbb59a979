"""The object store: one interface, two backends (S3 via boto3, and a local directory).

Backups and audit archives stream through `put_stream`, which never holds more than one part in
memory, and which publishes the object only when the whole stream has been written: an upload
that fails part-way leaves no object behind (S3: the multipart upload is aborted; local: the
temporary file is removed before it is ever renamed into place).

A process killed mid-upload cannot clean up: it leaves a `.upload-*` file (local) or an incomplete
multipart upload (S3), ciphertext that no listing shows. `sweep_stale_uploads` removes those no
writer has touched for `STALE_UPLOAD_AGE`; `open_store` sweeps a local store on start-up, and backup
retention sweeps both kinds.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from hv_pipelines.core.errors import ConfigurationError, StorageError

log = logging.getLogger(__name__)

S3_PART_SIZE = 16 * 1024 * 1024  # S3's minimum part size is 5 MiB; 16 MiB keeps 10k parts >= 160 GB.
# A live upload writes at least every few minutes (pg_dump waits at most 5 min for a lock; a part is
# 16 MiB): a temporary upload untouched for a day belongs to a process that died.
STALE_UPLOAD_AGE = timedelta(days=1)
UPLOAD_PREFIX = ".upload-"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False  # S3 Object Lock legal hold: no delete until it is lifted, whatever the date


class ObjectStore(Protocol):
    """What backups and archives need from a store; keys are `/`-separated relative paths."""

    url: str

    def put_stream(self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None = None) -> StoredObject: ...
    def put_bytes(self, key: str, data: bytes, *, retain_until: datetime | None = None) -> StoredObject: ...
    def open(self, key: str) -> BinaryIO: ...
    def read_bytes(self, key: str) -> bytes: ...
    def head(self, key: str) -> StoredObject | None: ...
    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...
    def delete(self, key: str) -> None: ...
    def move(self, source: str, target: str) -> None: ...
    def supports_object_lock(self) -> bool: ...
    def location(self, key: str) -> str: ...
    def sweep_stale_uploads(self, prefix: str = "", older_than: timedelta = STALE_UPLOAD_AGE) -> list[str]: ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise StorageError(f"invalid object key {key!r}: use a relative path without '..'")
    return key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """A directory on disk. No Object Lock: `retain_until` is recorded but cannot be enforced."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_stream(self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None = None) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=UPLOAD_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
            _fsync_dir(target.parent)  # the rename itself must survive a crash (WAL push relies on it)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredObject(key, target.stat().st_size, retain_until=retain_until)

    def put_bytes(self, key: str, data: bytes, *, retain_until: datetime | None = None) -> StoredObject:
        return self.put_stream(key, [data], retain_until=retain_until)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise StorageError(f"object {key} not found in {self.url}") from None

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        stat = path.stat()
        return StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime).astimezone())

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        base = self.root / prefix if prefix and not prefix.endswith("/") else self.root / prefix.rstrip("/")
        search_root = base if base.is_dir() else base.parent
        if not search_root.exists():
            return
        for path in sorted(search_root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith(UPLOAD_PREFIX):
                stat = path.stat()
                yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime).astimezone())

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def move(self, source: str, target: str) -> None:
        """Publish `source` under `target` (replacing it) atomically: a reader sees one or the other."""
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(source), path)

    def supports_object_lock(self) -> bool:
        return False

    def location(self, key: str) -> str:
        return self._path(key).as_uri()

    def sweep_stale_uploads(self, prefix: str = "", older_than: timedelta = STALE_UPLOAD_AGE) -> list[str]:
        """Delete `.upload-*` files under `prefix` unmodified for `older_than` (killed uploads); return their keys."""
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        cutoff, removed = time.time() - older_than.total_seconds(), []
        for path in base.rglob(UPLOAD_PREFIX + "*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path.relative_to(self.root).as_posix())
            except FileNotFoundError:  # its upload finished (renamed) or another sweep got there first
                continue
        if removed:
            log.info("removed %d stale upload(s) of killed processes from %s", len(removed), self.url)
        return removed

    def clear(self) -> None:
        """Remove everything (used by `hv dev --reset` and tests' scratch stores)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)


class S3Store:
    """An S3 bucket and prefix, with SSE requested on every write and Object Lock when the bucket has it."""

    def __init__(self, bucket: str, prefix: str = "", *, client=None, endpoint_url: str | None = None,
                 sse: str = "AES256", kms_key_id: str | None = None, lock_mode: str = "COMPLIANCE") -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.lock_mode = lock_mode
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._lock_enabled: bool | None = None

    def _full(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _short(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1:] if self.prefix else full_key

    def _write_args(self, retain_until: datetime | None) -> dict:
        args: dict = {}
        if self.sse == "aws:kms":
            args["ServerSideEncryption"] = "aws:kms"
            if self.kms_key_id:
                args["SSEKMSKeyId"] = self.kms_key_id
        elif self.sse:
            args["ServerSideEncryption"] = self.sse
        if retain_until is not None and self.supports_object_lock():
            args["ObjectLockMode"] = self.lock_mode
            args["ObjectLockRetainUntilDate"] = retain_until
        return args

    def put_stream(self, key: str, chunks: Iterable[bytes], *, retain_until: datetime | None = None) -> StoredObject:
        full = self._full(key)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **self._write_args(retain_until))
        upload_id = upload["UploadId"]
        parts, size, buffer = [], 0, bytearray()
        try:
            for chunk in chunks:
                buffer += chunk
                while len(buffer) >= S3_PART_SIZE:
                    parts.append(self._upload_part(full, upload_id, len(parts) + 1, bytes(buffer[:S3_PART_SIZE])))
                    size += S3_PART_SIZE
                    del buffer[:S3_PART_SIZE]
            if buffer or not parts:
                parts.append(self._upload_part(full, upload_id, len(parts) + 1, bytes(buffer)))
                size += len(buffer)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            raise
        return StoredObject(key, size, retain_until=retain_until)

    def _upload_part(self, full: str, upload_id: str, number: int, body: bytes) -> dict:
        response = self.client.upload_part(
            Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=body)
        return {"ETag": response["ETag"], "PartNumber": number}

    def put_bytes(self, key: str, data: bytes, *, retain_until: datetime | None = None) -> StoredObject:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data, **self._write_args(retain_until))
        return StoredObject(key, len(data), retain_until=retain_until)

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise StorageError(f"object {key} not found in {self.url}") from None

    def read_bytes(self, key: str) -> bytes:
        return self.open(key).read()

    def head(self, key: str) -> StoredObject | None:
        try:
            meta = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(key, meta["ContentLength"], meta.get("LastModified"),
                            meta.get("ObjectLockRetainUntilDate"), meta.get("ObjectLockLegalHoldStatus") == "ON")

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        full_prefix = self._full(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            for item in page.get("Contents", []):
                yield StoredObject(self._short(item["Key"]), item["Size"], item.get("LastModified"))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def move(self, source: str, target: str) -> None:
        """Server-side copy, then delete the source (objects up to 5 GB: S3's single-copy limit)."""
        self.client.copy_object(Bucket=self.bucket, Key=self._full(target),
                                CopySource={"Bucket": self.bucket, "Key": self._full(source)},
                                **self._write_args(None))
        self.delete(source)

    def supports_object_lock(self) -> bool:
        if self._lock_enabled is None:
            try:
                conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
                self._lock_enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except self.client.exceptions.ClientError:
                self._lock_enabled = False
        return self._lock_enabled

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def sweep_stale_uploads(self, prefix: str = "", older_than: timedelta = STALE_UPLOAD_AGE) -> list[str]:
        """Abort multipart uploads under `prefix` started more than `older_than` ago; return their keys.

        Without s3:ListBucketMultipartUploads / s3:AbortMultipartUpload this warns and removes nothing:
        a housekeeping step must not fail the backup that ran it.
        """
        full_prefix = self._full(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        cutoff, removed = datetime.now(UTC) - older_than, []
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed.append(self._short(upload["Key"]))
        except self.client.exceptions.ClientError as exc:
            log.warning("could not sweep incomplete uploads under %s (%s): grant s3:ListBucketMultipartUploads and "
                        "s3:AbortMultipartUpload, or add a lifecycle rule AbortIncompleteMultipartUpload",
                        f"s3://{self.bucket}/{full_prefix}", exc.response["Error"]["Code"])
        return removed


def open_store(url: str, *, endpoint_url: str | None = None, sse: str = "AES256",
               kms_key_id: str | None = None, sweep: bool = True) -> ObjectStore:
    """Open `s3://bucket/prefix` or `file:///path` (a bare path is taken as a directory).

    A local store is swept of stale temporary uploads on opening; an S3 store's incomplete multipart
    uploads are aborted by backup retention (or a bucket lifecycle rule), not on every open.
    `sweep=False` is for `hv wal push`/`fetch`, which run once per WAL file: walking an archive of
    100 000 segments each time would cost more than the segment; any other command sweeps.
    """
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigurationError(f"object store URL {url!r} names no bucket: use s3://bucket/prefix")
        return S3Store(parts.netloc, parts.path, endpoint_url=endpoint_url, sse=sse, kms_key_id=kms_key_id)
    if parts.scheme in ("file", ""):
        store = LocalStore(Path(parts.path if parts.scheme else url))
        if sweep:
            store.sweep_stale_uploads()  # start-up sweep: a directory walk, cheap next to what the command does
        return store
    raise ConfigurationError(f"unsupported object store URL scheme {parts.scheme!r}: use s3:// or file://")

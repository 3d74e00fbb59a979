"""Archive parts: encrypted Parquet objects no larger than `audit_log_archives.fileSize` can record.

A part is one Parquet file (zstd, one row group per `ROW_GROUP_ROWS` rows) sealed with the backups'
envelope encryption and uploaded as one object. Writing streams: each row group is flushed to the
encryptor and the uploader as soon as Parquet has written it, so memory holds about one row group.
`fileSize` is a 32-bit integer, so a month whose archive would pass `part_limit` bytes (2 GiB - 1)
becomes several parts: before a row group is added the part's projected size (bytes so far + twice
the largest row group yet + footer and encryption overhead) is checked, and the uploaded size is
checked again afterwards.

Parquet needs its footer before it can be read, so reading back decrypts a part into a temporary
file (disk, not memory) and iterates its row groups from there. That file never has a name: it is
opened with O_TMPFILE (or, where the filesystem lacks it, unlinked as soon as it is created), so a
crash or kill -9 mid read-back leaves no decrypted rows behind — the kernel frees the file with the
process. Releases before this one used a named `hv-archive-*` directory; `sweep_stale_scratch`
removes any such leftover when a command starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hv_pipelines.core.archival.manifest import ArchiveManifest, PartEntry
from hv_pipelines.core.archival.rows import (
    ID_COLUMN,
    ROW_ENCODING,
    TIME_COLUMN,
    Column,
    RowStats,
    arrow_schema,
)
from hv_pipelines.core.envelope import DEFAULT_CHUNK_SIZE, TAG_SIZE, decrypt_stream, encrypt_stream
from hv_pipelines.core.errors import IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

MAX_PART_BYTES = 2**31 - 1  # audit_log_archives.fileSize is a PostgreSQL INTEGER
ZSTD_LEVEL = 1  # as small as level 3 on audit rows (dictionary pages do most of the work), for less CPU
_HEADER_RESERVE = 1024  # envelope header: fixed fields, key id and wrapped data key
_FOOTER_RESERVE = 64 * 1024
_FOOTER_PER_COLUMN_CHUNK = 512


def sealed_size(plain_bytes: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """An upper bound on the encrypted size of `plain_bytes` of plaintext."""
    return _HEADER_RESERVE + plain_bytes + TAG_SIZE * (plain_bytes // chunk_size + 1)


class _Peekable:
    def __init__(self, tables: Iterator[pa.Table]) -> None:
        self._tables = tables
        self._next: pa.Table | None = None

    def peek(self) -> pa.Table | None:
        if self._next is None:
            self._next = next(self._tables, None)
        return self._next

    def pop(self) -> pa.Table:
        table, self._next = self.peek(), None
        return table


class _Sink:
    """Where Parquet writes: bytes are handed on as soon as a row group (or the footer) is complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        self._buffer += data
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return data


def _dictionary_columns(sample: pa.Table) -> list[str]:
    """Text columns that repeat values (actions, severities, user ids) gain from dictionary encoding;
    unique ones (ids, details) only pay for trying it, so they are left to plain zstd."""
    return [name for name, column in zip(sample.column_names, sample.columns, strict=True)
            if pa.types.is_string(column.type) and pc.count_distinct(column).as_py() <= 0.1 * max(len(column), 1)]


@dataclass
class PartWriter:
    """Writes a stream of row-group tables into as many parts as `part_limit` requires."""

    store: ObjectStore
    keyring: Keyring
    schema: pa.Schema
    part_limit: int = MAX_PART_BYTES
    retain_until: datetime | None = None
    _largest_group: int = field(default=0, init=False)

    def write(self, tables: Iterator[pa.Table], key_for: Callable[[int], str], total: RowStats) -> list[PartEntry]:
        """Upload every part; `total` accumulates the stats of all rows written."""
        pending = _Peekable(tables)
        parts: list[PartEntry] = []
        while pending.peek() is not None:
            parts.append(self._write_part(len(parts) + 1, key_for(len(parts) + 1), pending, total))
        return parts

    def _fits(self, written: int, row_groups: int) -> bool:
        footer = _FOOTER_RESERVE + _FOOTER_PER_COLUMN_CHUNK * len(self.schema) * (row_groups + 1)
        return sealed_size(written + 2 * self._largest_group + footer) <= self.part_limit

    def _parquet(self, pending: _Peekable, stats: RowStats, total: RowStats) -> Iterator[bytes]:
        sink = _Sink()
        writer = pq.ParquetWriter(sink, self.schema, compression="zstd", compression_level=ZSTD_LEVEL,
                                  use_dictionary=_dictionary_columns(pending.peek()),
                                  write_statistics=[ID_COLUMN, TIME_COLUMN])
        row_groups = 0
        # Each row group is hashed on a second thread while Parquet compresses it (both release the
        # GIL); one group at a time, in order, so the hash streams see the rows as written.
        hashing: Future | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="hv-archive-hash") as hasher:
            while pending.peek() is not None and (row_groups == 0 or self._fits(sink.size, row_groups)):
                table = pending.pop()
                if hashing is not None:
                    hashing.result()
                hashing = hasher.submit(stats.update, table, total)
                before = sink.size
                writer.write_table(table, row_group_size=table.num_rows)
                self._largest_group = max(self._largest_group, sink.size - before)
                row_groups += 1
                yield sink.take()
            if hashing is not None:
                hashing.result()
        writer.close()
        yield sink.take()

    def _write_part(self, index: int, key: str, pending: _Peekable, total: RowStats) -> PartEntry:
        stats = RowStats()
        digest = hashlib.sha256()

        def sealed() -> Iterator[bytes]:
            for piece in encrypt_stream(self._parquet(pending, stats, total), self.keyring):
                digest.update(piece)
                yield piece

        stored = self.store.put_stream(key, sealed(), retain_until=self.retain_until)
        if stored.size > self.part_limit:
            raise IntegrityError(
                f"archive part {key} is {stored.size} bytes, over the {self.part_limit}-byte limit: nothing was "
                "deleted; lower the row-group size and re-run")
        return PartEntry(index=index, key=key, rows=stats.rows, bytes=stored.size,
                         object_sha256=digest.hexdigest(), rows_sha256=stats.sha256,
                         min_timestamp=stats.min_timestamp, max_timestamp=stats.max_timestamp)


class _HashingReader:
    """Reads through to `source`, hashing and counting every byte."""

    def __init__(self, source) -> None:
        self._source = source
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self.sha.update(data)
        self.size += len(data)
        return data


def object_digest(store: ObjectStore, key: str) -> tuple[int, str]:
    """Size and SHA-256 of a stored object, read in bounded pieces."""
    with closing(store.open(key)) as source:
        reader = _HashingReader(source)
        while reader.read(1024 * 1024):
            pass
    return reader.size, reader.sha.hexdigest()


SCRATCH_PREFIX = "hv-archive-"
STALE_AFTER_SECONDS = 60


def sweep_stale_scratch(older_than: float = STALE_AFTER_SECONDS) -> list[str]:
    """Remove named `hv-archive-*` entries an older release left in the temporary directory (a killed
    read-back's decrypted part): this release writes none, so any untouched for `older_than` seconds
    is a leftover. Returns the names removed (no contents are read)."""
    removed = []
    root = Path(tempfile.gettempdir())
    for entry in root.glob(f"{SCRATCH_PREFIX}*"):
        try:
            if entry.lstat().st_uid != os.getuid() or time.time() - entry.lstat().st_mtime < older_than:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue  # another command swept it first
        removed.append(entry.name)
    return removed


@contextmanager
def decrypted_part(store: ObjectStore, keyring: Keyring, part: PartEntry) -> Iterator[pq.ParquetFile]:
    """The part decrypted into an unnamed temporary file (see the module docstring), after its size
    and object SHA-256 were checked."""
    with tempfile.TemporaryFile(prefix=SCRATCH_PREFIX) as out:
        with closing(store.open(part.key)) as source:
            reader = _HashingReader(source)
            try:
                for piece in decrypt_stream(reader, keyring):
                    out.write(piece)
            except IntegrityError as exc:
                # The envelope's own advice is about backups; keep its diagnosis, name the archive object.
                raise IntegrityError(f"archive object {part.key}: {str(exc).split('; ')[0]}; do not rely on "
                                     "it") from None
            while reader.read(1024 * 1024):  # trailing bytes fail the digest below
                pass
        if reader.size != part.bytes or reader.sha.hexdigest() != part.object_sha256:
            raise IntegrityError(f"archive object {part.key} is not the object its manifest sealed "
                                 f"({reader.size} bytes, manifest says {part.bytes}): it was replaced")
        out.flush()
        try:
            parquet = pq.ParquetFile(out)
        except pa.ArrowException:
            raise IntegrityError(f"archive object {part.key} decrypted but is not a Parquet file") from None
        yield parquet


def read_part(store: ObjectStore, keyring: Keyring, part: PartEntry, schema: pa.Schema, *,
              total: RowStats | None = None, on_table: Callable[[pa.Table], None] | None = None) -> RowStats:
    """Decrypt a part, recount and re-hash its rows against the manifest (adding them to `total`);
    hand each row group to `on_table`."""
    stats = RowStats()
    also = (total,) if total is not None else ()
    try:
        with decrypted_part(store, keyring, part) as parquet:
            if not parquet.schema_arrow.equals(schema):
                raise IntegrityError(f"archive object {part.key} holds columns other than its manifest lists")
            for index in range(parquet.num_row_groups):
                table = parquet.read_row_group(index)
                stats.update(table, *also)
                if on_table is not None:
                    on_table(table)
    except StorageError:
        raise IntegrityError(f"archive object {part.key} is missing from the object store") from None
    if (stats.rows, stats.sha256) != (part.rows, part.rows_sha256):
        raise IntegrityError(f"archive object {part.key} holds {stats.rows} rows whose hash differs from its "
                             f"manifest ({part.rows} rows): do not rely on it")
    return stats


def manifest_schema(manifest: ArchiveManifest) -> pa.Schema:
    return arrow_schema([Column(name, pg_type) for name, pg_type in manifest.columns])


def read_archive(store: ObjectStore, keyring: Keyring, manifest: ArchiveManifest, *,
                 on_table: Callable[[pa.Table], None] | None = None) -> RowStats:
    """Decrypt every part, recount and re-hash it, and check the parts add up to the manifest."""
    if manifest.row_encoding != ROW_ENCODING:
        raise IntegrityError(f"archive #{manifest.sequence} hashes rows as {manifest.row_encoding}; this release "
                             f"computes {ROW_ENCODING}: upgrade hv_pipelines to verify it")
    schema = manifest_schema(manifest)
    total = RowStats()
    for part in manifest.parts:
        read_part(store, keyring, part, schema, total=total, on_table=on_table)
    if (total.rows, total.sha256) != (manifest.row_count, manifest.rows_sha256):
        raise IntegrityError(f"archive #{manifest.sequence} ({manifest.month}): its parts hold {total.rows} rows "
                             f"whose hash differs from the manifest's {manifest.row_count}")
    return total

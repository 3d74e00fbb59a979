"""Archiving one month of `audit_logs`: export, seal, upload, link, read back — and only then delete.

Everything from the export to the delete runs in one REPEATABLE READ transaction, so the rows
deleted are exactly the rows exported. The steps, and what a crash after each leaves behind:

1. The snapshot's rows of the month stream out as Parquet parts, encrypted and uploaded.
   Crash: rows untouched; at worst unreferenced part objects (reported by `hv audit verify`).
2. The manifest is written, linked to the chain's previous manifest.
   Crash: rows untouched; an uncommitted manifest, which the next run resumes from when the
   month's rows still hash the same (otherwise it stays in the chain as superseded).
3. Every part is read back, decrypted, recounted and re-hashed against the manifest.
4. Still in the same transaction: the `audit_log_archives` rows are inserted, the month's rows are
   deleted — aborting unless that is the manifest's row count, and if any of them was updated or
   deleted since the export (PostgreSQL's serialization failure) — and the run's own `audit_logs`
   entry is written. Crash: rolled back — back to the state after 2.
5. `VACUUM (ANALYZE, INDEX_CLEANUP OFF) audit_logs`, outside the transaction: the heap space and
   the statistics now; the indexes' dead entries are left to autovacuum unless
   `ArchiveOptions.index_cleanup` asks for them too (see docs/archival.md for the cost).

When `audit_logs` is partitioned by month (opt-in, core/archival/partitions.py) and the month has
its own partition, the partition is locked against writes before the snapshot is taken, step 4
detaches and drops it instead of deleting its rows (refused unless it holds exactly the manifest's
row count), and step 5 is not needed: nothing is left to vacuum. Rows of the month that sit in
the default partition are deleted and vacuumed as above.

Rows inserted into the month later (late writers) are not in the snapshot, stay in `audit_logs`
and go into a supplementary archive on the next run; a month with no rows left is a no-op. A
PostgreSQL advisory lock serialises runs, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from hv_pipelines.core import db
from hv_pipelines.core.archival.manifest import (
    FULL,
    SUPPLEMENTARY,
    ArchiveManifest,
    ChainLink,
    chain_head,
    manifest_keys,
    part_key,
    read_link,
    sha256_hex,
)
from hv_pipelines.core.archival.months import Month, RetentionPolicy, load_policy, utc_naive
from hv_pipelines.core.archival.partitions import (
    DEFAULT_PARTITION,
    SCHEMA,
    drop_month,
    is_partitioned,
    month_partition,
)
from hv_pipelines.core.archival.parts import MAX_PART_BYTES, PartWriter, read_archive, sweep_stale_scratch
from hv_pipelines.core.archival.records import insert_records, load_records
from hv_pipelines.core.archival.rows import (
    ROW_ENCODING,
    ROW_GROUP_ROWS,
    TABLE,
    Column,
    RowStats,
    arrow_schema,
    export_month,
    month_filter,
    table_columns,
)
from hv_pipelines.core.audit_trail import system_user_id, write_audit_entry
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

LOCK_KEY = int.from_bytes(hashlib.sha256(b"hv_pipelines:audit-archive").digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class ArchiveOptions:
    part_limit: int = MAX_PART_BYTES
    row_group_rows: int = ROW_GROUP_ROWS
    lock_timeout: str = "10min"
    index_cleanup: bool = False


@dataclass
class ArchiveResult:
    month: str
    status: str  # archived | resumed | nothing_to_archive
    rows: int = 0
    kind: str | None = None
    sequence: int | None = None
    part_keys: list[str] = field(default_factory=list)
    archive_bytes: int = 0
    source_bytes: int = 0
    manifest_key: str | None = None
    manifest_sha256: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    index_cleanup: bool = False
    dropped_partition: str | None = None  # partitioned audit_logs: the month's partition, dropped

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def compression_ratio(self) -> float:
        return self.source_bytes / self.archive_bytes if self.archive_bytes else 0.0

    def as_metadata(self) -> dict[str, object]:
        """Numbers and ids only (no row content): what an operator checks after a run."""
        return {
            "status": self.status, "rows": self.rows, "archive_bytes": self.archive_bytes,
            "source_csv_bytes": self.source_bytes, "compression_ratio": round(self.compression_ratio, 2),
            "duration_seconds": round(self.seconds, 3), "rows_per_second": round(self.rows_per_second),
            "sequence": self.sequence or 0, "kind": self.kind or "-", "parts": len(self.part_keys),
            "manifest_key": self.manifest_key or "-", "manifest_sha256": self.manifest_sha256 or "-",
            "vacuum_index_cleanup": self.index_cleanup, "dropped_partition": self.dropped_partition or "-",
            **{f"seconds_{step}": round(seconds, 3) for step, seconds in self.timings.items()},
        }

    def summary(self) -> str:
        if self.status == "nothing_to_archive":
            return f"{self.month}: nothing to archive (no rows left in {TABLE})"
        return (f"{self.month}: {self.status} {self.rows} rows as {self.kind} archive #{self.sequence} in "
                f"{len(self.part_keys)} part(s), {self.archive_bytes} bytes ({self.compression_ratio:.1f}x smaller "
                f"than the CSV rows), {self.seconds:.1f}s, {self.rows_per_second:,.0f} rows/s")


@contextmanager
def archive_lock(conn: psycopg.Connection, timeout: str) -> Iterator[None]:
    """Hold the archive advisory lock for the session (archive and purge runs never overlap)."""
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(timeout)))
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    except psycopg.errors.LockNotAvailable:
        raise HVError(f"another audit archive or purge run has held the archive lock for {timeout}: wait for it "
                      "to finish (see the Dagster runs or pg_locks) and retry") from None
    finally:
        if not conn.broken:
            conn.execute("SET lock_timeout = DEFAULT")
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def archive_month(database_url: str, store: ObjectStore, keyring: Keyring, month: Month, *,
                  now: datetime | None = None, options: ArchiveOptions | None = None) -> ArchiveResult:
    """Archive the rows `audit_logs` still holds for `month`; see the module docstring for the steps."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    swept = sweep_stale_scratch()
    with db.connect(database_url, autocommit=True) as conn:
        conn.execute("SET datestyle = 'ISO, MDY'; SET client_encoding = 'UTF8'; SET work_mem = '256MB'")
        # As pg_dump does: a maintenance run is not a runaway query. Server-wide timeouts must not end
        # a long month's export, its wait on the object store inside the transaction, or the VACUUM.
        conn.execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0")
        with archive_lock(conn, (options or ArchiveOptions()).lock_timeout):
            policy = load_policy(conn)
            if not policy.is_archivable(month, now):
                raise ConfigurationError(
                    f"{month} is not archivable yet: the AUDIT_LOGS policy keeps rows in {TABLE} for "
                    f"{policy.archive_after_days} days after their month ends ({policy.source})")
            result = _MonthRun(conn, store, keyring, month, policy, now, options or ArchiveOptions()).execute()
    result.seconds = time.monotonic() - started
    if swept:
        result.notes.append(f"removed {len(swept)} decrypted read-back file(s) an older release left in the temporary directory")
    return result


@dataclass
class _MonthRun:
    conn: psycopg.Connection
    store: ObjectStore
    keyring: Keyring
    month: Month
    policy: RetentionPolicy
    now: datetime
    options: ArchiveOptions

    def execute(self) -> ArchiveResult:
        result = ArchiveResult(self.month.label, "archived")
        columns = table_columns(self.conn)
        committed = {r.key for r in load_records(self.conn)}
        month_links = _month_links(self.store, self.keyring, self.month)
        pending = [link for link in month_links if not _is_committed(link.manifest, committed)]
        kind = SUPPLEMENTARY if len(pending) < len(month_links) else FULL
        partition = month_partition(self.conn, self.month)
        # Partitioned without a partition of its own, the month's rows are in the default partition.
        vacuumed = DEFAULT_PARTITION if is_partitioned(self.conn) else TABLE

        # One snapshot from the export to the delete: the delete removes exactly the rows exported,
        # and a row changed or removed meanwhile makes it fail instead of deleting what was not archived.
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if partition:
                # Before the snapshot: nobody writes into the month until it is dropped, so the
                # partition holds exactly the rows the snapshot exports (late writers wait).
                self.conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.Identifier(SCHEMA, partition)))
            if not month_has_rows(self.conn, self.month):
                return ArchiveResult(self.month.label, "nothing_to_archive")
            tick = time.monotonic()
            link = self._resume(pending, columns, result) if pending else None
            if link is None:
                link = publish_manifest(self.store, self.keyring, self._upload(columns, kind))
                result.timings["export_upload"] = time.monotonic() - tick
                tick = time.monotonic()
                read_archive(self.store, self.keyring, link.manifest)
                result.timings["verify"] = time.monotonic() - tick
            else:
                result.status = "resumed"
                result.timings["resume"] = time.monotonic() - tick

            tick = time.monotonic()
            commit_archive(self.conn, self.store, link, self.month, result.status, partition=partition)
        result.timings["commit"] = time.monotonic() - tick
        if partition:
            result.dropped_partition = partition
        else:
            tick = time.monotonic()
            vacuum_audit_logs(self.conn, index_cleanup=self.options.index_cleanup, table=vacuumed)
            result.index_cleanup = self.options.index_cleanup
            result.timings["vacuum"] = time.monotonic() - tick

        manifest = link.manifest
        result.rows, result.kind, result.sequence = manifest.row_count, manifest.kind, manifest.sequence
        result.part_keys = [p.key for p in manifest.parts]
        result.archive_bytes, result.source_bytes = manifest.archive_bytes, manifest.source_bytes
        result.manifest_key, result.manifest_sha256 = link.key, link.sha256
        return result

    def _resume(self, pending: list[ChainLink], columns: list[Column], result: ArchiveResult) -> ChainLink | None:
        """An uncommitted archive of exactly these rows, verified, or None (then a new one is written)."""
        stats = RowStats()
        with export_month(self.conn, self.month, columns, row_group_rows=self.options.row_group_rows) as export:
            for table in export.tables:
                stats.update(table)
        for link in pending:
            if (link.manifest.row_count, link.manifest.rows_sha256) != (stats.rows, stats.sha256):
                continue
            try:
                read_archive(self.store, self.keyring, link.manifest)
            except IntegrityError as exc:
                result.notes.append(f"did not resume from {link.key}: {exc}")
                continue
            return link
        return None

    def _upload(self, columns: list[Column], kind: str) -> ArchiveManifest:
        head = chain_head(self.store, self.keyring)
        sequence = head.manifest.sequence + 1 if head else 1
        archive_id = uuid.uuid4().hex
        retain_until = self.policy.retain_until(self.month)
        if retain_until <= self.now.astimezone(UTC):
            retain_until = None  # already past retention: S3 refuses a retention date in the past
        writer = PartWriter(self.store, self.keyring, arrow_schema(columns), part_limit=self.options.part_limit,
                            retain_until=retain_until)
        total = RowStats()
        with export_month(self.conn, self.month, columns, row_group_rows=self.options.row_group_rows) as export:
            parts = writer.write(export.tables, lambda i: part_key(sequence, self.month.label, archive_id, i), total)
        return ArchiveManifest(
            sequence=sequence, archive_id=archive_id, month=self.month.label, kind=kind,
            created_at=utc_naive(self.now), row_count=total.rows, min_timestamp=total.min_timestamp,
            max_timestamp=total.max_timestamp, rows_sha256=total.sha256,
            columns=[[c.name, c.pg_type] for c in columns], key_id=self.keyring.active_key_id,
            retain_until=retain_until, parts=parts, previous_sha256=head.sha256 if head else None,
            source_bytes=export.source_bytes, row_encoding=ROW_ENCODING)


def _month_links(store: ObjectStore, keyring: Keyring, month: Month) -> list[ChainLink]:
    try:
        return [read_link(store, keyring, key) for key in manifest_keys(store) if f"-{month.label}-" in key]
    except IntegrityError as exc:
        raise IntegrityError(f"{exc}: nothing was archived; run `hv audit verify` and investigate before "
                             f"archiving {month} again") from None


def _is_committed(manifest: ArchiveManifest, committed_keys: set[str | None]) -> bool:
    return all(part.key in committed_keys for part in manifest.parts)


def month_has_rows(conn: psycopg.Connection, month: Month) -> bool:
    where, params = month_filter(month)
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {table} WHERE {where})").format(
        table=sql.Identifier(TABLE), where=where), params).fetchone()[0]


def publish_manifest(store: ObjectStore, keyring: Keyring, manifest: ArchiveManifest) -> ChainLink:
    sealed = manifest.seal(keyring)
    store.put_bytes(manifest.key, sealed, retain_until=manifest.retain_until)
    return ChainLink(manifest.key, manifest, sha256_hex(sealed))


def delete_archived_rows(conn: psycopg.Connection, month: Month, archived: int) -> None:
    """Delete the month's rows the archive's snapshot saw (rows written since stay, for the next run);
    nothing unless exactly the `archived` rows, unchanged, are there to delete."""
    where, params = month_filter(month)
    try:
        deleted = conn.execute(sql.SQL("DELETE FROM {table} WHERE {where}").format(
            table=sql.Identifier(TABLE), where=where), params).rowcount
    except psycopg.errors.SerializationFailure:
        deleted = None  # REPEATABLE READ: a row the snapshot saw was updated or deleted since
    if deleted != archived:
        raise IntegrityError(
            f"{month}: archived rows changed or vanished in {TABLE} since they were exported "
            f"({'updated or deleted meanwhile' if deleted is None else f'{deleted} of {archived} left'}), so "
            "nothing was deleted; re-run the archive (the current rows will be archived again)")


def vacuum_audit_logs(conn: psycopg.Connection, *, index_cleanup: bool, table: str = TABLE) -> None:
    """Reclaim the deleted rows' heap space and refresh statistics (autocommit: VACUUM cannot run in a
    transaction). Without `index_cleanup` the indexes' entries for the deleted rows are left to
    autovacuum, which removes them throttled; see docs/archival.md."""
    conn.execute(sql.SQL("VACUUM (ANALYZE, INDEX_CLEANUP {}) {}").format(
        sql.SQL("ON" if index_cleanup else "OFF"), sql.Identifier(table)))


def commit_archive(conn: psycopg.Connection, store: ObjectStore, link: ChainLink, month: Month, status: str, *,
                   partition: str | None = None) -> None:
    """In the caller's transaction: the part records, the delete (checked against the manifest) or,
    partitioned, the month's partition detached and dropped (checked likewise), the audit entry."""
    manifest = link.manifest
    creator = system_user_id(conn)
    insert_records(conn, store, manifest, creator, utc_naive())
    if partition:
        drop_month(conn, month, manifest.row_count)
    else:
        delete_archived_rows(conn, month, manifest.row_count)
    write_audit_entry(conn, action="AUDIT_LOG_ARCHIVE", resource=TABLE, resource_id=manifest.archive_id,
                      details={"month": month.label, "status": status, "sequence": manifest.sequence,
                               "kind": manifest.kind, "rows": manifest.row_count, "parts": len(manifest.parts),
                               "archive_bytes": manifest.archive_bytes, "manifest_key": link.key,
                               "manifest_sha256": link.sha256, "dropped_partition": partition})

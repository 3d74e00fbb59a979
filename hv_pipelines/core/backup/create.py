"""Take a backup: pg_dump → zstd → envelope encryption → object store, then read it back and seal a manifest.

The dump runs inside an exported snapshot: one REPEATABLE READ transaction exports it, `pg_dump
--snapshot` dumps exactly that state, and the same transaction counts every table's rows while the
dump streams (on a second thread, so counting costs no wall time; the schema fingerprint and Alembic
revision are read there too, so pg_dump starts as soon as the snapshot exists). The row counts in the manifest
are therefore exactly the rows in the archive — what a restore is later checked against.

No plaintext byte touches disk: pg_dump writes to a pipe, compression and encryption happen in
memory in ~1 MiB pieces, and the object store receives ciphertext only. If pg_dump or the upload
fails, the upload is aborted (no object) and no manifest is written (no backup counts).

The object is sealed as `backup/<id>` (its envelope header names the backup id) and the manifest
records the header's digest, data-key id and nonce prefix: neither an object nor a manifest copied
from another backup passes `verify_against`, which every verify and restore goes through.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.backup import audit, catalog, layout
from hv_pipelines.core.backup.inventory import find_backup
from hv_pipelines.core.backup.manifest import Manifest
from hv_pipelines.core.backup.streams import (
    ClientProcess,
    Meter,
    MeteredReader,
    compress,
    decompress,
    prefetch,
)
from hv_pipelines.core.backup.tools import client_connection, find_tool, server_major
from hv_pipelines.core.envelope import DEFAULT_CHUNK_SIZE, encrypt_stream, open_stream, read_header
from hv_pipelines.core.errors import HVError, IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

log = logging.getLogger(__name__)

DEFAULT_LOCK_DAYS = 7
DEFAULT_COMPRESSION_LEVEL = 3
PG_DUMP_MAGIC = b"PGDMP"
# pg_dump takes ACCESS SHARE locks at the start; behind a long exclusive lock it fails instead of waiting forever.
LOCK_WAIT_TIMEOUT = "5min"


@dataclass(frozen=True)
class BackupResult:
    manifest: Manifest
    location: str
    audit_entry_id: str | None

    def as_metadata(self) -> dict[str, object]:
        """Numbers and ids an operator checks (no secrets, no data)."""
        m = self.manifest
        total = m.durations["total_s"]
        return {
            "backup_id": m.backup_id,
            "object_key": m.object_key,
            "location": self.location,
            "bytes": m.object_bytes,
            "dump_bytes": m.dump_bytes,
            "compression_ratio": round(m.dump_bytes / m.compressed_bytes, 2) if m.compressed_bytes else 0.0,
            "duration_s": round(total, 2),
            "throughput_mb_s": round(m.dump_bytes / 1e6 / total, 1) if total else 0.0,
            "sha256": m.object_sha256,
            "key_id": m.key_id,
            "tables": len(m.table_rows),
            "total_rows": m.total_rows,
            "pg_dump_version": m.pg_dump_version,
            "server_version": m.server_version,
            "alembic_revision": m.alembic_revision or "none",
            "retain_until": m.retain_until.isoformat() if m.retain_until else "none",
        }


@dataclass(frozen=True)
class DumpFacts:
    """What the dump's snapshot and the upload established, for the manifest."""

    server_version: str
    pg_dump_version: str
    alembic_revision: str | None
    schema_fingerprint: str
    table_rows: dict[str, int]
    uploaded_header_sha256: str
    uploaded_sha256: str
    uploaded_bytes: int


@dataclass(frozen=True)
class ObjectCheck:
    """What reading an encrypted dump back proved: every chunk authenticated, this header, sizes and checksum."""

    header_sha256: str
    data_key_id: str
    nonce_prefix: str
    object_bytes: int
    sha256: str
    compressed_bytes: int
    dump_bytes: int
    key_id: str

    def differences(self, manifest: Manifest) -> list[str]:
        """What differs between this object and the one `manifest` describes (names only, no values)."""
        expected = {"header": manifest.header_sha256, "data-key id": manifest.data_key_id,
                    "nonce prefix": manifest.nonce_prefix, "size": manifest.object_bytes,
                    "sha256": manifest.object_sha256, "compressed size": manifest.compressed_bytes,
                    "dump size": manifest.dump_bytes, "key id": manifest.key_id}
        actual = {"header": self.header_sha256, "data-key id": self.data_key_id, "nonce prefix": self.nonce_prefix,
                  "size": self.object_bytes, "sha256": self.sha256, "compressed size": self.compressed_bytes,
                  "dump size": self.dump_bytes, "key id": self.key_id}
        return [name for name, value in actual.items() if value != expected[name]]


def create_backup(database_url: str, store: ObjectStore, keyring: Keyring, *, partition: str | None = None,
                  lock_days: int = DEFAULT_LOCK_DAYS, compression_level: int = DEFAULT_COMPRESSION_LEVEL,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> BackupResult:
    """Back up the database at `database_url` into `store`; the returned manifest is already verified."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    database = db.database_name(database_url)
    backup_id = layout.new_backup_id(started)
    key = layout.dump_key(database, backup_id)
    retain_until = started + timedelta(days=lock_days) if lock_days > 0 and store.supports_object_lock() else None
    cpu: dict[str, float] = {}  # CPU seconds per stage, each on its own thread: where a backup's time goes
    try:
        try:
            facts = _dump_into_store(database_url, store, keyring, key, layout.envelope_context(backup_id),
                                     retain_until=retain_until, level=compression_level, chunk_size=chunk_size,
                                     cpu=cpu)
            uploaded = time.monotonic()
            check = verify_object(store, key, keyring, backup_id, cpu=cpu)
            if (check.header_sha256, check.sha256, check.object_bytes) != (
                    facts.uploaded_header_sha256, facts.uploaded_sha256, facts.uploaded_bytes):
                raise IntegrityError(f"backup {backup_id}: the stored object differs from what was uploaded; "
                                     "check the object store and run the backup again")
            verified = time.monotonic()
            manifest = Manifest(
                backup_id=backup_id, database=database, created_at=started, completed_at=datetime.now(UTC),
                object_key=key, object_bytes=check.object_bytes, object_sha256=check.sha256,
                dump_bytes=check.dump_bytes, compressed_bytes=check.compressed_bytes, chunk_size=chunk_size,
                key_id=check.key_id, header_sha256=check.header_sha256, data_key_id=check.data_key_id,
                nonce_prefix=check.nonce_prefix, pg_dump_version=facts.pg_dump_version, server_version=facts.server_version,
                alembic_revision=facts.alembic_revision, schema_fingerprint=facts.schema_fingerprint,
                table_rows=facts.table_rows,
                durations={"dump_upload_s": round(uploaded - clock, 3), "verify_s": round(verified - uploaded, 3),
                           "total_s": round(time.monotonic() - clock, 3),
                           **{f"cpu_{stage}": round(seconds, 3) for stage, seconds in cpu.items()
                              if seconds is not None}},
                verified_at=datetime.now(UTC), retain_until=retain_until, partition=partition)
            _write_manifest(store, keyring, manifest)
        except BaseException:
            _discard(store, database, backup_id, retain_until)
            raise
    except BaseException as exc:
        audit.record_failure(database_url, action="BACKUP_FAILED", backup_id=backup_id, error=exc)
        raise
    entry = audit.record(database_url, action="BACKUP_CREATED", backup_id=backup_id, details={
        "object_key": key, "bytes": manifest.object_bytes, "tables": len(manifest.table_rows),
        "total_rows": manifest.total_rows, "key_id": manifest.key_id, "sha256": manifest.object_sha256})
    log.info("backup %s of %s: %d bytes in %.1fs", backup_id, database, manifest.object_bytes,
             manifest.durations["total_s"])
    return BackupResult(manifest, store.location(key), entry)


def _dump_into_store(database_url: str, store: ObjectStore, keyring: Keyring, key: str, context: str, *,
                     retain_until: datetime | None, level: int, chunk_size: int,
                     cpu: dict[str, float]) -> DumpFacts:
    """Stream pg_dump of an exported snapshot into `key`; return what the manifest needs about it.

    `cpu` receives the CPU seconds of each stage: pg_dump's own, reading its pipe with zstd, AES-GCM
    with the SHA-256 of the ciphertext, and writing to the store."""
    with db.connect(database_url) as conn, ThreadPoolExecutor(1, thread_name_prefix="row-count") as pool:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_id = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        server_version = conn.execute("SHOW server_version").fetchone()[0]
        tool = find_tool("pg_dump", server_major(server_version))
        conninfo, env = client_connection(database_url)

        def dump_pieces():  # runs once the upload pulls plaintext, by which time `dump` is running
            yield from dump.read_stdout()
            # Checked before the stream ends, so a failed pg_dump aborts the upload instead of completing it.
            dump.finish("the backup was not stored; fix the cause above and run it again")

        # The data key is wrapped (KMS may be called) and the header built before pg_dump starts. Reading
        # pg_dump's pipe with zstd, and AES-GCM + SHA-256, each run on their own thread (both release the
        # GIL), a few pieces apart, while this thread writes. pg_dump's pipe holds a whole piece, so it keeps
        # writing while the previous piece is compressed; a reader thread of its own measured more CPU
        # (a wake-up per small write of pg_dump) for no gain in time.
        compressed = prefetch(compress(dump_pieces(), level=level), cpu=cpu, stage="compress_s")
        encrypted = encrypt_stream(compressed, keyring, chunk_size=chunk_size, context=context)
        header = next(encrypted)  # the envelope yields its header before it asks for any plaintext
        counting = pool.submit(_snapshot_catalog, conn)
        dump = ClientProcess([str(tool.path), "--format=custom", "--compress=0", "--no-password",
                              f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT}", f"--snapshot={snapshot_id}",
                              f"--dbname={conninfo}"], env, feeds_stdin=False)
        sealed = Meter(sha256=True)
        stream = prefetch(sealed.through(itertools.chain([header], encrypted)), cpu=cpu, stage="encrypt_s")
        writing = time.thread_time()
        try:
            store.put_stream(key, stream, retain_until=retain_until)
            cpu["upload_s"] = time.thread_time() - writing
            cpu["pg_dump_s"] = dump.cpu_seconds
        except HVError:
            raise
        except Exception as exc:
            raise StorageError(f"upload of {key} to {store.url} failed ({type(exc).__name__}): the upload was "
                               "aborted and no backup was stored; check the object store and run it again") from exc
        finally:
            dump.kill()  # first: a pg_dump still writing would keep the prefetch thread from stopping
            stream.close()
        revision, fingerprint, table_rows = counting.result()
    return DumpFacts(server_version, tool.version, revision, fingerprint, table_rows,
                     hashlib.sha256(header).hexdigest(), sealed.sha256, sealed.bytes)


def _snapshot_catalog(conn: psycopg.Connection) -> tuple[str | None, str, dict[str, int]]:
    """The Alembic revision, schema fingerprint and row counts of the exported snapshot (while pg_dump runs)."""
    tables = catalog.user_tables(conn)
    return catalog.alembic_revision(conn), catalog.schema_fingerprint(conn), catalog.row_counts(conn, tables)


def verify_object(store: ObjectStore, key: str, keyring: Keyring, backup_id: str, *,
                  cpu: dict[str, float] | None = None) -> ObjectCheck:
    """Read the encrypted dump of `backup_id` back: its header must name the backup; authenticate every
    chunk, decompress to the end, measure and hash it.

    Reading, hashing and AES-GCM run on one thread, zstd on this one (both release the GIL), so the two
    halves of the read-back overlap; `cpu` (a profile) receives each half's CPU seconds."""
    cipher, packed, plain, start = Meter(sha256=True), Meter(), Meter(), bytearray()
    decompressing = time.thread_time()
    with closing(store.open(key)) as body:
        try:
            header, chunks = open_stream(MeteredReader(body, cipher), keyring,
                                         context=layout.envelope_context(backup_id))
        except IntegrityError as exc:
            raise IntegrityError(f"object {key}: {exc}") from None
        opened = prefetch(packed.through(chunks), cpu=cpu, stage="verify_decrypt_s")
        try:
            for piece in plain.through(decompress(opened)):
                if len(start) < len(PG_DUMP_MAGIC):
                    start.extend(piece[:len(PG_DUMP_MAGIC) - len(start)])
        finally:
            opened.close()
    if start != PG_DUMP_MAGIC:  # pieces can be short, and an empty dump (pg_dump exited 0 unwritten) has none
        raise IntegrityError(f"object {key} does not decompress to a pg_dump archive")
    if cpu is not None:
        cpu["verify_decompress_s"] = time.thread_time() - decompressing
    return ObjectCheck(header.sha256, header.data_key_id, header.nonce_prefix.hex(), cipher.bytes, cipher.sha256,
                       packed.bytes, plain.bytes, header.key_id)


def check_stored_header(store: ObjectStore, manifest: Manifest) -> None:
    """The cheap half of `verify_against`: the object's size and header are the manifest's, read in one round trip.

    An object swapped for another backup's is refused here, before a byte of it is decrypted.
    """
    stored = store.head(manifest.object_key)
    if stored is None:
        raise IntegrityError(f"backup {manifest.backup_id}: its object {manifest.object_key} is missing")
    with closing(store.open(manifest.object_key)) as body:
        header = read_header(body)
    context = layout.envelope_context(manifest.backup_id)
    if header.context != context:
        found = repr(header.context) if header.context else "no backup id (written by an older release)"
        raise IntegrityError(f"backup {manifest.backup_id}: its object is sealed as {found}, not {context!r}: "
                             "another backup's object was put in its place; do not restore it — restore from "
                             "another backup")
    differs = [name for name, ok in (("header", header.sha256 == manifest.header_sha256),
                                     ("size", stored.size == manifest.object_bytes)) if not ok]
    if differs:
        raise IntegrityError(f"backup {manifest.backup_id}: the object differs from its manifest in "
                             f"{' and '.join(differs)}; do not restore it — restore from another backup")


def verify_against(store: ObjectStore, keyring: Keyring, manifest: Manifest) -> ObjectCheck:
    """Check the object `manifest` describes, end to end; IntegrityError says what differs."""
    check_stored_header(store, manifest)
    check = verify_object(store, manifest.object_key, keyring, manifest.backup_id)
    differs = check.differences(manifest)
    if differs:
        raise IntegrityError(f"backup {manifest.backup_id}: the object differs from its manifest in "
                             f"{', '.join(differs)}; do not restore it — restore from another backup")
    return check


def verify_backup(store: ObjectStore, keyring: Keyring, backup_id: str) -> Manifest:
    """Check a stored backup end to end against its manifest; IntegrityError says what differs."""
    manifest = find_backup(store, keyring, backup_id)
    verify_against(store, keyring, manifest)
    return manifest


def _write_manifest(store: ObjectStore, keyring: Keyring, manifest: Manifest) -> None:
    key = layout.manifest_key(manifest.database, manifest.backup_id)
    store.put_bytes(key, manifest.seal(keyring), retain_until=manifest.retain_until)
    if Manifest.open(store.read_bytes(key), keyring, key=key) != manifest:
        raise IntegrityError(f"manifest {key} read back differently from what was written; check the store")


def _discard(store: ObjectStore, database: str, backup_id: str, retain_until: datetime | None) -> None:
    """Remove what a failed backup left (it will never count); locked objects are left for retention to sweep."""
    if retain_until is None:
        store.delete(layout.manifest_key(database, backup_id))
        store.delete(layout.dump_key(database, backup_id))

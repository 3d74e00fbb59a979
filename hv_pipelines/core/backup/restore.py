"""Restore a backup: object store → envelope decryption → zstd → `pg_restore` on stdin, all streaming.

`pg_restore` runs with `--single-transaction`, and a chunk is handed to it only after its tag has
been checked: if the object turns out to be tampered with or cut short, pg_restore is killed before
it sees the end of the archive, its transaction rolls back, and the target is left as it was.

A restore needs only the object and the master key (the header names the key and carries the
wrapped data key); the manifest adds the expectations the result is checked against: per-table row
counts, the schema fingerprint and the Alembic revision.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import closing, suppress
from dataclasses import dataclass, field

from hv_pipelines.core import db
from hv_pipelines.core.backup import audit, catalog
from hv_pipelines.core.backup.inventory import find_backup, latest_backup
from hv_pipelines.core.backup.manifest import Manifest
from hv_pipelines.core.backup.streams import ClientProcess, Meter, decompress
from hv_pipelines.core.backup.tools import client_connection, find_tool, server_major
from hv_pipelines.core.envelope import decrypt_stream
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

log = logging.getLogger(__name__)


class TargetNotEmpty(HVError):
    """The restore target already holds objects and `force` was not given."""


@dataclass(frozen=True)
class RestoreResult:
    backup_id: str
    database: str
    dump_bytes: int
    duration_s: float
    table_rows: dict[str, int]
    mismatches: list[str] = field(default_factory=list)
    audit_entry_id: str | None = None

    @property
    def matches(self) -> bool:
        return not self.mismatches

    def as_metadata(self) -> dict[str, object]:
        return {"backup_id": self.backup_id, "dump_bytes": self.dump_bytes, "duration_s": round(self.duration_s, 2),
                "tables": len(self.table_rows), "total_rows": sum(self.table_rows.values()),
                "matches_manifest": self.matches, "mismatches": len(self.mismatches)}


def restore_backup(store: ObjectStore, keyring: Keyring, backup_id: str, target_url: str, *,
                   force: bool = False, keep_owners: bool = False, audit_target: bool = True) -> RestoreResult:
    """Restore `backup_id` into the database at `target_url` and compare it with the manifest."""
    manifest = find_backup(store, keyring, backup_id)
    started = time.monotonic()
    with db.connect(target_url) as conn:
        target_version = conn.execute("SHOW server_version").fetchone()[0]
        if not catalog.is_empty(conn) and not force:
            raise TargetNotEmpty(
                f"database {db.database_name(target_url)} is not empty: restore into a new database "
                "(`createdb`), or pass --force to replace the objects the backup contains")
    major = max(server_major(target_version), server_major(manifest.pg_dump_version))
    with closing(store.open(manifest.object_key)) as body:
        dump_bytes = restore_stream(body, keyring, target_url, pg_restore_major=major, clean=force,
                                    keep_owners=keep_owners)
    with db.connect(target_url) as conn:
        present = set(catalog.user_tables(conn))
        restored_rows = catalog.row_counts(
            conn, [table for table in (tuple(name.split(".", 1)) for name in manifest.table_rows) if table in present])
        mismatches = compare(manifest, restored_rows, catalog.schema_fingerprint(conn),
                             catalog.alembic_revision(conn))
    if dump_bytes != manifest.dump_bytes:
        mismatches.append(f"archive size {dump_bytes} != manifest {manifest.dump_bytes}")
    entry = None
    if audit_target:
        entry = audit.record(target_url, action="BACKUP_RESTORED", backup_id=backup_id,
                             severity="INFO" if not mismatches else "WARNING",
                             details={"tables": len(restored_rows), "total_rows": sum(restored_rows.values()),
                                      "mismatches": len(mismatches), "forced": force})
    log.info("restored backup %s into %s: %d mismatches", backup_id, db.database_name(target_url), len(mismatches))
    return RestoreResult(backup_id, db.database_name(target_url), dump_bytes, time.monotonic() - started,
                         restored_rows, mismatches, entry)


def restore_stream(encrypted, keyring: Keyring, target_url: str, *, pg_restore_major: int,
                   clean: bool = False, keep_owners: bool = False) -> int:
    """Decrypt and decompress `encrypted` (a readable object) into pg_restore; return the archive size."""
    tool = find_tool("pg_restore", pg_restore_major)
    conninfo, env = client_connection(target_url)
    args = [str(tool.path), "--single-transaction", "--exit-on-error", "--no-password", f"--dbname={conninfo}"]
    if clean:
        args += ["--clean", "--if-exists"]
    if not keep_owners:
        args += ["--no-owner", "--no-privileges"]
    restore = ClientProcess(args, env, feeds_stdin=True)
    plain = Meter()
    try:
        for piece in plain.through(decompress(decrypt_stream(encrypted, keyring))):
            try:
                restore.proc.stdin.write(piece)
            except BrokenPipeError:
                break  # pg_restore stopped early: its exit status and stderr say why
    except BaseException:
        restore.kill()  # before stdin closes: pg_restore must never see an end to a stream that failed
        raise
    with suppress(BrokenPipeError):
        restore.proc.stdin.close()
    restore.finish("the target database was left unchanged (single transaction); fix the cause and retry")
    return plain.bytes


def compare(manifest: Manifest, restored_rows: dict[str, int], fingerprint: str,
            revision: str | None) -> list[str]:
    """Differences between a restored database and the manifest of the backup it came from."""
    mismatches = [f"{table}: {restored_rows.get(table)} rows, manifest {expected}"
                  for table, expected in sorted(manifest.table_rows.items()) if restored_rows.get(table) != expected]
    if fingerprint != manifest.schema_fingerprint:
        mismatches.append("schema catalog differs from the backed-up database")
    if revision != manifest.alembic_revision:
        mismatches.append(f"alembic revision {revision}, manifest {manifest.alembic_revision}")
    return mismatches


@dataclass(frozen=True)
class DrillResult:
    backup_id: str
    restore: RestoreResult
    audit_entry_id: str | None

    @property
    def passed(self) -> bool:
        return self.restore.matches

    def as_metadata(self) -> dict[str, object]:
        return {**self.restore.as_metadata(), "passed": self.passed}


def run_restore_drill(database_url: str, store: ObjectStore, keyring: Keyring, *,
                      backup_id: str | None = None) -> DrillResult:
    """Restore the latest (or given) backup of the database into a scratch database, compare, drop it.

    The scratch database lives on the same server as the source and is dropped whatever happens.
    The drill's outcome is audited in the source database (the scratch one is gone afterwards).
    """
    database = db.database_name(database_url)
    manifest = find_backup(store, keyring, backup_id) if backup_id else latest_backup(store, keyring, database)
    scratch = f"hv_drill_{uuid.uuid4().hex[:12]}"
    scratch_url = db.create_database(database_url, scratch)
    try:
        result = restore_backup(store, keyring, manifest.backup_id, scratch_url, audit_target=False)
    except Exception as exc:
        audit.record_failure(database_url, action="BACKUP_RESTORE_DRILL", backup_id=manifest.backup_id, error=exc)
        raise
    finally:
        db.drop_database(database_url, scratch)
    entry = audit.record(database_url, action="BACKUP_RESTORE_DRILL", backup_id=manifest.backup_id,
                         severity="INFO" if result.matches else "ERROR",
                         details={**result.as_metadata(), "scratch_database": scratch})
    return DrillResult(manifest.backup_id, result, entry)

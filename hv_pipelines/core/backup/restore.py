"""Restore a backup: object store → envelope decryption → zstd → `pg_restore` on stdin, all streaming.

Nothing reaches `pg_restore` before the object has been proved to be the backup asked for. A
restore reads the object twice: first a verifying pass (the same as `hv backup verify`: the header
names the backup id and is the one the manifest records, the size and SHA-256 match the manifest,
every chunk authenticates, the zstd frame and the pg_dump archive are complete), then the restoring
pass. The second pass must present the same header before pg_restore starts; the header pins the
data key (fresh per object) and the nonce prefix, so every chunk that then authenticates is, byte for
byte and in place, the verified object's, and its SHA-256 need not be taken twice. We chose this over restoring into a scratch database and
swapping it in: a swap needs twice the space on the server, CREATEDB, and no session on the target,
and under `--force` it would replace a live database (its OID, grants, settings) rather than the
objects the backup holds. The verifying pass costs one extra read and decryption of the object
(docs/backups.md gives the measured share), far less than pg_restore's own time.

`pg_restore` runs with `--single-transaction`, and a chunk is handed to it only after its tag has
been checked: if the object changes between the passes, pg_restore is killed before it sees the end
of the archive, its transaction rolls back, and the target is left as it was.

Without its manifest (`use_manifest=False`), a restore works from the object's header alone (the
header names the master key, carries the wrapped data key and the backup id); what only the manifest
could tell — the object's recorded size and checksum, row counts, schema, Alembic revision — is
listed in `RestoreResult.unchecked` instead.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import closing, suppress
from dataclasses import dataclass, field

from hv_pipelines.core import db
from hv_pipelines.core.backup import audit, catalog, layout
from hv_pipelines.core.backup.create import ObjectCheck, verify_against, verify_object
from hv_pipelines.core.backup.inventory import find_backup, find_dump_key, latest_backup
from hv_pipelines.core.backup.manifest import Manifest
from hv_pipelines.core.backup.streams import ClientProcess, Meter, decompress
from hv_pipelines.core.backup.tools import client_connection, find_tool, server_major
from hv_pipelines.core.envelope import open_stream
from hv_pipelines.core.errors import HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore

log = logging.getLogger(__name__)

# What a restore from the object alone cannot check, because only the manifest records it.
UNCHECKED_WITHOUT_MANIFEST = (
    "the object's size and SHA-256 against the recorded ones",
    "row counts, schema catalog and Alembic revision against the backed-up database",
)


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
    unchecked: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return not self.mismatches

    def as_metadata(self) -> dict[str, object]:
        return {"backup_id": self.backup_id, "dump_bytes": self.dump_bytes, "duration_s": round(self.duration_s, 2),
                "tables": len(self.table_rows), "total_rows": sum(self.table_rows.values()),
                "matches_manifest": self.matches, "mismatches": len(self.mismatches)}


def restore_backup(store: ObjectStore, keyring: Keyring, backup_id: str, target_url: str, *,
                   force: bool = False, keep_owners: bool = False, audit_target: bool = True,
                   use_manifest: bool = True) -> RestoreResult:
    """Restore `backup_id` into the database at `target_url`, verified first, and compare it with the manifest.

    With `use_manifest=False` the manifest is not read at all (it may be lost): see the module docstring.
    """
    manifest = find_backup(store, keyring, backup_id) if use_manifest else None
    started = time.monotonic()
    with db.connect(target_url) as conn:
        target_major = server_major(conn.execute("SHOW server_version").fetchone()[0])
        if not catalog.is_empty(conn) and not force:
            raise TargetNotEmpty(
                f"database {db.database_name(target_url)} is not empty: restore into a new database "
                "(`createdb`), or pass --force to replace the objects the backup contains")
    if manifest is not None:
        key, verified = manifest.object_key, verify_against(store, keyring, manifest)
        major = max(target_major, server_major(manifest.pg_dump_version))
    else:
        key = find_dump_key(store, backup_id)
        verified, major = verify_object(store, key, keyring, backup_id), target_major
    with closing(store.open(key)) as body:
        dump_bytes = restore_stream(body, keyring, target_url, verified, context=layout.envelope_context(backup_id),
                                    pg_restore_major=major, clean=force, keep_owners=keep_owners)
    with db.connect(target_url) as conn:
        if manifest is None:
            restored_rows, mismatches = catalog.row_counts(conn, catalog.user_tables(conn)), []
        else:
            present = set(catalog.user_tables(conn))
            restored_rows = catalog.row_counts(conn, [table for table in (tuple(name.split(".", 1))
                                                      for name in manifest.table_rows) if table in present])
            mismatches = compare(manifest, restored_rows, catalog.schema_fingerprint(conn),
                                 catalog.alembic_revision(conn))
    entry = None
    if audit_target:
        entry = audit.record(target_url, action="BACKUP_RESTORED", backup_id=backup_id,
                             severity="INFO" if not mismatches and manifest else "WARNING",
                             details={"tables": len(restored_rows), "total_rows": sum(restored_rows.values()),
                                      "mismatches": len(mismatches), "forced": force,
                                      "manifest": manifest is not None})
    log.info("restored backup %s into %s: %d mismatches", backup_id, db.database_name(target_url), len(mismatches))
    return RestoreResult(backup_id, db.database_name(target_url), dump_bytes, time.monotonic() - started,
                         restored_rows, mismatches, entry, () if manifest else UNCHECKED_WITHOUT_MANIFEST)


def restore_stream(encrypted, keyring: Keyring, target_url: str, verified: ObjectCheck, *, context: str,
                   pg_restore_major: int, clean: bool = False, keep_owners: bool = False) -> int:
    """Decrypt and decompress `encrypted` (a readable object) into pg_restore; return the archive size.

    `verified` is what the verifying pass found: the header must be the same before pg_restore starts.
    A chunk that fails afterwards kills pg_restore before its stdin closes, so its transaction rolls back.
    """
    plain = Meter()
    header, chunks = open_stream(encrypted, keyring, context=context)
    if header.sha256 != verified.header_sha256:
        raise IntegrityError(f"the object of {context} changed after it was verified (another header): the "
                             "target was not touched; verify the backup again")
    tool = find_tool("pg_restore", pg_restore_major)
    conninfo, env = client_connection(target_url)
    args = [str(tool.path), "--single-transaction", "--exit-on-error", "--no-password", f"--dbname={conninfo}"]
    if clean:
        args += ["--clean", "--if-exists"]
    if not keep_owners:
        args += ["--no-owner", "--no-privileges"]
    restore = ClientProcess(args, env, feeds_stdin=True)
    try:
        for piece in plain.through(decompress(chunks)):
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

"""`archive_retention_purge`: delete archives whose month ended more than `deleteAfterDays` ago.

An archive is purged only when the policy says so *and* nothing still holds it: neither the
object's Object Lock retention (S3) nor the retention its manifest recorded (which a local store
cannot enforce, so it is honoured here) may lie in the future. A purge is recorded three times:
a sealed tombstone beside the manifests (written first, so a crash part-way is finished by the next
run and `hv audit verify` accepts the missing objects), the removal of its `audit_log_archives`
rows, and an `audit_logs` entry in the same transaction. The manifest itself is kept: it holds no
PHI, and the chain stays verifiable.

On a versioned S3 bucket a delete adds a delete marker; expire the non-current versions with a
bucket lifecycle rule so the bytes go too (see docs/archival.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.archival.archive import archive_lock
from hv_pipelines.core.archival.manifest import (
    TOMBSTONES,
    ArchiveManifest,
    ChainLink,
    Tombstone,
    manifest_keys,
    read_link,
    sequence_of,
    tombstone_key,
)
from hv_pipelines.core.archival.months import Month, RetentionPolicy, load_policy
from hv_pipelines.core.archival.parts import sweep_stale_scratch
from hv_pipelines.core.archival.records import ArchiveRecord, delete_records, load_records
from hv_pipelines.core.audit_trail import write_audit_entry
from hv_pipelines.core.errors import IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    locked: list[tuple[str, datetime]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"purged {len(self.purged)} archive(s) ({self.rows} rows, {self.bytes} bytes); "
                f"{len(self.locked)} past deleteAfterDays but still under retention")


def _locked_until(store: ObjectStore, manifest: ArchiveManifest) -> datetime | None:
    dates = [manifest.retain_until] if manifest.retain_until else []
    for part in manifest.parts:
        head = store.head(part.key)
        if head is not None and head.retain_until is not None:
            dates.append(head.retain_until)
    return max(dates) if dates else None


def _purge_one(conn: psycopg.Connection, store: ObjectStore, keyring: Keyring, link: ChainLink,
               records: list[ArchiveRecord], policy: RetentionPolicy, has_tombstone: bool, now: datetime) -> None:
    manifest = link.manifest
    if not has_tombstone:
        stone = Tombstone(manifest.sequence, manifest.archive_id, manifest.month, link.sha256, now,
                          policy.delete_after_days, [p.key for p in manifest.parts])
        store.put_bytes(tombstone_key(manifest), stone.seal(keyring))
    for part in manifest.parts:
        store.delete(part.key)
        if store.head(part.key) is not None:
            raise StorageError(f"{part.key} is still in the store after its delete: check the bucket's Object Lock "
                               "and permissions, then re-run the purge")
    with conn.transaction():
        delete_records(conn, [r.id for r in records])
        write_audit_entry(conn, action="AUDIT_LOG_ARCHIVE_PURGE", resource="audit_log_archives",
                          resource_id=manifest.archive_id,
                          details={"month": manifest.month, "sequence": manifest.sequence, "rows": manifest.row_count,
                                   "parts": len(manifest.parts), "archive_bytes": manifest.archive_bytes,
                                   "delete_after_days": policy.delete_after_days, "tombstone": tombstone_key(manifest)})


def purge_expired(database_url: str, store: ObjectStore, keyring: Keyring, *, now: datetime | None = None,
                  lock_timeout: str = "10min") -> PurgeResult:
    """Purge every archive past the policy's deleteAfterDays that no retention still protects."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    sweep_stale_scratch()
    result = PurgeResult()
    with db.connect(database_url, autocommit=True) as conn, archive_lock(conn, lock_timeout):
        policy = load_policy(conn)
        records_by_key = {r.key: r for r in load_records(conn)}
        stones = {sequence_of(o.key) for o in store.list(TOMBSTONES)}
        for key in manifest_keys(store):
            try:
                link = read_link(store, keyring, key)
            except IntegrityError as exc:
                result.skipped.append(f"{key}: {exc}")
                continue
            manifest = link.manifest
            if not policy.purge_due(Month.parse(manifest.month), now):
                continue
            records = [records_by_key[p.key] for p in manifest.parts if p.key in records_by_key]
            present = [p for p in manifest.parts if store.head(p.key) is not None]
            if manifest.sequence in stones and not present and not records:
                continue
            locked_until = _locked_until(store, manifest)
            if locked_until is not None and locked_until > now:
                result.locked.append((key, locked_until))
                continue
            _purge_one(conn, store, keyring, link, records, policy, manifest.sequence in stones, now)
            result.purged.append(key)
            result.rows += manifest.row_count
            result.bytes += manifest.archive_bytes
    result.seconds = time.monotonic() - started
    return result
